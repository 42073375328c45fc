from decimal import Decimal, InvalidOperation

from loyalty_platform.core import errors

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


def exact_decimal(value: object, *, places: int, maximum: Decimal = MAX_AMOUNT) -> Decimal | None:
    """A JSON number (parsed as Decimal) or numeric string, finite, below `maximum` in size,
    with at most `places` decimals (trailing zeros do not count); None otherwise."""
    if isinstance(value, bool) or not isinstance(value, (int, str, Decimal)):
        return None
    try:
        number = Decimal(value.strip() if isinstance(value, str) else value)
    except (InvalidOperation, ValueError):
        return None
    if not number.is_finite() or abs(number) >= maximum:
        return None
    exact = number.quantize(Decimal(1).scaleb(-places))
    return exact if exact == number else None


def money_amount(value: object, currency: str, *, allow_negative: bool = True) -> Decimal:
    """An exact amount in the currency: a JSON number or numeric string, not zero, with no
    more decimals than the currency has. errors.AMOUNT_INVALID() otherwise."""
    amount = exact_decimal(value, places=currency_exponent(currency))
    if amount is None or amount == 0 or (amount < 0 and not allow_negative):
        raise errors.AMOUNT_INVALID()
    return amount


def money_exact(amount: Decimal, currency: str) -> Decimal:
    """The amount with exactly the currency's decimals (2.5 EUR is 2.50)."""
    return amount.quantize(Decimal(1).scaleb(-currency_exponent(currency)))


def money_text(amount: Decimal, currency: str) -> str:
    """Money in API responses: a string with the currency's decimals, never a float."""
    return str(money_exact(amount, currency))
