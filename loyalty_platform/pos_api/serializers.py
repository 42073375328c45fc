"""Input validation for the POS API. A refused field gives `<field>_required` when it is
missing and `<field>_invalid` otherwise, unless the contract names another code."""

from collections.abc import Mapping
from decimal import Decimal

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from loyalty_platform.core import errors
from loyalty_platform.core.text import has_control_characters
from loyalty_platform.pos_api.output import ShallowFieldCopies

MISSING_CODES = {"required", "null", "blank"}

DECIMAL_TEXT = r"^\d{1,10}(\.\d{1,4})?$"
POSITIVE_DECIMAL_TEXT = r"^([1-9]\d{0,9}(\.\d{1,4})?|0\.\d{0,3}[1-9])$"
# OpenAPI schemas of the raw values the services check: what a client should send.
MONEY = {"oneOf": [{"type": "string", "pattern": DECIMAL_TEXT}, {"type": "number", "minimum": 0}]}
POSITIVE_MONEY = {
    "oneOf": [
        {"type": "string", "pattern": POSITIVE_DECIMAL_TEXT},
        {"type": "number", "minimum": 0.0001, "maximum": 1000000000},
    ]
}
SIGNED_MONEY = {"oneOf": [{"type": "string", "pattern": r"^-?\d{1,10}(\.\d{1,4})?$"}, {"type": "number"}]}


class StrictCharField(serializers.CharField):
    """A JSON string only (DRF's CharField would turn 42 into "42"), without control
    characters: names, codes and ids may reach email headers, logs and CSV files. Line
    breaks and tabs pass only where `multiline=True` (a message)."""

    def __init__(self, *, multiline: bool = False, **kwargs):
        self.multiline = multiline
        if not kwargs.get("allow_blank"):
            # Documents the refusal of "" (minLength 1); "" is still refused as blank first.
            kwargs.setdefault("min_length", 1)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, str) or has_control_characters(data, multiline=self.multiline):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    """JSON true or false only."""

    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail("invalid", input=data)
        return data


class CustomerCodeField(serializers.IntegerField):
    """Six digits, as a JSON number or a numeric string."""

    def __init__(self, **kwargs):
        super().__init__(min_value=100000, max_value=999999, **kwargs)

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, (int, str)):
            self.fail("invalid")
        if isinstance(data, str) and not (data.isascii() and data.strip().isdigit()):
            self.fail("invalid")
        return super().to_internal_value(data)


@extend_schema_field(POSITIVE_MONEY)
class AmountField(serializers.DecimalField):
    def __init__(self, **kwargs):
        super().__init__(
            max_digits=14,
            decimal_places=4,
            min_value=Decimal("0.0001"),
            max_value=Decimal("1000000000"),
            **kwargs,
        )

    def to_internal_value(self, data):
        if isinstance(data, bool):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictIntegerField(serializers.IntegerField):
    """A JSON integer only (DRF's IntegerField would take "2" or 2.0), between the
    min_value and max_value it is given."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class RawValueField(serializers.Field):
    """Passes the parsed JSON value through (numbers arrive as Decimal) for a service to
    validate with its own error codes. `schema` documents it in OpenAPI (see schema.py)."""

    def __init__(self, *, schema: dict | None = None, **kwargs):
        self.openapi_schema = schema or {"type": "string"}
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        return data

    def to_representation(self, value):
        return value


class PosRequestSerializer(ShallowFieldCopies):
    """Refuses unknown fields and maps the first refused field to one error code."""

    def to_internal_value(self, data):
        if not isinstance(data, Mapping):
            raise errors.INVALID_BODY()
        unknown = sorted(set(data) - set(self.fields))
        if unknown:
            raise errors.UNKNOWN_FIELD(field=unknown[0])
        return super().to_internal_value(data)

    def validated(self) -> dict:
        if self.is_valid():
            return self.validated_data
        for name in self.fields:
            if name in self.errors:
                detail = self.errors[name][0]
                # An optional field sent as null or "" is a wrong value, not a missing one.
                missing = detail.code == "required" or (
                    self.fields[name].required and detail.code in MISSING_CODES
                )
                kind = "required" if missing else "invalid"
                raise errors.field_error(name, kind)(field=name)
        raise errors.INVALID_BODY()


class VerificationFieldsMixin(serializers.Serializer):
    manual_code = StrictBooleanField(required=False, default=False)
    verification_pin = StrictCharField(required=False, max_length=12, allow_blank=False)
    challenge_id = serializers.UUIDField(required=False)


class EarnRequest(VerificationFieldsMixin, PosRequestSerializer):
    customer_code = CustomerCodeField()
    amount = AmountField(help_text="Money spent (points) or the number of stamps (stamp cards).")
    card_type = serializers.ChoiceField(choices=["point", "stamp"], required=False, default="point")
    external_id = StrictCharField(max_length=128, help_text="Idempotency key, unique per call.")


class RedeemRequest(VerificationFieldsMixin, PosRequestSerializer):
    customer_code = CustomerCodeField()
    value = StrictIntegerField(min_value=1, max_value=2**31 - 1, help_text="Points or stamps to take.")
    card_type = serializers.ChoiceField(choices=["point", "stamp"], required=False, default="stamp")
    external_id = StrictCharField(max_length=128)


class CouponRedeemRequest(VerificationFieldsMixin, PosRequestSerializer):
    token = StrictCharField(max_length=100, help_text="The coupon's cq_ QR token.")
    external_id = StrictCharField(max_length=128, required=False)


class CustomerEnrollRequest(PosRequestSerializer):
    email = RawValueField(required=False, allow_null=True, help_text="Required; matched case-insensitively.")
    consent_terms = StrictBooleanField(required=False, default=False)
    consent_privacy = StrictBooleanField(required=False, default=False)
    consent_marketing = StrictBooleanField(required=False, default=False)
    name = StrictCharField(required=False, max_length=150, allow_blank=True, default="")
    phone = StrictCharField(required=False, max_length=32, allow_blank=True, default="")
    birth_date = RawValueField(
        required=False, allow_null=True, help_text='Optional, "YYYY-MM-DD"; stored for a new customer.'
    )


class StoredValueTransactionRequest(VerificationFieldsMixin, PosRequestSerializer):
    amount = RawValueField(
        schema=SIGNED_MONEY, help_text="Positive loads or tops up, negative pays (exact decimal)."
    )
    external_id = StrictCharField(max_length=128)
    allow_partial = StrictBooleanField(required=False, default=False)


class ReverseRequest(PosRequestSerializer):
    external_id = StrictCharField(max_length=128)


class DigitalGiftcardRequest(PosRequestSerializer):
    amount = RawValueField(schema=POSITIVE_MONEY, help_text="Money loaded on the new card.")
    recipient_email = StrictCharField(max_length=254)
    recipient_name = StrictCharField(required=False, max_length=150, allow_blank=True, default="")
    sender_name = StrictCharField(required=False, max_length=150, allow_blank=True, default="")
    message = StrictCharField(required=False, max_length=1000, allow_blank=True, default="", multiline=True)
    external_id = StrictCharField(max_length=128)
