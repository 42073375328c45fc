from decimal import Decimal

from django.core.validators import MinValueValidator
from django.db import models


class Program(models.Model):
    """A point or stamp program. The POS API addresses the organization's active program of
    each kind through `card_type`, so at most one of each kind is active."""

    class Kind(models.TextChoices):
        POINT = "point", "Points"
        STAMP = "stamp", "Stamps"

    class Rounding(models.TextChoices):
        DOWN = "down", "Down"
        NEAREST = "nearest", "Nearest (half up)"
        UP = "up", "Up"

    kind = models.CharField(max_length=10, choices=Kind.choices)
    name = models.CharField(max_length=120)
    is_active = models.BooleanField(default=True)

    # Point programs
    earn_points_per_unit = models.DecimalField(
        max_digits=10,
        decimal_places=4,
        default=Decimal("1"),
        validators=[MinValueValidator(Decimal("0"))],
        help_text="Points earned per 1.00 of the currency spent.",
    )
    earn_rounding = models.CharField(max_length=10, choices=Rounding.choices, default=Rounding.DOWN)
    redeem_points_per_unit = models.PositiveIntegerField(
        default=100, help_text="Points that are worth 1.00 of the currency when redeemed."
    )
    min_redeem_points = models.PositiveIntegerField(
        default=0, help_text="Smallest number of points a single redemption may take."
    )
    allow_negative_balance = models.BooleanField(default=False)

    # Stamp programs
    stamps_per_card = models.PositiveSmallIntegerField(default=10, validators=[MinValueValidator(1)])
    reward_name = models.CharField(
        max_length=120, blank=True, help_text="Name of the coupon a full stamp card issues."
    )
    coupon_valid_days = models.PositiveIntegerField(
        null=True, blank=True, help_text="Days a coupon from a full card stays valid; empty: forever."
    )

    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["kind"],
                condition=models.Q(is_active=True),
                name="one_active_program_per_kind",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()})"
