import uuid
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _


class EarningRule(models.Model):
    """How an order's lines earn beyond the point program's base rate. Multipliers and
    per-unit bonuses apply to lines of a category or SKU; a visit bonus to the whole order;
    exclusions stop lines from earning. A rule may be limited to a time window."""

    class AppliesTo(models.TextChoices):
        CATEGORY = "category", "Lines of a category"
        SKU = "sku", "Lines of a SKU"
        VISIT = "visit", "Each order (per-visit bonus)"

    class Effect(models.TextChoices):
        MULTIPLIER = "multiplier", "Multiply the base points"
        BONUS = "bonus", "Fixed bonus points (per unit, or per order for a visit)"
        EXCLUDE = "exclude", "Earn nothing"

    name = models.CharField(
        max_length=120, help_text=_('A name for staff, e.g. "Double points on pastries".')
    )
    is_active = models.BooleanField(
        default=True, help_text=_("Untick to pause the rule; orders then earn as if it did not exist.")
    )
    applies_to = models.CharField(
        max_length=10,
        choices=AppliesTo.choices,
        help_text=_(
            "The order lines the rule looks at, or the whole order for a per-visit bonus. Rules count only "
            "for orders the till reports with their lines, not for a plain earn of an amount."
        ),
    )
    match_values = models.CharField(
        max_length=1000,
        blank=True,
        help_text="Categories (case-insensitive) or SKUs, comma-separated; empty for a visit bonus.",
    )
    effect = models.CharField(
        max_length=10,
        choices=Effect.choices,
        help_text=_(
            "Multiply the matching lines' base points, add fixed bonus points, or let the lines earn "
            "nothing. A per-visit rule always gives a bonus."
        ),
    )
    multiplier = models.DecimalField(
        max_digits=6,
        decimal_places=2,
        default=Decimal("1"),
        validators=[MinValueValidator(Decimal("0"))],
        help_text=_(
            "Multiply rules only: 2 doubles the lines' base points, 1.5 makes 15 of 10. Where several "
            "match a line the highest counts; the customer's tier multiplies on top."
        ),
    )
    bonus_points = models.PositiveIntegerField(
        default=0,
        help_text=_(
            "Bonus rules only: points added per whole unit of a matching line (5 on 2 coffees make 10), or "
            "once per order for a per-visit rule."
        ),
    )
    minimum_spend = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="Visit bonus only: the order total it needs.",
    )
    starts_at = models.DateTimeField(
        null=True, blank=True, help_text=_("Orders count the rule from this moment; empty: at once.")
    )
    ends_at = models.DateTimeField(
        null=True, blank=True, help_text=_("Orders stop counting the rule at this moment; empty: no end.")
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["applies_to", "name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.applies_to == self.AppliesTo.VISIT:
            if self.effect != self.Effect.BONUS:
                raise ValidationError({"effect": "A per-visit rule gives a fixed bonus."})
        elif not self.match_value_set():
            raise ValidationError({"match_values": "Name at least one category or SKU."})
        if self.effect == self.Effect.BONUS and not self.bonus_points:
            raise ValidationError({"bonus_points": "A bonus rule needs bonus points."})
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            raise ValidationError({"ends_at": "The end must come after the start."})

    def match_value_set(self) -> frozenset[str]:
        values = (part.strip() for part in self.match_values.split(","))
        if self.applies_to == self.AppliesTo.CATEGORY:
            return frozenset(value.casefold() for value in values if value)
        return frozenset(value for value in values if value)


class Order(models.Model):
    """A basket reported by the POS, with the points its lines earned. Points are credited
    to the customer at once, or when the receipt is claimed in the profile."""

    class Status(models.TextChoices):
        COMPLETED = "completed", "Completed"
        PARTIALLY_RETURNED = "partially_returned", "Partially returned"
        RETURNED = "returned", "Returned"

    external_id = models.CharField(max_length=128, unique=True)
    customer = models.ForeignKey(
        "customers.Customer", null=True, blank=True, on_delete=models.PROTECT, related_name="orders"
    )
    shop = models.ForeignKey("shops.Shop", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    currency = models.CharField(max_length=3)
    total = models.DecimalField(max_digits=14, decimal_places=2)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.COMPLETED)
    points_earned = models.BigIntegerField(help_text="Lines plus the visit bonus.")
    visit_bonus_points = models.BigIntegerField(default=0)
    tier_name = models.CharField(max_length=60, blank=True)
    tier_multiplier = models.DecimalField(max_digits=5, decimal_places=2, default=Decimal("1"))
    paid_with_points = models.BigIntegerField(default=0)
    points_returned = models.BigIntegerField(
        default=0, help_text="Points the returns took back or cancelled."
    )
    points_unrecovered = models.BigIntegerField(
        default=0, help_text="Points due back that the customer had already spent."
    )
    claimed_at = models.DateTimeField(null=True, blank=True)
    claim_expires_at = models.DateTimeField(null=True, blank=True)
    api_key_lookup_id = models.CharField(max_length=16, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        # Segments' last visit and money spent: a customer's orders of a period.
        indexes = [models.Index(fields=["customer", "created_at"], name="order_customer_created_idx")]

    def __str__(self) -> str:
        return self.external_id


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveIntegerField()
    sku = models.CharField(max_length=64)
    name = models.CharField(max_length=200, blank=True)
    category = models.CharField(max_length=100, blank=True)
    quantity = models.DecimalField(max_digits=12, decimal_places=3)
    unit_price = models.DecimalField(max_digits=14, decimal_places=4)
    points_earned = models.BigIntegerField()
    bonus_points = models.BigIntegerField(default=0, help_text="Part of points_earned from bonus rules.")
    multiplier = models.DecimalField(max_digits=8, decimal_places=4, default=Decimal("1"))
    excluded = models.BooleanField(default=False)
    returned_quantity = models.DecimalField(max_digits=12, decimal_places=3, default=Decimal("0"))
    points_returned = models.BigIntegerField(default=0)

    class Meta:
        ordering = ["order", "position"]
        constraints = [
            models.UniqueConstraint(fields=["order", "position"], name="order_line_position_unique"),
            models.CheckConstraint(
                condition=models.Q(returned_quantity__lte=models.F("quantity")),
                name="order_line_not_over_returned",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.sku}"


class OrderReturn(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="returns")
    external_id = models.CharField(max_length=128)
    is_cancellation = models.BooleanField(default=False)
    points_due = models.BigIntegerField(help_text="What the returned lines earned.")
    points_taken = models.BigIntegerField(help_text="Taken from the customer's balance.")
    points_unrecovered = models.BigIntegerField(default=0)
    paid_points_refunded = models.BigIntegerField(default=0)
    api_key_lookup_id = models.CharField(max_length=16, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["order", "external_id"], name="order_return_external_id_unique")
        ]

    def __str__(self) -> str:
        return f"return {self.external_id} of {self.order_id}"


class OrderReturnLine(models.Model):
    order_return = models.ForeignKey(OrderReturn, on_delete=models.CASCADE, related_name="lines")
    order_line = models.ForeignKey(OrderLine, on_delete=models.PROTECT, related_name="+")
    quantity = models.DecimalField(max_digits=12, decimal_places=3)
    points = models.BigIntegerField()

    def __str__(self) -> str:
        return f"{self.quantity} of line {self.order_line_id}"
