from django.db import models
from django.utils.translation import gettext_lazy as _


class Shop(models.Model):
    """A point of sale of the organization; API keys and orders may name one."""

    name = models.CharField(
        max_length=120,
        help_text=_('The shop\'s name as staff see it in the portal, e.g. "Main Street".'),
    )
    address = models.CharField(
        max_length=255, blank=True, help_text=_("For your own records; the platform does not use it.")
    )
    is_active = models.BooleanField(
        default=True,
        help_text=_(
            "Untick for a shop that has closed. Nothing else changes: keys and orders may still name it."
        ),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
