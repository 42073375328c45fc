import hashlib
import io

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext_lazy as _
from PIL import Image, UnidentifiedImageError

from loyalty_platform.audit.services import audit_record
from loyalty_platform.branding.models import Logo

MAX_UPLOAD_BYTES = 1024 * 1024
# Larger images are refused before they are decoded (a small file can hold a huge image).
MAX_UPLOAD_PIXELS = 4096 * 4096
LOGO_BOX = (256, 256)
ACCEPTED_FORMATS = {"PNG", "JPEG", "WEBP", "GIF"}


def logo_png(upload) -> tuple[bytes, int, int]:
    """The upload re-encoded as a PNG that fits LOGO_BOX, with its size; ValidationError when
    it is not an image of an accepted format and size."""
    if upload.size > MAX_UPLOAD_BYTES:
        raise ValidationError(_("The logo may be at most 1 MB."), code="logo_too_large")
    try:
        with Image.open(upload) as image:
            if image.format not in ACCEPTED_FORMATS:
                raise ValidationError(_("Upload a PNG, JPEG, WebP or GIF image."), code="logo_format")
            if image.width * image.height > MAX_UPLOAD_PIXELS:
                raise ValidationError(_("The logo may be at most 4096 x 4096 pixels."), code="logo_too_large")
            image.seek(0)
            picture = image.convert("RGBA")
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError, SyntaxError) as error:
        raise ValidationError(_("The file is not an image we can read."), code="logo_unreadable") from error
    picture.thumbnail(LOGO_BOX)
    out = io.BytesIO()
    picture.save(out, format="PNG", optimize=True)
    return out.getvalue(), picture.width, picture.height


@transaction.atomic
def logo_replace(*, upload, actor) -> Logo:
    """Store `upload` (a file object) as the organization's logo, replacing any earlier one.
    Raises ValidationError, changing nothing, for anything that is not a readable image."""
    png, width, height = logo_png(upload)
    previous = Logo.objects.select_for_update().filter(is_current=True).first()
    details = {"width": width, "height": height, "bytes": len(png)}
    if previous is not None:
        details["replaced"] = previous.digest
        previous.delete()
    logo = Logo.objects.create(
        png=png, digest=hashlib.sha256(png).hexdigest()[:16], width=width, height=height
    )
    audit_record(actor=actor, action="logo_replace", target=logo, details=details)
    return logo


@transaction.atomic
def logo_remove(*, logo: Logo, actor) -> None:
    audit_record(actor=actor, action="logo_remove", target=logo, details={"digest": logo.digest})
    logo.delete()
