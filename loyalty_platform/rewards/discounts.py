"""First-class discount fields of rewards and promotions: what a POS applies, without custom
attributes. Names follow the published integration guides (discount_type with the values
percentage_discount / absolute_discount / free_item, discount_value, product_code, category)."""

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import connection, models
from django.utils.translation import gettext_lazy as _

from loyalty_platform.core.money import currency_exponent, exact_decimal


class DiscountType(models.TextChoices):
    PERCENT = "percentage_discount", _("Percent off")
    AMOUNT = "absolute_discount", _("Amount off")
    FREE_ITEM = "free_item", _("Free item")


class Discount(models.Model):
    """The discount fields a reward or a promotion carries."""

    discount_type = models.CharField(
        max_length=20,
        choices=DiscountType.choices,
        blank=True,
        help_text=_("What the POS takes off: a percentage, an amount, or one item free. Empty: no discount."),
    )
    discount_value = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=_(
            "Percent off (more than 0, at most 100) or the amount off in the organization's currency."
        ),
    )
    product_code = models.CharField(
        max_length=255,
        blank=True,
        help_text=_("The product's SKU (several: comma-separated). A free item needs one."),
    )
    category = models.CharField(
        max_length=120,
        blank=True,
        help_text=_("Or a product category the discount applies to. Empty with no SKU: the whole basket."),
    )

    class Meta:
        abstract = True

    def clean(self) -> None:
        super().clean()
        errors = discount_errors(
            discount_type=self.discount_type,
            value=self.discount_value,
            product_code=self.product_code,
            category=self.category,
            currency=organization_currency(),
        )
        if errors:
            raise ValidationError(errors)


def organization_currency() -> str:
    return getattr(connection.tenant, "currency", None) or "EUR"


def discount_errors(
    *, discount_type: str, value: Decimal | None, product_code: str, category: str, currency: str
) -> dict[str, str]:
    """Every problem of a set of discount fields at once, by field name; empty when valid."""
    errors: dict[str, str] = {}
    if not discount_type:
        if value is not None or product_code.strip() or category.strip():
            errors["discount_type"] = _("Choose a discount type for this value, product or category.")
        return errors
    if discount_type == DiscountType.FREE_ITEM:
        if value is not None:
            errors["discount_value"] = _("A free item has no value; leave it empty.")
        if not product_code.strip():
            errors["product_code"] = _("A free item needs the product's SKU.")
        return errors
    if value is None:
        errors["discount_value"] = _("Give the value of the discount.")
    elif discount_type == DiscountType.PERCENT and not Decimal(0) < value <= Decimal(100):
        errors["discount_value"] = _("A percentage is more than 0 and at most 100.")
    elif discount_type == DiscountType.AMOUNT:
        places = currency_exponent(currency)
        if value <= 0 or exact_decimal(value, places=places) is None:
            errors["discount_value"] = _(
                "An amount is more than 0 %(currency)s, with at most %(places)s decimals."
            ) % {"currency": currency, "places": places}
    return errors
