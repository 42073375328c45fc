"""Output serializers: they render every POS success body's `data`, and the OpenAPI schema is
generated from them, so the docs show exactly what is sent."""

import copy
from decimal import Decimal

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from loyalty_platform.core.money import currency_exponent, money_text
from loyalty_platform.rewards.discounts import DiscountType, organization_currency

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


class ShallowFieldCopies(serializers.Serializer):
    """Each instance gets shallow copies of the declared fields where DRF deep-copies them,
    which re-runs every field's __init__: the largest part of building a small serializer.
    A copy is bound to its serializer; what it shares with the declaration (validators,
    choices, messages) is never changed after __init__. Fields with fields or a child of
    their own (child, child_relation) are still deep-copied, so each copy binds its own."""

    def get_fields(self) -> dict:
        return {
            name: copy.deepcopy(field)
            if isinstance(field, serializers.BaseSerializer)
            or hasattr(field, "child")
            or hasattr(field, "child_relation")
            else copy.copy(field)
            for name, field in self._declared_fields.items()
        }


def _read(instance, path: str):
    for part in path.split("."):
        instance = instance[part] if isinstance(instance, dict) else getattr(instance, part)
    return instance


class IsoDateTimeField(serializers.DateTimeField):
    """Datetimes as Python's isoformat() gives them (the contract's examples), UTC offset kept."""

    def to_representation(self, value):
        return None if value is None else value.isoformat()


class OmitNoneSerializer(ShallowFieldCopies):
    # Leaves out the `omit_when_none` fields whose value is None (or an empty list): keys
    # present only sometimes.

    omit_when_none: tuple[str, ...] = ()

    def to_representation(self, instance):
        data = super().to_representation(instance)
        for name in self.omit_when_none:
            if data.get(name) is None or data.get(name) == []:
                data.pop(name, None)
        return data


class CampaignShareData(OmitNoneSerializer):
    """What one campaign added to a call (earn, order, preview), or took back (return,
    reversal): points or stamps."""

    id = serializers.IntegerField(source="campaign_id")
    name = serializers.CharField()
    points = serializers.IntegerField(required=False, allow_null=True)
    stamps = serializers.IntegerField(required=False, allow_null=True)
    omit_when_none = ("points", "stamps")


def campaign_shares_field(**options) -> CampaignShareData:
    """The `campaigns` key of a body: present only when a campaign applied (decision 38), so
    bodies without campaigns stay as the contract pins them."""
    return CampaignShareData(
        many=True,
        required=False,
        help_text="Present only when a campaign's boost applied: what each campaign added or took back.",
        **options,
    )


class ExpiringPointsData(serializers.Serializer):
    """Points that expire soon (programs.selectors.points_expiring_soon; decision 47)."""

    points = serializers.IntegerField(
        help_text="Points of the balance that expire within the next 30 days (0: none)."
    )
    expires_at = IsoDateTimeField(
        allow_null=True,
        help_text="When the first of them expire (null when none do); it may have passed by up to "
        "an hour, until the hourly expiry run takes them.",
    )

    def to_representation(self, expiring) -> dict:
        return expiring.as_json()


def customer_status_field(**options) -> serializers.CharField:
    """The customer's status in look-ups (contract: "Blocked customers and cards")."""
    return serializers.CharField(
        help_text="active, or blocked: staff blocked the customer; calls that would change their "
        "balances or use their value are refused with customer_blocked. pending: enrolled by phone, "
        "they have not finished joining (consented) by the texted link yet.",
        **options,
    )


@extend_schema_field(
    {
        "type": "object",
        "nullable": True,
        "description": "What the POS takes off, or null when the reward or promotion names no discount.",
        "properties": {
            "discount_type": {"type": "string", "enum": [value for value, _ in DiscountType.choices]},
            "discount_value": {
                "type": "string",
                "nullable": True,
                "pattern": MONEY_TEXT,
                "description": "Percent off (percentage_discount), the amount off in the currency "
                "(absolute_discount), or null (free_item).",
            },
            "product_code": {"type": "string", "description": "SKU(s), comma-separated; empty: any."},
            "category": {"type": "string", "description": "A product category; empty: any."},
        },
        "required": ["discount_type", "discount_value", "product_code", "category"],
        "example": {
            "discount_type": "percentage_discount",
            "discount_value": "10",
            "product_code": "",
            "category": "coffee",
        },
    }
)
class DiscountField(serializers.Field):
    """The discount fields of a reward or a promotion, as one object (null without one)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("read_only", True)
        kwargs.setdefault("source", "*")
        super().__init__(**kwargs)

    def to_representation(self, owner):
        if not owner.discount_type:
            return None
        value = owner.discount_value
        if value is not None and owner.discount_type == DiscountType.AMOUNT:
            value = money_text(Decimal(value), self.context.get("currency") or organization_currency())
        elif value is not None:
            value = format(Decimal(value).normalize(), "f")
        return {
            "discount_type": owner.discount_type,
            "discount_value": value,
            "product_code": owner.product_code,
            "category": owner.category,
        }
