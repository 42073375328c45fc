from django.db import models
from django.db.models import Q


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
