from decimal import Decimal, InvalidOperation

from loyalty_platform.core.errors import DomainError

# ISO 4217 currencies without minor units; everything else we support has two decimals.
ZERO_DECIMAL_CURRENCIES = frozenset(
    {
        "BIF",
        "CLP",
        "DJF",
        "GNF",
        "ISK",
        "JPY",
        "KMF",
        "KRW",
        "PYG",
        "RWF",
        "UGX",
        "VND",
        "VUV",
        "XAF",
        "XOF",
        "XPF",
    }
)
MAX_AMOUNT = Decimal("1000000000")


def currency_exponent(currency: str) -> int:
    return 0 if currency in ZERO_DECIMAL_CURRENCIES else 2


def money_amount(value: object, currency: str, *, allow_negative: bool = True) -> Decimal:
    """An exact amount in the currency: a JSON number or numeric string, not zero, with no
    more decimals than the currency has. DomainError("amount_invalid") otherwise."""
    if isinstance(value, bool) or not isinstance(value, (int, str, Decimal)):
        raise DomainError("amount_invalid")
    try:
        amount = Decimal(value.strip() if isinstance(value, str) else value)
    except (InvalidOperation, ValueError):
        raise DomainError("amount_invalid") from None
    if not amount.is_finite() or amount == 0 or abs(amount) >= MAX_AMOUNT:
        raise DomainError("amount_invalid")
    if amount < 0 and not allow_negative:
        raise DomainError("amount_invalid")
    exact = amount.quantize(Decimal(1).scaleb(-currency_exponent(currency)))
    if exact != amount:
        raise DomainError("amount_invalid")
    return exact


def money_text(amount: Decimal, currency: str) -> str:
    """Money in API responses: a string with the currency's decimals, never a float."""
    return str(amount.quantize(Decimal(1).scaleb(-currency_exponent(currency))))
