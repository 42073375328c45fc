"""Promotions' vouchers at the POS: check, lock, release, redeem, reverse, validate."""

from django.http import HttpResponse
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers

from loyalty_platform.core import errors
from loyalty_platform.core.money import money_amount, money_text
from loyalty_platform.pos_api import serializers as s
from loyalty_platform.pos_api.views import (
    AUTH_ERRORS,
    BODY_ERRORS,
    IDEMPOTENCY_ERRORS,
    PosApiView,
    _customer_or_404,
    _envelope,
    _errors,
    json_response,
)
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

VOUCHER_ERRORS = (
    "voucher_not_found (404)",
    "voucher_already_used (409)",
    "voucher_locked (409)",
    "voucher_expired (410)",
    "voucher_not_yet_valid (422)",
    "minimum_spend_not_met (422)",
    "release_key_invalid (422)",
    "usage_limit_reached (422)",
)


def voucher_data(voucher: Voucher, currency: str) -> dict:
    promotion = voucher.promotion
    now = timezone.now()
    refusal = voucher_refusal(voucher, now=now)
    if refusal is None and is_locked(voucher, now):
        refusal = errors.VOUCHER_LOCKED
    return {
        "code": voucher.code,
        "status": voucher.status,
        "promotion": {
            "id": promotion.pk,
            "title": promotion.title,
            "description": promotion.description,
            "attributes": promotion.attributes,
            "valid_from": promotion.valid_from.isoformat() if promotion.valid_from else None,
            "valid_until": promotion.valid_until.isoformat() if promotion.valid_until else None,
            "minimum_spend": money_text(promotion.minimum_spend, currency)
            if promotion.minimum_spend
            else None,
        },
        "customer_code": voucher.customer.customer_code if voucher.customer else None,
        "uses": voucher.uses,
        "uses_left": max(0, promotion.uses_per_voucher - voucher.uses),
        "expires_at": promotion.valid_until.isoformat() if promotion.valid_until else None,
        "locked_until": voucher.locked_until.isoformat() if is_locked(voucher, now) else None,
        "redeemable": refusal is None,
        "reason": refusal.code if refusal else None,
    }


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


VOUCHER = serializers.DictField(
    help_text="The voucher, its promotion and attributes, and whether it can be used now."
)


class VoucherView(PosApiView):
    rate_limit_group = "customer"

    @extend_schema(
        operation_id="voucher_find",
        summary="Check a voucher without using it",
        responses={
            200: _envelope("VoucherFound", VOUCHER),
            404: _errors("voucher_not_found"),
            401: _errors(*AUTH_ERRORS),
        },
    )
    def get(self, request, code: str):
        return json_response({"data": voucher_data(voucher_find(code), self.organization.currency)})


class VoucherActionView(PosApiView):
    def voucher_once(self, request, code: str, action: str, external_id: str | None, build) -> HttpResponse:
        return self.respond_once(
            endpoint=f"vouchers/{action}",
            external_id=external_id,
            body={**request.data, "_path": {"code": voucher_code_normalize(code)}},
            build=build,
        )


class VoucherLockView(VoucherActionView):
    @extend_schema(
        operation_id="voucher_lock",
        summary="Reserve a voucher for this till",
        request=LockRequest,
        responses={
            200: _envelope("VoucherLocked", serializers.DictField()),
            409: _errors(*VOUCHER_ERRORS, *IDEMPOTENCY_ERRORS),
            422: _errors(*BODY_ERRORS),
            401: _errors(*AUTH_ERRORS),
        },
    )
    def post(self, request, code: str):
        data = LockRequest(data=request.data).validated()

        def build() -> dict:
            lock = voucher_lock(code=code, ttl_seconds=data.get("ttl_seconds"))
            return {"release_key": lock.release_key, "locked_until": lock.locked_until.isoformat()}

        return self.voucher_once(request, code, "lock", data["external_id"], build)


class VoucherReleaseView(VoucherActionView):
    @extend_schema(
        operation_id="voucher_release",
        summary="Free a locked voucher",
        request=ReleaseRequest,
        responses={
            200: _envelope("VoucherReleased", VOUCHER),
            422: _errors("release_key_invalid"),
            404: _errors("voucher_not_found"),
            401: _errors(*AUTH_ERRORS),
        },
    )
    def post(self, request, code: str):
        data = ReleaseRequest(data=request.data).validated()
        voucher = voucher_release(code=code, release_key=data["release_key"])
        return json_response({"data": voucher_data(voucher, self.organization.currency)})


class VoucherRedeemView(VoucherActionView):
    @extend_schema(
        operation_id="voucher_redeem",
        summary="Use a voucher",
        request=RedeemVoucherRequest,
        responses={
            200: _envelope("VoucherRedeemed", VOUCHER),
            409: _errors(*VOUCHER_ERRORS, *IDEMPOTENCY_ERRORS),
            422: _errors(*BODY_ERRORS),
            401: _errors(*AUTH_ERRORS),
        },
    )
    def post(self, request, code: str):
        data = RedeemVoucherRequest(data=request.data).validated()
        currency = self.organization.currency
        amount = money_amount(data["amount"], currency, allow_negative=False) if "amount" in data else None

        def build() -> dict:
            customer = _customer_or_404(data["customer_code"]) if "customer_code" in data else None
            redemption = voucher_redeem(
                code=code,
                release_key=data.get("release_key"),
                customer=customer,
                amount=amount,
                external_id=data["external_id"],
                api_key_lookup_id=request.auth.lookup_id,
            )
            return voucher_data(redemption.voucher, currency)

        return self.voucher_once(request, code, "redeem", data["external_id"], build)


class VoucherReverseView(VoucherActionView):
    @extend_schema(
        operation_id="voucher_reverse",
        summary="Undo the latest use of a voucher",
        request=ReverseVoucherRequest,
        responses={
            200: _envelope("VoucherReversed", VOUCHER),
            404: _errors("voucher_not_found"),
            409: _errors("voucher_not_redeemed", *IDEMPOTENCY_ERRORS),
            401: _errors(*AUTH_ERRORS),
        },
    )
    def post(self, request, code: str):
        data = ReverseVoucherRequest(data=request.data).validated()
        return self.voucher_once(
            request,
            code,
            "reverse",
            data["external_id"],
            lambda: voucher_data(voucher_reverse(code=code), self.organization.currency),
        )


class VoucherValidateView(VoucherActionView):
    @extend_schema(
        operation_id="voucher_validate",
        summary="Use a voucher and get its discount details (or only check them)",
        request=ValidateRequest,
        responses={
            200: _envelope("VoucherValidated", VOUCHER),
            409: _errors(*VOUCHER_ERRORS, *IDEMPOTENCY_ERRORS),
            422: _errors(*BODY_ERRORS),
            401: _errors(*AUTH_ERRORS),
        },
    )
    def post(self, request):
        data = ValidateRequest(data=request.data).validated()
        currency = self.organization.currency
        if data["allow_future_validation"]:
            voucher = voucher_find(data["code"])
            refusal = voucher_refusal(voucher, now=timezone.now())
            if refusal:
                raise refusal()
            return json_response({"data": voucher_data(voucher, currency)})

        def build() -> dict:
            redemption = voucher_redeem(
                code=data["code"],
                external_id=data.get("external_id", ""),
                api_key_lookup_id=request.auth.lookup_id,
            )
            return voucher_data(redemption.voucher, currency)

        return self.voucher_once(request, data["code"], "validate", data.get("external_id"), build)
