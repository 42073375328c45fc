"""Promotions' vouchers at the POS: check, lock, release, redeem, reverse, validate."""

from decimal import Decimal

from django.utils import timezone
from rest_framework import serializers

from loyalty_platform.core import errors
from loyalty_platform.core.money import money_amount
from loyalty_platform.pos_api import endpoints
from loyalty_platform.pos_api import serializers as s
from loyalty_platform.pos_api.endpoints import Call, Command, PosApiView, Query
from loyalty_platform.pos_api.output import DiscountField, IsoDateTimeField, MoneyField
from loyalty_platform.vouchers.models import Voucher
from loyalty_platform.vouchers.services import (
    Validation,
    is_locked,
    voucher_code_normalize,
    voucher_find,
    voucher_lock,
    voucher_redeem,
    voucher_refusal,
    voucher_release,
    voucher_reverse,
    voucher_validate,
)

VOUCHER_CODE = endpoints.PathObject(
    missing=errors.VOUCHER_NOT_FOUND, parse=lambda raw: voucher_code_normalize(str(raw)) or None
)
VOUCHER_ERRORS = (
    errors.VOUCHER_NOT_FOUND,
    errors.VOUCHER_ALREADY_USED,
    errors.VOUCHER_LOCKED,
    errors.VOUCHER_EXPIRED,
    errors.VOUCHER_NOT_YET_VALID,
    errors.MINIMUM_SPEND_NOT_MET,
    errors.USAGE_LIMIT_REACHED,
    errors.CUSTOMER_BLOCKED,
)


class LockRequest(s.PosRequestSerializer):
    external_id = s.StrictCharField(max_length=128)
    ttl_seconds = serializers.IntegerField(required=False, min_value=1, max_value=3600)


class ReleaseRequest(s.PosRequestSerializer):
    release_key = s.StrictCharField(max_length=100)


class RedeemVoucherRequest(s.PosRequestSerializer):
    external_id = s.StrictCharField(max_length=128)
    release_key = s.StrictCharField(required=False, max_length=100)
    customer_code = s.CustomerCodeField(required=False)
    amount = s.RawValueField(
        schema=s.MONEY, required=False, help_text="Basket total, checked against the minimum spend."
    )


class ReverseVoucherRequest(s.PosRequestSerializer):
    external_id = s.StrictCharField(max_length=128)


class ValidateRequest(s.PosRequestSerializer):
    code = s.StrictCharField(max_length=100)
    amount = s.RawValueField(
        schema=s.MONEY, required=False, help_text="Basket total, checked against the minimum spend."
    )
    allow_future_validation = s.StrictBooleanField(required=False, default=False)
    external_id = s.StrictCharField(required=False, max_length=128)


class PromotionData(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    description = serializers.CharField()
    discount = DiscountField()
    attributes = serializers.DictField()
    valid_from = IsoDateTimeField(allow_null=True)
    valid_until = IsoDateTimeField(allow_null=True)
    minimum_spend = MoneyField(allow_null=True)


class VoucherData(serializers.Serializer):
    code = serializers.CharField()
    status = serializers.ChoiceField(choices=Voucher.Status.values)
    promotion = PromotionData()
    customer_code = serializers.IntegerField(source="customer.customer_code", allow_null=True)
    uses = serializers.IntegerField()
    uses_left = serializers.SerializerMethodField()
    expires_at = IsoDateTimeField(source="promotion.valid_until", allow_null=True)
    locked_until = serializers.SerializerMethodField()
    redeemable = serializers.SerializerMethodField()
    reason = serializers.SerializerMethodField(
        help_text="Why it cannot be used now (an error code), or null."
    )

    def to_representation(self, voucher: Voucher) -> dict:
        now = timezone.now()
        refusal = voucher_refusal(voucher, now=now)
        if refusal is None and is_locked(voucher, now):
            refusal = errors.VOUCHER_LOCKED
        self._now, self._refusal = now, refusal
        return super().to_representation(voucher)

    def get_uses_left(self, voucher: Voucher) -> int:
        return max(0, voucher.promotion.uses_per_voucher - voucher.uses)

    def get_locked_until(self, voucher: Voucher) -> str | None:
        return voucher.locked_until.isoformat() if is_locked(voucher, self._now) else None

    def get_redeemable(self, voucher: Voucher) -> bool:
        return self._refusal is None

    def get_reason(self, voucher: Voucher) -> str | None:
        return self._refusal.code if self._refusal else None


class VoucherLockData(serializers.Serializer):
    release_key = serializers.CharField()
    locked_until = IsoDateTimeField()


VOUCHER_EXAMPLE = {
    "code": "WELCOME-7KQ2",
    "status": "active",
    "promotion": {
        "id": 5,
        "title": "10% off your next visit",
        "description": "On the whole basket",
        "discount": {
            "discount_type": "percentage_discount",
            "discount_value": "10",
            "product_code": "",
            "category": "",
        },
        "attributes": {},
        "valid_from": None,
        "valid_until": "2026-12-31T23:00:00+00:00",
        "minimum_spend": "15.00",
    },
    "customer_code": 482193,
    "uses": 0,
    "uses_left": 1,
    "expires_at": "2026-12-31T23:00:00+00:00",
    "locked_until": None,
    "redeemable": True,
    "reason": None,
}
USED_VOUCHER_EXAMPLE = {
    **VOUCHER_EXAMPLE,
    "status": "redeemed",
    "uses": 1,
    "uses_left": 0,
    "redeemable": False,
    "reason": "voucher_already_used",
}


class VoucherView(PosApiView):
    path = {"code": VOUCHER_CODE}
    get = Query(
        "voucher_find",
        VoucherData,
        lambda call: voucher_find(call.path["code"]),
        errors=(errors.VOUCHER_NOT_FOUND,),
    )


class VoucherLockView(PosApiView):
    path = {"code": VOUCHER_CODE}
    post = Command(
        "voucher_lock",
        LockRequest,
        VoucherLockData,
        lambda call: voucher_lock(code=call.path["code"], ttl_seconds=call.data.get("ttl_seconds")),
        once="vouchers/lock",
        errors=VOUCHER_ERRORS,
    )


class VoucherReleaseView(PosApiView):
    path = {"code": VOUCHER_CODE}
    post = Command(
        "voucher_release",
        ReleaseRequest,
        VoucherData,
        lambda call: voucher_release(code=call.path["code"], release_key=call.data["release_key"]),
        errors=(errors.VOUCHER_NOT_FOUND, errors.RELEASE_KEY_INVALID),
    )


def _basket_amount(call: Call) -> Decimal | None:
    """The basket total a minimum spend is checked against, when the till sent one."""
    if "amount" not in call.data:
        return None
    return money_amount(call.data["amount"], call.currency, allow_negative=False)


def redeem_voucher(call: Call) -> Voucher:
    amount = _basket_amount(call)  # an invalid amount is refused before the customer is looked up
    redemption = voucher_redeem(
        code=call.path["code"],
        customer=call.customer,
        amount=amount,
        **call.arguments("release_key", "external_id"),
    )
    return redemption.voucher


class VoucherRedeemView(PosApiView):
    path = {"code": VOUCHER_CODE}
    post = Command(
        "voucher_redeem",
        RedeemVoucherRequest,
        VoucherData,
        redeem_voucher,
        once="vouchers/redeem",
        errors=(
            *VOUCHER_ERRORS,
            errors.RELEASE_KEY_INVALID,
            errors.AMOUNT_REQUIRED,
            errors.CUSTOMER_NOT_FOUND,
        ),
    )


class VoucherReverseView(PosApiView):
    path = {"code": VOUCHER_CODE}
    post = Command(
        "voucher_reverse",
        ReverseVoucherRequest,
        VoucherData,
        lambda call: voucher_reverse(code=call.path["code"]),
        once="vouchers/reverse",
        errors=(errors.VOUCHER_NOT_FOUND, errors.VOUCHER_NOT_REDEEMED),
    )


def validate_voucher(call: Call) -> Validation:
    data = call.data
    amount = _basket_amount(call)
    return voucher_validate(
        code=data["code"],
        use=not data["allow_future_validation"],
        amount=amount,
        **call.arguments("external_id"),
    )


class ValidationData(VoucherData):
    """The voucher as validate found it: `redeemable` says it could be used, `used` whether
    this call used it (the rest shows the voucher after)."""

    used = serializers.BooleanField()

    def to_representation(self, validation: Validation) -> dict:
        data = VoucherData(validation.voucher, context=self.context).data
        return {**data, "redeemable": True, "reason": None, "used": validation.used}


class VoucherValidateView(PosApiView):
    post = Command(
        "voucher_validate",
        ValidateRequest,
        ValidationData,
        validate_voucher,
        once="vouchers/validate",
        errors=(*VOUCHER_ERRORS, errors.AMOUNT_REQUIRED),
    )
