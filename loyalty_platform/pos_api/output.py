"""Output serializers: they render every POS success body's `data`, and the OpenAPI schema is
generated from them, so the docs show exactly what is sent."""

from decimal import Decimal

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from loyalty_platform.core.money import currency_exponent, money_text

MONEY_TEXT = r"^-?\d+(\.\d+)?$"


@extend_schema_field({"type": "string", "pattern": MONEY_TEXT, "example": "12.50"})
class MoneyField(serializers.Field):
    """An amount as a decimal string with the currency's own decimals ("3.50", "350")."""

    def __init__(self, *, currency_source: str | None = None, **kwargs):
        # Where the currency comes from: the organization's (context) unless an attribute of
        # the rendered object names it (an order keeps its own).
        self.currency_source = currency_source
        kwargs.setdefault("read_only", True)
        super().__init__(**kwargs)

    def get_attribute(self, instance):
        value = super().get_attribute(instance)
        if value is None:
            return None
        currency = self.context["currency"]
        if self.currency_source is not None:
            currency = _read(instance, self.currency_source)
        return money_text(Decimal(value), currency)

    def to_representation(self, value):
        return value


@extend_schema_field({"type": "string", "pattern": r"^\d+(\.\d+)?$", "example": "2"})
class QuantityField(serializers.Field):
    """A quantity as its shortest exact decimal string ("2", "0.25")."""

    def __init__(self, **kwargs):
        kwargs.setdefault("read_only", True)
        super().__init__(**kwargs)

    def to_representation(self, value):
        return format(Decimal(value).normalize(), "f")


class UnitPriceField(MoneyField):
    """A unit price: the currency's decimals at least, more when the price has them
    ("0.125" per gram stays exact)."""

    def get_attribute(self, instance):
        value = serializers.Field.get_attribute(self, instance)
        currency = _read(instance, self.currency_source) if self.currency_source else self.context["currency"]
        exponent = currency_exponent(currency)
        text = format(Decimal(value).normalize(), "f")
        places = len(text.partition(".")[2])
        return format(Decimal(value), f".{max(places, exponent)}f")


def _read(instance, path: str):
    for part in path.split("."):
        instance = instance[part] if isinstance(instance, dict) else getattr(instance, part)
    return instance


class IsoDateTimeField(serializers.DateTimeField):
    """Datetimes as Python's isoformat() gives them (the contract's examples), UTC offset kept."""

    def to_representation(self, value):
        return None if value is None else value.isoformat()


class OmitNoneSerializer(serializers.Serializer):
    # Leaves out the `omit_when_none` fields whose value is None: keys present only sometimes.

    omit_when_none: tuple[str, ...] = ()

    def to_representation(self, instance):
        data = super().to_representation(instance)
        for name in self.omit_when_none:
            if data.get(name) is None:
                data.pop(name, None)
        return data
