from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _


class Tier(models.Model):
    """A level a customer reaches by earning `threshold_points` within the point program's
    trailing tier period. Orders earn `points_multiplier` times the base points."""

    name = models.CharField(
        max_length=60, help_text=_('The tier as customers and tills see it, e.g. "Gold".')
    )
    threshold_points = models.PositiveIntegerField(
        unique=True, help_text="Points earned within the tier period to reach this tier."
    )
    points_multiplier = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        default=Decimal("1"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
        help_text="Applied to the base points of orders (1.00 = no change).",
    )
    description = models.CharField(
        max_length=255,
        blank=True,
        help_text=_("A note for staff; only this portal shows it, not the customers' pages or the tills."),
    )

    class Meta:
        ordering = ["threshold_points"]
        constraints = [models.UniqueConstraint(Lower("name"), name="tier_name_unique_ci")]

    def __str__(self) -> str:
        return f"{self.name} (from {self.threshold_points} points)"


class CustomerTier(models.Model):
    """The customer's current tier, recalculated from the ledger when points are earned or
    returned and every night (points leave the trailing period without any event)."""

    customer = models.OneToOneField(
        "customers.Customer", primary_key=True, on_delete=models.CASCADE, related_name="tier_status"
    )
    tier = models.ForeignKey(Tier, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    qualifying_points = models.BigIntegerField(default=0)
    recalculated_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.customer_id}: {self.tier or 'no tier'}"
