"""Promotions' vouchers at the POS: check, lock, release, redeem, reverse, validate."""

from django.utils import timezone
from rest_framework import serializers

from loyalty_platform.core import errors
from loyalty_platform.core.money import money_amount
from loyalty_platform.pos_api import serializers as s
from loyalty_platform.pos_api.endpoints import Call, Command, PathObject, PosApiView, Query
from loyalty_platform.pos_api.output import IsoDateTimeField, MoneyField
from loyalty_platform.vouchers.models import Voucher
from loyalty_platform.vouchers.services import (
    is_locked,
    voucher_code_normalize,
    voucher_find,
    voucher_lock,
    voucher_redeem,
    voucher_refusal,
    voucher_release,
    voucher_reverse,
)

VOUCHER_CODE = PathObject(
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
    allow_future_validation = s.StrictBooleanField(required=False, default=False)
    external_id = s.StrictCharField(required=False, max_length=128)


class PromotionData(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    description = serializers.CharField()
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
        "attributes": {"discount_percent": 10},
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
    rate_limit_group = "customer"

    get = Query(
        operation_id="voucher_find",
        summary="Check a voucher without using it",
        path={"code": VOUCHER_CODE},
        response=VoucherData,
        perform=lambda call: voucher_find(call.path["code"]),
        errors=(errors.VOUCHER_NOT_FOUND,),
        example=VOUCHER_EXAMPLE,
    )


class VoucherLockView(PosApiView):
    post = Command(
        operation_id="voucher_lock",
        summary="Reserve a voucher for this till",
        path={"code": VOUCHER_CODE},
        request=LockRequest,
        response=VoucherLockData,
        once="vouchers/lock",
        perform=lambda call: voucher_lock(code=call.path["code"], ttl_seconds=call.data.get("ttl_seconds")),
        errors=VOUCHER_ERRORS,
        example_request={"external_id": "till-3-00198", "ttl_seconds": 300},
        example={"release_key": "rk_3M9pQ2xV7aL1", "locked_until": "2026-12-01T10:10:00+00:00"},
    )


class VoucherReleaseView(PosApiView):
    post = Command(
        operation_id="voucher_release",
        summary="Free a locked voucher",
        path={"code": VOUCHER_CODE},
        request=ReleaseRequest,
        response=VoucherData,
        perform=lambda call: voucher_release(code=call.path["code"], release_key=call.data["release_key"]),
        errors=(errors.VOUCHER_NOT_FOUND, errors.RELEASE_KEY_INVALID),
        example_request={"release_key": "rk_3M9pQ2xV7aL1"},
        example=VOUCHER_EXAMPLE,
    )


def redeem_voucher(call: Call) -> Voucher:
    data = call.data
    amount = money_amount(data["amount"], call.currency, allow_negative=False) if "amount" in data else None
    redemption = voucher_redeem(
        code=call.path["code"],
        release_key=data.get("release_key"),
        customer=call.customer,
        amount=amount,
        external_id=data["external_id"],
        api_key_lookup_id=call.api_key_lookup_id,
    )
    return redemption.voucher


class VoucherRedeemView(PosApiView):
    post = Command(
        operation_id="voucher_redeem",
        summary="Use a voucher",
        path={"code": VOUCHER_CODE},
        request=RedeemVoucherRequest,
        response=VoucherData,
        once="vouchers/redeem",
        perform=redeem_voucher,
        errors=(
            *VOUCHER_ERRORS,
            errors.RELEASE_KEY_INVALID,
            errors.AMOUNT_REQUIRED,
            errors.CUSTOMER_NOT_FOUND,
        ),
        example_request={"external_id": "till-3-00199", "amount": "23.40", "customer_code": 482193},
        example=USED_VOUCHER_EXAMPLE,
    )


class VoucherReverseView(PosApiView):
    post = Command(
        operation_id="voucher_reverse",
        summary="Undo the latest use of a voucher",
        path={"code": VOUCHER_CODE},
        request=ReverseVoucherRequest,
        response=VoucherData,
        once="vouchers/reverse",
        perform=lambda call: voucher_reverse(code=call.path["code"]),
        errors=(errors.VOUCHER_NOT_FOUND, errors.VOUCHER_NOT_REDEEMED),
        example_request={"external_id": "till-3-00200"},
        example=VOUCHER_EXAMPLE,
    )


def validate_voucher(call: Call) -> Voucher:
    data = call.data
    if data["allow_future_validation"]:
        voucher = voucher_find(data["code"])
        refusal = voucher_refusal(voucher, now=timezone.now())
        if refusal:
            raise refusal()
        return voucher
    return voucher_redeem(
        code=data["code"], external_id=data.get("external_id", ""), api_key_lookup_id=call.api_key_lookup_id
    ).voucher


class VoucherValidateView(PosApiView):
    post = Command(
        operation_id="voucher_validate",
        summary="Use a voucher and get its discount details (or only check them)",
        request=ValidateRequest,
        response=VoucherData,
        once="vouchers/validate",
        perform=validate_voucher,
        errors=VOUCHER_ERRORS,
        example_request={"code": "WELCOME-7KQ2", "external_id": "till-3-00201"},
        example=USED_VOUCHER_EXAMPLE,
    )
