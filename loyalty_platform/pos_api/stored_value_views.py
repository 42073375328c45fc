"""Giftcards and prepaid credit at the POS. Money is exact: decimal strings out, numbers or
strings in, never more decimals than the organization's currency has."""

import uuid
from decimal import Decimal

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.http import HttpResponse
from drf_spectacular.utils import extend_schema

from loyalty_platform.core import errors
from loyalty_platform.core.money import money_amount, money_text
from loyalty_platform.pos_api import serializers as s
from loyalty_platform.pos_api.views import (
    AUTH_ERRORS,
    BODY_ERRORS,
    IDEMPOTENCY_ERRORS,
    PIN_ERRORS,
    PosApiView,
    _customer_or_404,
    _envelope,
    _errors,
    json_response,
    render_in_transaction,
)
from loyalty_platform.stored_value.codes import giftcard_code_normalize
from loyalty_platform.stored_value.models import PrepaidAccount
from loyalty_platform.stored_value.services import (
    Transaction,
    giftcard_by_code,
    giftcard_create_digital,
    giftcard_status,
    giftcard_transact,
    money_entry_reverse,
    prepaid_transact,
)
from loyalty_platform.verification.services import manual_code_check

MONEY_ERRORS = ("amount_invalid", "insufficient_balance", "external_id_required")


def _transaction_data(result: Transaction, currency: str, **extra) -> dict:
    data = {
        "transaction_id": str(result.entry.pk),
        "amount": money_text(result.entry.amount, currency),
        "balance": money_text(result.balance, currency),
        **extra,
    }
    if result.remaining_to_pay is not None:
        data["remaining_to_pay"] = money_text(result.remaining_to_pay, currency)
    return data


def _transaction_id(raw: str) -> uuid.UUID:
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise errors.TRANSACTION_NOT_FOUND() from None


class GiftcardView(PosApiView):
    rate_limit_group = "customer"

    @extend_schema(
        operation_id="giftcard_find",
        summary="Look up a giftcard",
        responses={
            200: _envelope("GiftcardFound", s.GiftcardData()),
            404: _errors("giftcard_not_found"),
            422: _errors("giftcard_code_invalid"),
            401: _errors(*AUTH_ERRORS),
        },
    )
    def get(self, request, code: str):
        giftcard = giftcard_by_code(code)
        return json_response(
            {
                "data": {
                    "code": giftcard.code,
                    "balance": money_text(giftcard.balance, giftcard.currency),
                    "currency": giftcard.currency,
                    "status": giftcard_status(giftcard),
                    "expires_at": giftcard.expires_at.isoformat() if giftcard.expires_at else None,
                    "kind": giftcard.kind,
                }
            }
        )


class GiftcardTransactionsView(PosApiView):
    @extend_schema(
        operation_id="giftcard_transaction",
        summary="Load (positive amount) or pay (negative amount) with a giftcard",
        request=s.StoredValueTransactionRequest,
        responses={
            200: _envelope("GiftcardTransaction", s.MoneyTransactionData()),
            404: _errors("giftcard_not_found"),
            409: _errors("giftcard_blocked", *IDEMPOTENCY_ERRORS),
            410: _errors("giftcard_expired"),
            422: _errors("giftcard_code_invalid", *MONEY_ERRORS, *BODY_ERRORS),
            402: _errors("subscription_required"),
            401: _errors(*AUTH_ERRORS),
        },
    )
    def post(self, request, code: str):
        data = s.StoredValueTransactionRequest(data=request.data).validated()
        giftcard_code = giftcard_code_normalize(code)
        currency = self.organization.currency
        amount = money_amount(data["amount"], currency)

        def build() -> dict:
            result = giftcard_transact(
                code=giftcard_code,
                amount=amount,
                external_id=data["external_id"],
                allow_partial=data["allow_partial"],
                api_key_lookup_id=request.auth.lookup_id,
            )
            return _transaction_data(result, currency)

        return self.respond_once(
            endpoint="giftcards/transactions",
            external_id=data["external_id"],
            body={**request.data, "_path": {"code": giftcard_code}},
            build=build,
        )


class GiftcardCreateView(PosApiView):
    @extend_schema(
        operation_id="giftcard_create_digital",
        summary="Sell a digital giftcard: create, load and email it",
        request=s.DigitalGiftcardRequest,
        responses={
            200: _envelope("GiftcardCreated", s.MoneyTransactionData()),
            422: _errors("amount_invalid", "recipient_email_invalid", *BODY_ERRORS),
            402: _errors("subscription_required"),
            401: _errors(*AUTH_ERRORS),
        },
    )
    def post(self, request):
        data = s.DigitalGiftcardRequest(data=request.data).validated()
        currency = self.organization.currency
        amount = money_amount(data["amount"], currency, allow_negative=False)
        try:
            validate_email(data["recipient_email"])
        except DjangoValidationError:
            raise errors.RECIPIENT_EMAIL_INVALID(field="recipient_email") from None

        def build() -> dict:
            result = giftcard_create_digital(
                amount=amount,
                currency=currency,
                recipient_email=data["recipient_email"].strip(),
                recipient_name=data["recipient_name"],
                sender_name=data["sender_name"],
                message=data["message"],
                external_id=data["external_id"],
                api_key_lookup_id=request.auth.lookup_id,
            )
            return _transaction_data(result, currency, code=result.entry.giftcard.code)

        return self.respond_once(
            endpoint="giftcards", external_id=data["external_id"], body=request.data, build=build
        )


class ReverseView(PosApiView):
    account_kind = ""

    def post(self, request, transaction_id: str):
        data = s.ReverseRequest(data=request.data).validated()
        entry_id = _transaction_id(transaction_id)
        currency = self.organization.currency

        def build() -> dict:
            result = money_entry_reverse(
                entry_id=entry_id,
                account_kind=self.account_kind,
                external_id=data["external_id"],
                api_key_lookup_id=request.auth.lookup_id,
            )
            return _transaction_data(result, currency, reversed_transaction_id=str(entry_id))

        return self.respond_once(
            endpoint=f"{self.account_kind}-transactions/reverse",
            external_id=data["external_id"],
            # The path names what is reversed: the same external_id on another transaction
            # is a different request.
            body={**request.data, "_path": {"transaction_id": str(entry_id)}},
            build=build,
        )


REVERSE_RESPONSES = {
    200: _envelope("Reversed", s.MoneyTransactionData()),
    404: _errors("transaction_not_found"),
    409: _errors("transaction_already_reversed", *IDEMPOTENCY_ERRORS),
    422: _errors("reversal_not_reversible", "insufficient_balance", "external_id_required", *BODY_ERRORS),
    402: _errors("subscription_required"),
    401: _errors(*AUTH_ERRORS),
}


class GiftcardTransactionReverseView(ReverseView):
    account_kind = "giftcard"

    @extend_schema(
        operation_id="giftcard_transaction_reverse",
        summary="Reverse a giftcard transaction (once)",
        request=s.ReverseRequest,
        responses=REVERSE_RESPONSES,
    )
    def post(self, request, transaction_id: str):
        return super().post(request, transaction_id)


class PrepaidTransactionReverseView(ReverseView):
    account_kind = "prepaid"

    @extend_schema(
        operation_id="prepaid_transaction_reverse",
        summary="Reverse a prepaid transaction (once)",
        request=s.ReverseRequest,
        responses=REVERSE_RESPONSES,
    )
    def post(self, request, transaction_id: str):
        return super().post(request, transaction_id)


class PrepaidView(PosApiView):
    rate_limit_group = "customer"

    @extend_schema(
        operation_id="prepaid_balance",
        summary="A customer's prepaid balance",
        responses={
            200: _envelope("Prepaid", s.PrepaidData()),
            404: _errors("customer_not_found"),
            401: _errors(*AUTH_ERRORS),
        },
    )
    def get(self, request, customer_code: int):
        customer = _customer_or_404(customer_code)
        account = PrepaidAccount.objects.filter(customer=customer).first()
        currency = account.currency if account else self.organization.currency
        balance = account.balance if account else Decimal("0")
        return json_response(
            {
                "data": {
                    "customer_code": customer.customer_code,
                    "balance": money_text(balance, currency),
                    "currency": currency,
                }
            }
        )


class PrepaidTransactionsView(PosApiView):
    @extend_schema(
        operation_id="prepaid_transaction",
        summary="Top up (positive amount) or pay (negative amount) with prepaid credit",
        request=s.StoredValueTransactionRequest,
        responses={
            200: _envelope("PrepaidTransaction", s.MoneyTransactionData()),
            404: _errors("customer_not_found"),
            422: _errors(*MONEY_ERRORS, *PIN_ERRORS, *BODY_ERRORS),
            409: _errors(*IDEMPOTENCY_ERRORS),
            402: _errors("subscription_required"),
            401: _errors(*AUTH_ERRORS),
        },
    )
    def post(self, request, customer_code: int):
        data = s.StoredValueTransactionRequest(data=request.data).validated()
        currency = self.organization.currency
        amount = money_amount(data["amount"], currency)
        manual_code_check(organization=self.organization, manual_code=data["manual_code"])

        def perform(claim) -> HttpResponse:
            customer = _customer_or_404(customer_code)
            challenge = None
            if amount < 0:
                challenge = self.verify_pin(customer=customer, action="prepaid_pay", data=data)

            def build() -> dict:
                result = prepaid_transact(
                    customer=customer,
                    pin_challenge_id=challenge,
                    amount=amount,
                    currency=currency,
                    external_id=data["external_id"],
                    allow_partial=data["allow_partial"],
                    api_key_lookup_id=request.auth.lookup_id,
                )
                return _transaction_data(result, currency)

            return render_in_transaction(claim, build)

        return self.run_once(
            endpoint="prepaid/transactions",
            external_id=data["external_id"],
            body={**request.data, "_path": {"customer_code": customer_code}},
            perform=perform,
        )
