"""Customers, earn, redeem and coupons at the POS (contract: shared/contracts/pos-webhooks.md).
Each operation is a declaration run by endpoints.py; the work is the service's."""

from collections.abc import Callable

from drf_spectacular.utils import OpenApiParameter, extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import ValidationError

from loyalty_platform.core import errors
from loyalty_platform.coupons.models import Coupon
from loyalty_platform.coupons.selectors import coupon_by_token
from loyalty_platform.coupons.services import coupon_redeem, coupon_redeem_check
from loyalty_platform.customers.models import Customer
from loyalty_platform.customers.selectors import (
    customer_by_card_number,
    customer_by_code,
    customer_by_email,
    customer_by_phone,
    masked_email,
)
from loyalty_platform.customers.services import customer_enroll, normalize_phone
from loyalty_platform.identification.joining import Enrollment, customer_phone_enroll
from loyalty_platform.identification.services import invitation_channel
from loyalty_platform.pos_api import pin_summaries
from loyalty_platform.pos_api import serializers as s
from loyalty_platform.pos_api.campaigns_views import CampaignData, campaigns_for_customer
from loyalty_platform.pos_api.endpoints import Call, Command, PosApiView, Query
from loyalty_platform.pos_api.output import (
    ExpiringPointsData,
    IsoDateTimeField,
    OmitNoneSerializer,
    campaign_shares_field,
    customer_status_field,
)
from loyalty_platform.programs.reversals import (
    Reversal,
    ReversalOriginal,
    loyalty_transaction_reverse,
    reversal_original,
)
from loyalty_platform.programs.selectors import card_balances, points_expiring_soon
from loyalty_platform.programs.services import (
    BalanceChange,
    customer_earn,
    customer_earn_check,
    customer_redeem,
    customer_redeem_check,
)
from loyalty_platform.verification.services import customer_code_from_qr


class CustomerBrief(serializers.Serializer):
    """A customer as the contract shows them."""

    customer_code = serializers.IntegerField()
    masked_email = serializers.CharField()
    stamp_count = serializers.IntegerField()
    point_balance = serializers.IntegerField()
    status = customer_status_field()

    def to_representation(self, customer: Customer) -> dict:
        balances = card_balances(customer.pk)
        return {
            "customer_code": customer.customer_code,
            "masked_email": masked_email(customer.email),
            "stamp_count": balances.get("stamp", 0),
            "point_balance": balances.get("point", 0),
            "status": customer.status,
        }


@extend_schema_field(CampaignData(many=True))
class CampaignsOfCustomerField(serializers.Field):
    """The campaigns on now that apply to the customer (read from the cached running ones:
    nothing is read while none is on)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("read_only", True)
        kwargs.setdefault("source", "*")
        super().__init__(**kwargs)

    def to_representation(self, customer: Customer) -> list:
        return CampaignData(campaigns_for_customer(customer), many=True, context=self.context).data


class CustomerData(CustomerBrief):
    """The look-up's body: the contract's, plus `campaigns` only when some apply and
    `points_expiring` only when some points expire within 30 days (the contract pins the body
    without them; docs/decisions/0040-campaign-boosts.md, 0047-expiring-points-display.md)."""

    campaigns = CampaignsOfCustomerField(
        required=False, help_text="Present only when campaigns on now apply to the customer."
    )
    points_expiring = ExpiringPointsData(
        required=False,
        help_text="Present only when some of the customer's points expire within the next 30 days.",
    )
    omit_when_none = ("campaigns", "points_expiring")  # for the schema: not always there

    def to_representation(self, customer: Customer) -> dict:
        data = super().to_representation(customer)
        campaigns = self.fields["campaigns"].to_representation(customer)
        if campaigns:
            data["campaigns"] = campaigns
        expiring = points_expiring_soon(customer.pk)
        if expiring.points:
            data["points_expiring"] = expiring.as_json()
        return data


class EnrolledCustomerData(CustomerBrief):
    """The contract's body; for a member enrolled by phone (pending until they finish joining
    by the link texted to them) also `invitation_id` and `channel`, where the till hears
    invitation_accepted when they have (docs/decisions/0052-joining-by-phone.md)."""

    is_new = serializers.BooleanField()
    invitation_id = serializers.CharField(
        required=False,
        help_text="Only for a pending member enrolled by phone: poll it at /customer/invitations/<id>.",
    )
    channel = serializers.CharField(
        required=False, help_text="Only for a pending member enrolled by phone: invitation.<invitation_id>."
    )

    def to_representation(self, enrolled: Enrollment) -> dict:
        data = {**super().to_representation(enrolled.customer), "is_new": enrolled.is_new}
        if enrolled.invitation is not None:
            data["invitation_id"] = enrolled.invitation.pk
            data["channel"] = invitation_channel(enrolled.invitation.pk)
        return data


class CouponBrief(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    qr_token = serializers.CharField()


class BalancesData(serializers.Serializer):
    stamps = serializers.IntegerField(help_text="Stamp balance after the call.")
    points = serializers.IntegerField(help_text="Point balance after the call.")


class EarnData(OmitNoneSerializer, BalancesData):
    coupon = CouponBrief(required=False, allow_null=True, help_text="Present when a stamp card filled.")
    campaigns = campaign_shares_field()
    omit_when_none = ("coupon", "campaigns")


class CouponData(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    status = serializers.ChoiceField(choices=Coupon.Status.values)
    qr_token = serializers.CharField()
    issued_at = IsoDateTimeField()
    redeemed_at = IsoDateTimeField(allow_null=True)


LOOKUPS = (
    ("code", "6-digit customer code"),
    ("qr", "raw content of the customer's QR"),
    ("email", "extension: find by email"),
    ("phone", "extension: find by phone (E.164)"),
    ("card_number", "extension: find by printed card number"),
)


def customer_find(call: Call) -> Customer:
    params = call.request.query_params
    given = next((name for name, _ in LOOKUPS if params.get(name) not in (None, "")), None)
    if given == "code":
        try:
            customer = customer_by_code(s.CustomerCodeField().run_validation(params["code"]))
        except ValidationError as error:
            raise errors.CUSTOMER_CODE_INVALID(field="code") from error
    elif given == "qr":
        customer = customer_by_code(
            customer_code_from_qr(organization=call.organization, payload=params["qr"])
        )
    elif given == "email":
        customer = customer_by_email(params["email"][:254])
    elif given == "phone":
        customer = customer_by_phone(normalize_phone(params["phone"][:32]))
    elif given == "card_number":
        customer = customer_by_card_number(params["card_number"][:32])
    else:
        raise errors.CODE_OR_QR_REQUIRED()
    if customer is None:
        raise errors.CUSTOMER_NOT_FOUND()
    return customer


def customer_enroll_call(call: Call) -> Enrollment:
    data = call.data
    if data.get("email") in (None, "") and data["phone"]:
        # No email but a phone: joining by phone, where the organization allows it (else
        # email_required, as without a phone).
        return customer_phone_enroll(
            phone=data["phone"],
            name=data["name"],
            birth_date=data.get("birth_date"),
            api_key_lookup_id=call.api_key_lookup_id,
        )
    customer, is_new = customer_enroll(
        email=data.get("email"),
        consent_terms=data["consent_terms"],
        consent_privacy=data["consent_privacy"],
        consent_marketing=data["consent_marketing"],
        name=data["name"],
        phone=data["phone"],
        birth_date=data.get("birth_date"),
        source="pos_api",
    )
    return Enrollment(customer=customer, is_new=is_new)


LOOKUP_PARAMETERS = tuple(
    OpenApiParameter(name, int if name == "code" else str, description=text) for name, text in LOOKUPS
)
FIND_ERRORS = (
    errors.CODE_OR_QR_REQUIRED,
    errors.CUSTOMER_NOT_FOUND,
    errors.INVALID_QR,
    errors.CUSTOMER_CODE_INVALID,
    errors.PHONE_INVALID,
)
ENROLL_ERRORS = (
    errors.EMAIL_REQUIRED,
    errors.INVALID_EMAIL,
    errors.CONSENT_TERMS_REQUIRED,
    errors.CONSENT_PRIVACY_REQUIRED,
    errors.PHONE_INVALID,
    errors.PLAN_LIMIT_REACHED,
    errors.BIRTH_DATE_INVALID,
)


class CustomerView(PosApiView):
    get = Query(
        "customer_find", CustomerData, customer_find, parameters=LOOKUP_PARAMETERS, errors=FIND_ERRORS
    )
    post = Command(
        "customer_enroll",
        s.CustomerEnrollRequest,
        EnrolledCustomerData,
        customer_enroll_call,
        rate_limit="customer",
        errors=ENROLL_ERRORS,
    )


def earn(call: Call) -> BalanceChange:
    return customer_earn(
        customer=call.customer,
        shop_id=call.api_key.shop_id,
        **call.arguments("amount", "card_type", "external_id", pin=True),
    )


def redeem(call: Call) -> BalanceChange:
    return customer_redeem(
        customer=call.customer,
        shop_id=call.api_key.shop_id,
        **call.arguments("value", "card_type", "external_id", pin=True),
    )


def earn_check(call: Call) -> None:
    customer_earn_check(
        customer=call.customer,
        amount=call.data["amount"],
        card_type=call.data["card_type"],
        read_card=call.pin_step,
    )


def redeem_check(call: Call) -> None:
    customer_redeem_check(customer=call.customer, value=call.data["value"], card_type=call.data["card_type"])


BLOCKED_ERRORS = (errors.CUSTOMER_BLOCKED, errors.CARD_BLOCKED)
EARN_ERRORS = (
    errors.CUSTOMER_NOT_FOUND,
    errors.PROGRAM_NOT_FOUND,
    errors.AMOUNT_INVALID,
    errors.CARD_TYPE_INVALID,
    errors.BALANCE_LIMIT_EXCEEDED,
    *BLOCKED_ERRORS,
)
REDEEM_ERRORS = (
    errors.CUSTOMER_NOT_FOUND,
    errors.PROGRAM_NOT_FOUND,
    errors.INSUFFICIENT_BALANCE,
    errors.BELOW_MINIMUM,
    *BLOCKED_ERRORS,
)


class EarnView(PosApiView):
    post = Command(
        "earn",
        s.EarnRequest,
        EarnData,
        earn,
        once="pos",
        pin_action="earn",
        pin_summary=pin_summaries.earn_summary,
        check=earn_check,
        errors=EARN_ERRORS,
    )


class RedeemView(PosApiView):
    post = Command(
        "redeem",
        s.RedeemRequest,
        BalancesData,
        redeem,
        once="redeem",
        pin_action="redeem",
        pin_summary=pin_summaries.redeem_summary,
        check=redeem_check,
        errors=REDEEM_ERRORS,
    )


def acting_on(name: str, find: Callable[[Call], object]) -> dict:
    """The `check` and `pin_customer` of an operation on something the body names instead of
    a customer (a coupon, an earlier sale): `find` makes its refusals and loads it before any
    PIN step, the operation gets it as call.extra[name], and its customer is asked the PIN."""

    def check(call: Call) -> None:
        call.extra[name] = find(call)

    return {"check": check, "pin_customer": lambda call: call.extra[name].customer}


def usable_coupon(call: Call) -> Coupon:
    coupon = coupon_by_token(call.data["token"])
    coupon_redeem_check(coupon=coupon)  # no PIN prompt for a coupon that cannot be used
    return coupon


def coupon_redeem_call(call: Call) -> Coupon:
    return coupon_redeem(coupon_id=call.extra["coupon"].pk, **call.arguments("external_id", pin=True))


class CouponRedeemView(PosApiView):
    post = Command(
        "coupon_redeem",
        s.CouponRedeemRequest,
        CouponData,
        coupon_redeem_call,
        once="coupons/redeem",
        pin_action="coupon_redeem",
        pin_summary=pin_summaries.coupon_summary,
        **acting_on("coupon", usable_coupon),
        errors=(
            errors.COUPON_NOT_FOUND,
            errors.COUPON_ALREADY_USED,
            errors.COUPON_EXPIRED,
            errors.CUSTOMER_BLOCKED,
            errors.COUPON_HELD_ELSEWHERE,
        ),
    )


class ReverseTransactionRequest(s.VerificationFieldsMixin, s.PosRequestSerializer):
    external_id = s.StrictCharField(max_length=128, help_text="The reversal's own idempotency key.")
    reason = s.StrictCharField(required=False, max_length=255, allow_blank=True, default="")
    kind = serializers.ChoiceField(
        choices=["earn", "redeem"],
        required=False,
        help_text="Which call the path's external_id names, when both an earn and a redeem used it.",
    )


class ReversalData(OmitNoneSerializer):
    reversed = serializers.CharField(help_text="The reversed call's external_id.")
    kind = serializers.ChoiceField(choices=["earn", "redeem"])
    stamps = serializers.IntegerField(help_text="Stamp balance after the reversal.")
    points = serializers.IntegerField(help_text="Point balance after the reversal.")
    points_unrecovered = serializers.IntegerField(
        help_text="Points already spent, which could not be taken back."
    )
    stamps_unrecovered = serializers.IntegerField()
    coupon_already_used = serializers.BooleanField(help_text="A coupon the earn issued was used: it stays.")
    campaigns = campaign_shares_field()
    omit_when_none = ("campaigns",)


def original_to_reverse(call: Call) -> ReversalOriginal:
    return reversal_original(
        original_external_id=call.path["original_external_id"], kind=call.data.get("kind")
    )


def reverse_transaction(call: Call) -> Reversal:
    return loyalty_transaction_reverse(
        original_external_id=call.path["original_external_id"],
        **call.arguments("external_id", "kind", "reason", pin=True),
    )


class TransactionReverseView(PosApiView):
    post = Command(
        "transaction_reverse",
        ReverseTransactionRequest,
        ReversalData,
        reverse_transaction,
        once="transactions/reverse",
        pin_action="reverse",
        **acting_on("original", original_to_reverse),
        errors=(
            errors.TRANSACTION_NOT_FOUND,
            errors.TRANSACTION_ALREADY_REVERSED,
            errors.TRANSACTION_AMBIGUOUS,
            errors.BALANCE_LIMIT_EXCEEDED,
            errors.REVERSAL_NOT_REVERSIBLE,
            *BLOCKED_ERRORS,
        ),
    )
