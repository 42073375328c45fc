"""Giftcards and prepaid credit at the POS. Money is exact: decimal strings out, numbers or
strings in, never more decimals than the organization's currency has."""

from collections.abc import Callable

from rest_framework import serializers

from loyalty_platform.core import errors
from loyalty_platform.core.money import money_amount
from loyalty_platform.pos_api import endpoints, pin_summaries
from loyalty_platform.pos_api import serializers as s
from loyalty_platform.pos_api.endpoints import Call, Command, PosApiView, Query
from loyalty_platform.pos_api.output import IsoDateTimeField, MoneyField, OmitNoneSerializer
from loyalty_platform.stored_value.codes import giftcard_code_normalize
from loyalty_platform.stored_value.services import (
    Transaction,
    giftcard_by_code,
    giftcard_create_digital,
    giftcard_status,
    giftcard_transact,
    money_entry_reverse,
    prepaid_balance,
    prepaid_pin_action,
    prepaid_transact,
    prepaid_transact_check,
)

GIFTCARD_CODE = endpoints.PathObject(
    missing=errors.GIFTCARD_NOT_FOUND,
    parse=lambda raw: giftcard_code_normalize(str(raw)),
    refusals=(errors.GIFTCARD_CODE_INVALID,),
)
TRANSACTION = endpoints.row_by_uuid(errors.TRANSACTION_NOT_FOUND)
GIFTCARD_TRANSACTION_ERRORS = (
    errors.GIFTCARD_NOT_FOUND,
    errors.GIFTCARD_BLOCKED,
    errors.GIFTCARD_EXPIRED,
    errors.GIFTCARD_CODE_INVALID,
    errors.AMOUNT_INVALID,
    errors.INSUFFICIENT_BALANCE,
)


class MoneyTransactionData(OmitNoneSerializer):
    transaction_id = serializers.UUIDField(source="entry.pk")
    amount = MoneyField(source="entry.amount")
    balance = MoneyField()
    remaining_to_pay = MoneyField(
        required=False, allow_null=True, help_text="Present after a partial payment."
    )
    omit_when_none = ("remaining_to_pay",)


class DigitalGiftcardData(MoneyTransactionData):
    code = serializers.CharField(source="entry.giftcard.code")


class ReversedTransactionData(MoneyTransactionData):
    reversed_transaction_id = serializers.SerializerMethodField()

    def get_reversed_transaction_id(self, result: Transaction) -> str:
        return str(self.context["call"].path["transaction_id"])


class GiftcardData(serializers.Serializer):
    code = serializers.CharField()
    balance = MoneyField(currency_source="currency")
    currency = serializers.CharField()
    status = serializers.SerializerMethodField()
    expires_at = IsoDateTimeField(allow_null=True)
    kind = serializers.ChoiceField(choices=["printed", "digital"])

    def get_status(self, giftcard) -> str:
        return giftcard_status(giftcard)


class PrepaidData(serializers.Serializer):
    customer_code = serializers.IntegerField(source="customer.customer_code")
    balance = MoneyField(currency_source="currency")
    currency = serializers.CharField()


TRANSACTION_EXAMPLE = {
    "transaction_id": "9d2c7b1a-6e5f-4a3b-8c9d-0e1f2a3b4c5d",
    "amount": "-12.50",
    "balance": "37.50",
}


class GiftcardView(PosApiView):
    path = {"code": GIFTCARD_CODE}
    get = Query("giftcard_find", GiftcardData, lambda call: giftcard_by_code(call.path["code"]))


def giftcard_transaction(call: Call) -> Transaction:
    return giftcard_transact(
        code=call.path["code"],
        amount=money_amount(call.data["amount"], call.currency),
        **call.arguments("external_id", "allow_partial"),
    )


def transaction_operation(account_kind: str, perform: Callable[[Call], Transaction], **declared) -> Command:
    """A load (positive amount) or a payment (negative) on a giftcard or on a customer's
    prepaid credit: the same request and answer for both."""
    return Command(
        f"{account_kind}_transaction",
        s.StoredValueTransactionRequest,
        MoneyTransactionData,
        perform,
        **declared,
    )


class GiftcardTransactionsView(PosApiView):
    path = {"code": GIFTCARD_CODE}
    post = transaction_operation(
        "giftcard", giftcard_transaction, once="giftcards/transactions", errors=GIFTCARD_TRANSACTION_ERRORS
    )


def giftcard_sell(call: Call) -> Transaction:
    return giftcard_create_digital(
        amount=money_amount(call.data["amount"], call.currency, allow_negative=False),
        currency=call.currency,
        recipient_email=call.data["recipient_email"].strip(),
        **call.arguments("recipient_name", "sender_name", "message", "external_id"),
    )


class GiftcardCreateView(PosApiView):
    post = Command(
        "giftcard_create_digital",
        s.DigitalGiftcardRequest,
        DigitalGiftcardData,
        giftcard_sell,
        once="giftcards",
        errors=(errors.AMOUNT_INVALID, errors.RECIPIENT_EMAIL_INVALID),
    )


def reverse_operation(account_kind: str) -> Command:
    def reverse(call: Call) -> Transaction:
        return money_entry_reverse(
            entry_id=call.path["transaction_id"], account_kind=account_kind, **call.arguments("external_id")
        )

    return Command(
        f"{account_kind}_transaction_reverse",
        s.ReverseRequest,
        ReversedTransactionData,
        reverse,
        once=f"{account_kind}-transactions/reverse",
        errors=(
            errors.TRANSACTION_NOT_FOUND,
            errors.TRANSACTION_ALREADY_REVERSED,
            errors.REVERSAL_NOT_REVERSIBLE,
            errors.INSUFFICIENT_BALANCE,
            *((errors.CUSTOMER_BLOCKED,) if account_kind == "prepaid" else ()),
        ),
    )


class GiftcardTransactionReverseView(PosApiView):
    path = {"transaction_id": TRANSACTION}
    post = reverse_operation("giftcard")


class PrepaidTransactionReverseView(PosApiView):
    path = {"transaction_id": TRANSACTION}
    post = reverse_operation("prepaid")


def prepaid_balance_call(call: Call) -> dict:
    balance, currency = prepaid_balance(customer=call.customer, currency=call.currency)
    return {"customer": call.customer, "balance": balance, "currency": currency}


class PrepaidView(PosApiView):
    path = {"customer_code": endpoints.CUSTOMER}
    get = Query("prepaid_balance", PrepaidData, prepaid_balance_call)


def prepaid_check(call: Call) -> None:
    call.extra["amount"] = money_amount(call.data["amount"], call.currency)
    prepaid_transact_check(
        customer=call.customer, amount=call.extra["amount"], allow_partial=call.data["allow_partial"]
    )


def prepaid_transaction(call: Call) -> Transaction:
    return prepaid_transact(
        customer=call.customer,
        amount=call.extra["amount"],
        currency=call.currency,
        **call.arguments("external_id", "allow_partial", pin=True),
    )


def prepaid_pin_action_of(call: Call) -> str | None:
    return prepaid_pin_action(amount=money_amount(call.data["amount"], call.currency))


class PrepaidTransactionsView(PosApiView):
    path = {"customer_code": endpoints.CUSTOMER}
    post = transaction_operation(
        "prepaid",
        prepaid_transaction,
        once="prepaid/transactions",
        pin_action=prepaid_pin_action_of,
        pin_summary=pin_summaries.prepaid_summary,
        check=prepaid_check,
        errors=(
            errors.CUSTOMER_NOT_FOUND,
            errors.AMOUNT_INVALID,
            errors.INSUFFICIENT_BALANCE,
            errors.CUSTOMER_BLOCKED,
        ),
    )
