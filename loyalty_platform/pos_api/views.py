"""The POS webhook API (contract: shared/contracts/pos-webhooks.md). Views validate, call
services and render; every refusal is a DomainError turned into HTTP in errors.py."""

import uuid
from collections.abc import Callable

from django.db import transaction
from django.http import HttpResponse
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework.exceptions import ValidationError
from rest_framework.renderers import JSONRenderer
from rest_framework.views import APIView

from loyalty_platform.core import errors
from loyalty_platform.coupons.models import Coupon
from loyalty_platform.coupons.selectors import coupon_by_token
from loyalty_platform.coupons.services import coupon_redeem
from loyalty_platform.customers.models import Customer
from loyalty_platform.customers.selectors import (
    customer_by_card_number,
    customer_by_code,
    customer_by_email,
    customer_by_phone,
    masked_email,
)
from loyalty_platform.customers.services import customer_enroll, normalize_phone
from loyalty_platform.pos_api import serializers as s
from loyalty_platform.pos_api.authentication import (
    ActiveSubscriptionForWrites,
    ApiKeyAuthentication,
    HasApiKey,
)
from loyalty_platform.pos_api.idempotency import (
    Claim,
    Replay,
    Unclaimed,
    idempotency_claim,
    request_fingerprint,
)
from loyalty_platform.pos_api.parsers import ExactJSONParser
from loyalty_platform.pos_api.throttling import ApiKeyRateThrottle
from loyalty_platform.programs.selectors import card_balances
from loyalty_platform.programs.services import BalanceChange, customer_earn, customer_redeem
from loyalty_platform.verification.services import (
    customer_code_from_qr,
    manual_code_check,
    pin_gate,
)

_renderer = JSONRenderer()


def json_response(payload: dict, status: int = 200) -> HttpResponse:
    return HttpResponse(_renderer.render(payload), status=status, content_type="application/json")


def _envelope(name: str, data_serializer) -> object:
    return inline_serializer(name=name, fields={"data": data_serializer})


def _errors(*codes: str) -> OpenApiResponse:
    return OpenApiResponse(
        s.ErrorBody, description="Error codes: " + ", ".join(f"`{code}`" for code in codes)
    )


AUTH_ERRORS = ("invalid or missing API key",)  # 429 `too many requests`: see schema.py
PIN_ERRORS = (
    "pin_required (412)",
    "pin_invalid (422)",
    "pin_expired (422)",
    "pin_attempts_exceeded (429)",
    "pin_locked (423)",
    "pin_already_used (409)",
    "manual_code_disabled (422)",
)
IDEMPOTENCY_ERRORS = ("idempotency_key_reused (422)", "request_in_progress (409)")
BODY_ERRORS = ("invalid_json (400)", "invalid_body (422)", "unknown_field (422)")


class PosApiView(APIView):
    authentication_classes = [ApiKeyAuthentication]
    permission_classes = [HasApiKey, ActiveSubscriptionForWrites]
    throttle_classes = [ApiKeyRateThrottle]
    parser_classes = [ExactJSONParser]
    renderer_classes = [JSONRenderer]
    rate_limit_group = "transactions"

    @property
    def organization(self):
        return self.request._request.organization

    def run_once(
        self,
        *,
        endpoint: str,
        external_id: str | None,
        body: dict,
        perform: Callable[[Claim | Unclaimed], HttpResponse],
    ) -> HttpResponse:
        """Run `perform` at most once per external_id. `perform` gets the claim and hands it
        to render_in_transaction, which holds it and stores the response with the change."""
        if external_id is None:
            return perform(Unclaimed())
        claim = idempotency_claim(
            endpoint=endpoint,
            external_id=external_id,
            fingerprint=request_fingerprint(body),
            api_key_lookup_id=self.request.auth.lookup_id,
        )
        if isinstance(claim, Replay):
            return HttpResponse(claim.body, status=claim.status, content_type="application/json")
        try:
            return perform(claim)
        except BaseException:
            claim.release()
            raise

    def verify_pin(self, *, customer: Customer, action: str, data: dict):
        """The preset's PIN step for this call (see verification.services.pin_gate)."""
        return pin_gate(
            organization=self.organization,
            customer=customer,
            action=action,
            pin=data.get("verification_pin"),
            challenge_id=data.get("challenge_id"),
            api_key_lookup_id=self.request.auth.lookup_id,
        )

    def respond_once(
        self, *, endpoint: str, external_id: str | None, body: dict, build: Callable[[], dict]
    ) -> HttpResponse:
        """run_once for calls whose whole work happens in `build`, in one transaction."""
        return self.run_once(
            endpoint=endpoint,
            external_id=external_id,
            body=body,
            perform=lambda claim: render_in_transaction(claim, build),
        )


class BalanceChangeView(PosApiView):
    """Earn and redeem: one customer's balance changes, PIN-gated by the preset, at most once
    per external_id, and the customer's profile hears about it after commit."""

    def change_balance(
        self,
        request,
        data: dict,
        *,
        endpoint: str,
        action: str,
        change: Callable[[Customer, uuid.UUID | None], BalanceChange],
    ) -> HttpResponse:
        manual_code_check(organization=self.organization, manual_code=data["manual_code"])

        def perform(claim) -> HttpResponse:
            customer = _customer_or_404(data["customer_code"])
            challenge = self.verify_pin(customer=customer, action=action, data=data)

            def build() -> dict:
                return _balance_data(change(customer, challenge))

            return render_in_transaction(claim, build)

        return self.run_once(
            endpoint=endpoint, external_id=data["external_id"], body=request.data, perform=perform
        )


def render_in_transaction(claim: Claim | Unclaimed, build: Callable[[], dict]) -> HttpResponse:
    """Run `build` and store its rendered response with it, in one transaction that holds the
    external_id's claim from its first statement, so no retry can take it over meanwhile."""
    with transaction.atomic():
        claim.hold()
        body = _renderer.render({"data": build()})
        claim.complete(status=200, body=body)
    return HttpResponse(body, content_type="application/json")


def _customer_or_404(customer_code: int) -> Customer:
    customer = customer_by_code(customer_code)
    if customer is None:
        raise errors.CUSTOMER_NOT_FOUND()
    return customer


def _balance_data(change: BalanceChange) -> dict:
    data = {"stamps": change.stamps, "points": change.points}
    if change.coupon is not None:
        data["coupon"] = {
            "id": str(change.coupon.pk),
            "name": change.coupon.name,
            "qr_token": change.coupon.qr_token,
        }
    return data


def _customer_data(customer: Customer) -> dict:
    balances = card_balances(customer.pk)
    return {
        "customer_code": customer.customer_code,
        "masked_email": masked_email(customer.email),
        "stamp_count": balances.get("stamp", 0),
        "point_balance": balances.get("point", 0),
    }


class CustomerView(PosApiView):
    rate_limit_group = "customer"

    @extend_schema(
        operation_id="customer_find",
        summary="Identify a customer",
        parameters=[
            OpenApiParameter("code", int, description="6-digit customer code"),
            OpenApiParameter("qr", str, description="raw content of the customer's QR"),
            OpenApiParameter("email", str, description="extension: find by email"),
            OpenApiParameter("phone", str, description="extension: find by phone (E.164)"),
            OpenApiParameter("card_number", str, description="extension: find by printed card number"),
        ],
        responses={
            200: _envelope("CustomerFound", s.CustomerData()),
            400: _errors("code or qr is required"),
            404: _errors("customer_not_found"),
            422: _errors("invalid_qr", "customer_code_invalid", "phone_invalid"),
            401: _errors(*AUTH_ERRORS),
        },
    )
    def get(self, request):
        params = request.query_params
        if params.get("code") not in (None, ""):
            try:
                customer_code = s.CustomerCodeField().run_validation(params["code"])
            except ValidationError as error:
                raise errors.CUSTOMER_CODE_INVALID(field="code") from error
            customer = customer_by_code(customer_code)
        elif params.get("qr") not in (None, ""):
            customer = customer_by_code(
                customer_code_from_qr(organization=self.organization, payload=params["qr"])
            )
        elif params.get("email") not in (None, ""):
            customer = customer_by_email(params["email"][:254])
        elif params.get("phone") not in (None, ""):
            customer = customer_by_phone(normalize_phone(params["phone"][:32]))
        elif params.get("card_number") not in (None, ""):
            customer = customer_by_card_number(params["card_number"][:32])
        else:
            raise errors.CODE_OR_QR_REQUIRED()
        if customer is None:
            raise errors.CUSTOMER_NOT_FOUND()
        return json_response({"data": _customer_data(customer)})

    @extend_schema(
        operation_id="customer_enroll",
        summary="Enroll a customer (idempotent on email)",
        request=s.CustomerEnrollRequest,
        responses={
            200: _envelope("CustomerEnrolled", s.EnrolledCustomerData()),
            422: _errors(
                "email_required",
                "invalid_email",
                "consent_terms_required",
                "consent_privacy_required",
                "phone_invalid",
                *BODY_ERRORS,
            ),
            402: _errors("subscription_required"),
            401: _errors(*AUTH_ERRORS),
        },
    )
    def post(self, request):
        data = s.CustomerEnrollRequest(data=request.data).validated()
        customer, is_new = customer_enroll(
            email=data.get("email"),
            consent_terms=data["consent_terms"],
            consent_privacy=data["consent_privacy"],
            consent_marketing=data["consent_marketing"],
            name=data["name"],
            phone=data["phone"],
        )
        return json_response({"data": {**_customer_data(customer), "is_new": is_new}})


class EarnView(BalanceChangeView):
    @extend_schema(
        operation_id="earn",
        summary="Add points or stamps",
        request=s.EarnRequest,
        responses={
            200: _envelope("Earned", s.EarnData()),
            404: _errors("customer_not_found", "program_not_found"),
            422: _errors(
                "amount_invalid",
                "card_type_invalid",
                "external_id_required",
                "customer_code_invalid",
                *PIN_ERRORS,
                *IDEMPOTENCY_ERRORS,
                *BODY_ERRORS,
            ),
            402: _errors("subscription_required"),
            401: _errors(*AUTH_ERRORS),
        },
    )
    def post(self, request):
        data = s.EarnRequest(data=request.data).validated()
        return self.change_balance(
            request,
            data,
            endpoint="pos",
            action="earn",
            change=lambda customer, challenge: customer_earn(
                customer=customer,
                pin_challenge_id=challenge,
                amount=data["amount"],
                card_type=data["card_type"],
                external_id=data["external_id"],
                api_key_lookup_id=request.auth.lookup_id,
            ),
        )


class RedeemView(BalanceChangeView):
    @extend_schema(
        operation_id="redeem",
        summary="Take points or stamps",
        request=s.RedeemRequest,
        responses={
            200: _envelope("Redeemed", s.BalancesData()),
            404: _errors("customer_not_found", "program_not_found"),
            422: _errors(
                "insufficient_balance",
                "below_minimum",
                "value_invalid",
                "card_type_invalid",
                "external_id_required",
                *PIN_ERRORS,
                *IDEMPOTENCY_ERRORS,
                *BODY_ERRORS,
            ),
            402: _errors("subscription_required"),
            401: _errors(*AUTH_ERRORS),
        },
    )
    def post(self, request):
        data = s.RedeemRequest(data=request.data).validated()
        return self.change_balance(
            request,
            data,
            endpoint="redeem",
            action="redeem",
            change=lambda customer, challenge: customer_redeem(
                customer=customer,
                pin_challenge_id=challenge,
                value=data["value"],
                card_type=data["card_type"],
                external_id=data["external_id"],
                api_key_lookup_id=request.auth.lookup_id,
            ),
        )


def _coupon_data(coupon: Coupon) -> dict:
    return {
        "id": str(coupon.pk),
        "name": coupon.name,
        "status": coupon.status,
        "qr_token": coupon.qr_token,
        "issued_at": coupon.issued_at.isoformat(),
        "redeemed_at": coupon.redeemed_at.isoformat() if coupon.redeemed_at else None,
    }


class CouponRedeemView(PosApiView):
    @extend_schema(
        operation_id="coupon_redeem",
        summary="Redeem a coupon by its QR token",
        request=s.CouponRedeemRequest,
        responses={
            200: _envelope("CouponRedeemed", s.CouponData()),
            404: _errors("coupon_not_found"),
            409: _errors("coupon_already_used", "request_in_progress", "pin_already_used"),
            410: _errors("coupon_expired"),
            422: _errors("token_required", "token_invalid", *PIN_ERRORS, *BODY_ERRORS),
            402: _errors("subscription_required"),
            401: _errors(*AUTH_ERRORS),
        },
    )
    def post(self, request):
        data = s.CouponRedeemRequest(data=request.data).validated()
        manual_code_check(organization=self.organization, manual_code=data["manual_code"])

        def perform(claim) -> HttpResponse:
            coupon = coupon_by_token(data["token"])
            if coupon is None:
                raise errors.COUPON_NOT_FOUND()
            if coupon.status == Coupon.Status.REDEEMED:
                raise errors.COUPON_ALREADY_USED()  # no PIN prompt for a used coupon
            challenge = self.verify_pin(customer=coupon.customer, action="coupon_redeem", data=data)

            def build() -> dict:
                redeemed = coupon_redeem(
                    coupon_id=coupon.pk,
                    pin_challenge_id=challenge,
                    external_id=data.get("external_id", ""),
                    api_key_lookup_id=request.auth.lookup_id,
                )
                return _coupon_data(redeemed)

            return render_in_transaction(claim, build)

        return self.run_once(
            endpoint="coupons/redeem", external_id=data.get("external_id"), body=request.data, perform=perform
        )
