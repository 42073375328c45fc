"""The pictures on a pass: the organization's logo (branding) fitted into the sizes the
wallets use, or a plain square in the brand colour with the name's first letter."""

import io

from PIL import Image, ImageDraw, ImageFont

from loyalty_platform.branding.models import Logo
from tenants.branding import safe_brand_color, text_color_on

# Apple's sizes in points (icon 29 x 29, logo at most 160 x 50), at 1x and 2x.
APPLE_IMAGES = {
    "icon.png": ((29, 29), True),
    "icon@2x.png": ((58, 58), True),
    "logo.png": ((160, 50), False),
    "logo@2x.png": ((320, 100), False),
}
# Google's program logo: a square, at least 660 x 660 recommended.
PROGRAM_LOGO_SIZE = (660, 660)


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def _plain(size: tuple[int, int], *, name: str, brand_color: str) -> Image.Image:
    color = safe_brand_color(brand_color)
    side = min(size)
    image = Image.new("RGBA", (side, side), color)
    letter = (name.strip()[:1] or "?").upper()
    font = ImageFont.load_default(size=max(8, side * 6 // 10))
    draw = ImageDraw.Draw(image)
    draw.text((side / 2, side / 2), letter, fill=text_color_on(color), font=font, anchor="mm")
    return image


def _fitted(logo: Image.Image, size: tuple[int, int], *, square: bool) -> Image.Image:
    picture = logo.copy()
    picture.thumbnail(size)
    if not square:
        return picture
    canvas = Image.new("RGBA", size, (255, 255, 255, 0))
    canvas.paste(picture, ((size[0] - picture.width) // 2, (size[1] - picture.height) // 2), picture)
    return canvas


def _current_logo() -> Image.Image | None:
    png = Logo.objects.filter(is_current=True).values_list("png", flat=True).first()
    if png is None:
        return None
    with Image.open(io.BytesIO(bytes(png))) as image:
        return image.convert("RGBA")


def apple_pass_images(*, name: str, brand_color: str) -> dict[str, bytes]:
    """icon.png, icon@2x.png, logo.png and logo@2x.png of the current organization."""
    logo = _current_logo()
    images = {}
    for file_name, (size, square) in APPLE_IMAGES.items():
        if logo is None:
            picture = _plain((size[1], size[1]), name=name, brand_color=brand_color)
        else:
            picture = _fitted(logo, size, square=square)
        images[file_name] = _png(picture)
    return images


def program_logo_png(*, name: str, brand_color: str) -> bytes:
    """The square logo Google Wallet shows on the card (served at /wallet/logo.png)."""
    logo = _current_logo()
    if logo is None:
        return _png(_plain(PROGRAM_LOGO_SIZE, name=name, brand_color=brand_color))
    return _png(_fitted(logo, PROGRAM_LOGO_SIZE, square=True))
