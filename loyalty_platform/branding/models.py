from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Logo(models.Model):
    """The organization's logo: at most one row, kept as the PNG the platform re-encoded from
    the upload, so what browsers get is never the uploaded file itself."""

    is_current = models.BooleanField(default=True, editable=False)
    png = models.BinaryField()
    # Part of the logo's URL, so browsers may cache it for good.
    digest = models.CharField(max_length=16, editable=False)
    width = models.PositiveIntegerField(editable=False)
    height = models.PositiveIntegerField(editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["is_current"], condition=Q(is_current=True), name="one_logo"),
        ]

    def __str__(self) -> str:
        return f"Logo {self.width}x{self.height}"


class LegalVersion(models.Model):
    """One published version of the organization's terms or privacy policy, as staff wrote it
    (plain text: paragraphs and line breaks, never HTML). Versions are never changed or
    deleted: a customer consented to the version in force at their consent's time. The
    newest one of a kind is the current text; without one, the platform's default is shown
    (docs/decisions/0056-legal-pages-and-deletion-with-money.md)."""

    class Kind(models.TextChoices):
        TERMS = "terms", _("Terms")
        PRIVACY = "privacy", _("Privacy policy")

    kind = models.CharField(_("page"), max_length=10, choices=Kind.choices)
    body = models.TextField(_("text"), max_length=50_000)
    published_at = models.DateTimeField(_("published"), default=timezone.now, editable=False)
    published_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )

    class Meta:
        ordering = ["-published_at", "-pk"]
        verbose_name = _("terms or privacy version")
        verbose_name_plural = _("terms and privacy")
        indexes = [models.Index(fields=["kind", "published_at"], name="legal_version_kind_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.published_at:%Y-%m-%d %H:%M}"


class ContactEmail(models.Model):
    """The address customers write to about their data and about money left on their account
    (at most one row); shown on the privacy page and when a deletion is refused."""

    is_current = models.BooleanField(default=True, editable=False)
    email = models.EmailField(
        _("contact email"),
        help_text=_(
            "Where customers write about their data, or to ask for a refund of their prepaid credit "
            "or giftcard money. Shown on your privacy page."
        ),
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("contact email")
        verbose_name_plural = _("contact email")
        constraints = [
            models.UniqueConstraint(
                fields=["is_current"], condition=Q(is_current=True), name="one_contact_email"
            ),
        ]

    def __str__(self) -> str:
        return self.email
