import hashlib
import io

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _
from PIL import Image, UnidentifiedImageError

from loyalty_platform.audit.services import audit_record
from loyalty_platform.branding.legal import MAX_TEXT
from loyalty_platform.branding.models import ContactEmail, LegalVersion, Logo
from loyalty_platform.core import errors
from loyalty_platform.core.text import has_control_characters

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


def legal_text_clean(*, kind: str, body: str) -> str:
    """The text as it would be published: line endings made \\n, trailing spaces of the whole
    cut. Refuses (changing nothing) an unknown kind, an empty or too long text, control
    characters, and a text identical to the current version."""
    if kind not in LegalVersion.Kind.values:
        raise errors.field_error("kind", "invalid")(field="kind")
    text = body.replace("\r\n", "\n").replace("\r", "\n").strip()
    if not text:
        raise errors.field_error("body", "required")(field="body")
    if len(text) > MAX_TEXT or has_control_characters(text, multiline=True):
        raise errors.field_error("body", "invalid")(field="body")
    current = LegalVersion.objects.filter(kind=kind).values_list("body", flat=True).first()
    if current == text:
        raise errors.LEGAL_TEXT_UNCHANGED()
    return text


@transaction.atomic
def legal_version_publish(*, kind: str, body: str, actor) -> LegalVersion:
    """Publish a new version of the terms or the privacy page: from now on it is the page's
    text; earlier versions stay, unchanged, for the consents given under them."""
    text = legal_text_clean(kind=kind, body=body)
    version = LegalVersion.objects.create(kind=kind, body=text, published_by=actor)
    audit_record(
        actor=actor,
        action="legal_publish",
        target=version,
        details={"kind": kind, "characters": len(text)},
    )
    return version


@transaction.atomic
def contact_email_set(*, email: str, actor) -> ContactEmail | None:
    """Set the customers' contact address (an empty one removes it)."""
    email = email.strip()
    if email:
        try:
            validate_email(email)
        except ValidationError:
            raise errors.INVALID_EMAIL() from None
    current = ContactEmail.objects.select_for_update().filter(is_current=True).first()
    if current is None and email:
        try:
            with transaction.atomic():
                ContactEmail.objects.create(email="")
        except IntegrityError:
            pass  # another staff member's call added it at this moment: change theirs
        current = ContactEmail.objects.select_for_update().get(is_current=True)
    old = current.email if current else ""
    if old == email:
        return current if email else None
    # Recorded before a removal, while the row still has its id.
    audit_record(
        actor=actor,
        action="contact_email_set",
        target=current,
        details={"changes": {"email": [old, email]}},
    )
    if not email:
        current.delete()
        return None
    current.email = email
    current.save(update_fields=["email", "updated_at"])
    return current
