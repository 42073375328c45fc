"""What makes a promotion's settings hold together, beyond its discount (rewards.discounts):
checked by the model (so the portal's form shows each problem at its field) and by the
services (vouchers.services.promotion_create / promotion_update) for every other caller."""

from datetime import datetime
from decimal import Decimal

from django.utils.translation import gettext_lazy as _

from loyalty_platform.core.money import currency_exponent, exact_decimal
from loyalty_platform.core.text import has_control_characters


def promotion_errors(
    *,
    title: str,
    description: str,
    product_code: str,
    category: str,
    valid_from: datetime | None,
    valid_until: datetime | None,
    minimum_spend: Decimal | None,
    uses_per_voucher: int | None,
    uses_per_customer: int | None,
    currency: str,
) -> dict[str, str]:
    """Every problem at once, by field name; empty when the settings hold together. Types,
    lengths and required fields are the form's (or the service's) to check first."""
    errors: dict[str, str] = {}
    if has_control_characters(title or ""):
        errors["title"] = _("The title is one line of text, without control characters.")
    if has_control_characters(description or "", multiline=True):
        errors["description"] = _("The description holds control characters.")
    for name, value in (("product_code", product_code), ("category", category)):
        if has_control_characters(value or ""):
            errors[name] = _("One line of text, without control characters.")
    if valid_from and valid_until and valid_until <= valid_from:
        errors["valid_until"] = _("The end must come after the start.")
    if minimum_spend is not None:
        places = currency_exponent(currency)
        if minimum_spend < 0 or exact_decimal(minimum_spend, places=places) is None:
            errors["minimum_spend"] = _(
                "A minimum spend is 0 %(currency)s or more, with at most %(places)s decimals."
            ) % {"currency": currency, "places": places}
    if uses_per_voucher is not None and uses_per_voucher < 1:
        errors["uses_per_voucher"] = _("A voucher can be used at least once.")
    if uses_per_customer is not None and uses_per_customer < 1:
        errors["uses_per_customer"] = _("At least once, or empty for no limit.")
    return errors
