"""The icons of the installable customer profile (docs/decisions/0057-installable-profile.md):
square PNGs in the organization's brand colour, with its logo on a white plate, or its
initial without a logo. "Maskable" icons keep everything inside the central circle that
launchers may crop to."""

import hashlib
import io
import unicodedata
from dataclasses import dataclass

from django.core.cache import cache
from django.db import connection
from django.urls import reverse
from PIL import Image, ImageDraw, ImageFont

from loyalty_platform.branding.models import Logo
from tenants.branding import safe_brand_color, text_color_on

# Changing how icons are drawn changes every version (and so every icon URL).
DRAWING = "1"
WHITE = "#ffffff"
_CACHE_SECONDS = 24 * 3600


@dataclass(frozen=True)
class IconKind:
    size: int
    maskable: bool


# The icons the manifest lists, by the name in their URL; 180 px is Apple's touch icon.
ICONS = {
    "icon-180": IconKind(180, maskable=False),
    "icon-192": IconKind(192, maskable=False),
    "icon-512": IconKind(512, maskable=False),
    "maskable-192": IconKind(192, maskable=True),
    "maskable-512": IconKind(512, maskable=True),
}


@dataclass(frozen=True)
class IconSource:
    schema: str
    color: str
    logo_digest: str
    name: str

    @property
    def version(self) -> str:
        """Names the organization, its colour, its logo and the drawing: part of icon URLs,
        their ETag and cache key."""
        text = f"{self.schema}:{self.color}:{self.logo_digest}:{self.name}:{DRAWING}"
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def app_icon_source() -> IconSource:
    """What the current organization's icons are drawn from (one small query)."""
    organization = connection.tenant
    digest = Logo.objects.filter(is_current=True).values_list("digest", flat=True).first()
    return IconSource(
        schema=connection.schema_name,
        color=safe_brand_color(organization.brand_color),
        logo_digest=digest or "",
        name=organization.name,
    )


def app_icon_url(name: str, version: str) -> str:
    return f"{reverse('profile-icon', args=[name])}?v={version}"


def app_icon_png(*, source: IconSource, kind: IconKind) -> bytes:
    """The icon as PNG bytes, drawn once per version and size (shared cache)."""
    key = f"app-icon:{source.version}:{kind.size}:{int(kind.maskable)}"
    png = cache.get(key)
    if png is None:
        png = _draw(source, kind)
        cache.set(key, png, _CACHE_SECONDS)
    return png


def _draw(source: IconSource, kind: IconKind) -> bytes:
    size = kind.size
    image = Image.new("RGB", (size, size), source.color)
    draw = ImageDraw.Draw(image)
    # A maskable icon may be cut to the circle of 80 % of its width: a square inside it is
    # 80 % / sqrt(2), about 56 %.
    plate = round(size * (0.56 if kind.maskable else 0.76))
    logo = Logo.objects.filter(is_current=True).first() if source.logo_digest else None
    if logo is not None:
        top_left = ((size - plate) // 2,) * 2
        bottom_right = (top_left[0] + plate, top_left[1] + plate)
        draw.rounded_rectangle((top_left, bottom_right), radius=plate // 8, fill=WHITE)
        picture = Image.open(io.BytesIO(bytes(logo.png))).convert("RGBA")
        inner = round(plate * 0.84)
        picture.thumbnail((inner, inner), Image.Resampling.LANCZOS)
        if max(picture.size) < inner:  # logos are at most 256 px: scaled up for 512 px icons
            scale = inner / max(picture.size)
            picture = picture.resize(
                (max(1, round(picture.width * scale)), max(1, round(picture.height * scale))),
                Image.Resampling.LANCZOS,
            )
        image.paste(picture, ((size - picture.width) // 2, (size - picture.height) // 2), picture)
    else:
        _draw_initial(draw, source, size, plate)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def name_initial(name: str) -> str:
    """The name's first letter or digit without accents ("Ž" -> "Z"), or "" when it has none
    in Latin letters (the bundled font may lack the glyph)."""
    for character in unicodedata.normalize("NFKD", name):
        if character.isascii() and character.isalnum():
            return character.upper()
        if character.isalnum():
            return ""
    return ""


def _draw_initial(draw: ImageDraw.ImageDraw, source: IconSource, size: int, plate: int) -> None:
    ink = text_color_on(source.color)
    letter = name_initial(source.name)
    if not letter:
        # A card: a rounded rectangle with a stripe.
        width, height = plate, round(plate * 0.63)
        left, top = (size - width) // 2, (size - height) // 2
        draw.rounded_rectangle(
            (left, top, left + width, top + height), radius=plate // 10, outline=ink, width=max(2, size // 40)
        )
        stripe = top + height // 3
        draw.rectangle((left, stripe, left + width, stripe + max(2, size // 24)), fill=ink)
        return
    font = ImageFont.load_default(size=round(plate * 0.8))
    draw.text((size / 2, size / 2), letter, fill=ink, font=font, anchor="mm")
