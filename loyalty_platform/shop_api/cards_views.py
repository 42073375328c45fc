"""Loyalty cards and transactions of the Shop API.

A loyalty card is a card of the organization's active point program (`card_id` = Card.pk);
`user_id` is the customer's pk. Look-ups that name a customer by card (`/loyalty-cards/info`,
`/loyalty-cards/balance`, a transaction's `loyalty_card_id`) take their stamp card too and
answer the card that card_data names (identification.services), as the QR card scan does.

Transactions change points through the POS API's services only: a purchase is
programs.services.customer_purchase (a redeem of `points_redeemed`, then an earn on the part
paid with money, or exactly `points`), or orders.services.order_create when it has
`cart_items` (earning rules, excluded categories, tiers); a cancellation or refund reverses a
purchase's earn and redeem (programs.reversals.purchase_reverse) or returns an order
(order_return). Idempotency is the command flow's, on `order_id`: one record space per
transaction type, so a cancellation may carry the order_id of the purchase it cancels.
"""

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal

from django.db.models import QuerySet
from django.utils import timezone
from rest_framework import serializers

from loyalty_platform.branding.selectors import logo_url
from loyalty_platform.core import errors
from loyalty_platform.core.money import MAX_AMOUNT, currency_exponent, exact_decimal, money_text
from loyalty_platform.core.text import ascii_digits
from loyalty_platform.customers.blocks import refuse_blocked_customer
from loyalty_platform.customers.models import Customer
from loyalty_platform.customers.selectors import customer_by_email
from loyalty_platform.identification.services import card_data, organization_base_url
from loyalty_platform.orders.models import Order
from loyalty_platform.orders.selectors import order_by_external_id
from loyalty_platform.orders.services import (
    order_create,
    order_create_check,
    order_pin_action_for,
    order_return,
    point_program_or_404,
)
from loyalty_platform.pos_api import pin_summaries
from loyalty_platform.pos_api import serializers as s
from loyalty_platform.pos_api.endpoints import Call, PathObject
from loyalty_platform.pos_api.idempotency import OnceKey
from loyalty_platform.pos_api.models import IdempotencyRecord
from loyalty_platform.pos_api.orders_views import LINE_FIELDS, parse_order_lines, parse_return_lines
from loyalty_platform.pos_api.output import (
    ExpiringPointsData,
    IsoDateTimeField,
    OmitNoneSerializer,
    campaign_shares_field,
)
from loyalty_platform.profile.selectors import points_worth
from loyalty_platform.programs.models import Card, LedgerEntry, PointLot, Program
from loyalty_platform.programs.reversals import purchase_reversal_originals, purchase_reverse
from loyalty_platform.programs.selectors import (
    EXPIRING_SOON_DAYS,
    active_program,
    active_programs,
    card_balances,
    points_expiring_soon,
)
from loyalty_platform.programs.services import customer_purchase, customer_purchase_check
from loyalty_platform.shop_api.wire import (
    PageParams,
    ShopApiView,
    ShopCommand,
    ShopParams,
    ShopQuery,
    id_field,
    paginate,
)
from loyalty_platform.shops.selectors import open_shop
from loyalty_platform.verification.models import PinChallenge
from loyalty_platform.verification.services import pin_challenge_spend

POINT = Program.Kind.POINT
Cause = LedgerEntry.Cause
MAX_ID = 2**62
MAX_POINTS = 2**31 - 1
META_DATA_MAX_BYTES = 2048
META_DATA_MAX_DEPTH = 8

# The ledger's causes as the SDK's PointsTransaction types (stamp cards are not listed).
TYPE_CAUSES = {
    "earned": (Cause.EARN, Cause.ORDER, Cause.CAMPAIGN),
    "redeemed": (Cause.REDEEM,),
    "expired": (Cause.EXPIRE,),
    "adjusted": (Cause.ADJUST, Cause.REWARD),
    "refunded": (Cause.REFUND, Cause.RETURN, Cause.REVERSAL),
}
TYPE_OF_CAUSE = {cause: kind for kind, causes in TYPE_CAUSES.items() for cause in causes}
PURCHASE, CANCELLATION, REFUND = "purchase", "cancellation", "refund"
TRANSACTION_ONCE = "shop_transaction"  # the purchases' idempotency records; the others' add their type


# --- Finding cards and customers ---------------------------------------------------------------


def loyalty_cards() -> QuerySet[Card]:
    """The organization's loyalty cards: those of its active point program, of customers who
    have not closed their account."""
    program = active_program(POINT)
    if program is None:
        return Card.objects.none()
    return (
        Card.objects.filter(program=program)
        .exclude(customer__status=Customer.Status.DELETED)
        .select_related("customer")
    )


def _cards_naming_a_customer() -> QuerySet[Card]:
    return (
        Card.objects.filter(program__in=list(active_programs().values()))
        .exclude(customer__status=Customer.Status.DELETED)
        .select_related("customer")
    )


def named_customer(
    *,
    user_id: int | None = None,
    user_email: str | None = None,
    card_id: int | None = None,
    card_number: str | None = None,
    missing: errors.ErrorType,
) -> Customer:
    """The customer every given identifier names (customer_mismatch when they differ);
    `missing` when none is given."""
    found = []
    if user_id is not None:
        found.append(Customer.objects.exclude(status=Customer.Status.DELETED).filter(pk=user_id).first())
        if found[-1] is None:
            raise errors.CUSTOMER_NOT_FOUND()
    if user_email is not None:
        found.append(customer_by_email(user_email))
        if found[-1] is None:
            raise errors.CUSTOMER_NOT_FOUND()
    for lookup, value in (("pk", card_id), ("card_number", card_number)):
        if value is not None:
            card = _cards_naming_a_customer().filter(**{lookup: value}).first()
            if card is None:
                raise errors.LOYALTY_CARD_NOT_FOUND()
            found.append(card.customer)
    if not found:
        raise missing()
    if len({customer.pk for customer in found}) > 1:
        raise errors.CUSTOMER_MISMATCH()
    return found[0]


def parse_card_id(raw: object) -> int | None:
    text = str(raw)
    if not ascii_digits(text) or len(text) > 19:
        return None
    value = int(text)
    return value if 1 <= value <= MAX_ID else None


LOYALTY_CARD = PathObject(
    missing=errors.LOYALTY_CARD_NOT_FOUND,
    parse=parse_card_id,
    fetch=lambda pk: loyalty_cards().filter(pk=pk).first(),
)


# --- Cards -------------------------------------------------------------------------------------


def _brand(context: dict) -> dict:
    """The organization's name, colour and logo as every card shows them (read once a call)."""
    call: Call = context["call"]
    if "brand" not in call.extra:
        organization = call.organization
        logo = logo_url()
        call.extra["brand"] = {
            "brand_name": organization.name,
            "background_color": organization.brand_color or None,
            "logo_url": f"{organization_base_url()}{logo}" if logo else None,
        }
    return call.extra["brand"]


def card_fields(card: Card | None, customer: Customer, context: dict) -> dict:
    """A card as the SDK's LoyaltyCard reads it (nulls for a customer without a card yet)."""
    active = customer.status == Customer.Status.ACTIVE and (card is None or card.status == Card.Status.ACTIVE)
    return {
        "id": card.pk if card else None,
        "user_id": customer.pk,
        "card_type": "digital",
        "card_number": card.card_number if card else None,
        **_brand(context),
        "text_color": None,
        "qr_code": None,
        "barcode": card.card_number if card else None,
        "is_active": active,
        "is_third_party": False,
        "status": Customer.Status.BLOCKED.value
        if customer.status == Customer.Status.BLOCKED
        else (card.status if card else Card.Status.ACTIVE.value),
        "points_balance": card.balance if card else 0,
        "custom_fields": None,
        "expires_at": None,
        "created_at": (card or customer).created_at.isoformat(),
        "updated_at": (card or customer).updated_at.isoformat(),
    }


class LoyaltyCardData(serializers.Serializer):
    """A loyalty card (the SDK's LoyaltyCard)."""

    id = serializers.IntegerField()
    user_id = serializers.IntegerField(help_text="The customer's id.")
    card_type = serializers.CharField(help_text='Always "digital".')
    card_number = serializers.CharField()
    brand_name = serializers.CharField(help_text="The organization's name.")
    background_color = serializers.CharField(allow_null=True, help_text="The organization's brand colour.")
    text_color = serializers.CharField(allow_null=True)
    logo_url = serializers.URLField(allow_null=True)
    qr_code = serializers.CharField(allow_null=True)
    barcode = serializers.CharField(allow_null=True, help_text="The card number.")
    is_active = serializers.BooleanField(help_text="False while the customer or the card is blocked.")
    is_third_party = serializers.BooleanField()
    status = serializers.ChoiceField(choices=["active", "blocked", "expired"])
    points_balance = serializers.IntegerField()
    custom_fields = serializers.DictField(allow_null=True)
    expires_at = IsoDateTimeField(allow_null=True)
    created_at = IsoDateTimeField()
    updated_at = IsoDateTimeField()

    def to_representation(self, card: Card) -> dict:
        return card_fields(card, card.customer, self.context)


class CardsParams(PageParams):
    card_number = s.StrictCharField(required=False, max_length=32)
    user_id = id_field(required=False)


def cards_list(call: Call):
    cards = loyalty_cards().order_by("pk")
    if "card_number" in call.data:
        cards = cards.filter(card_number=call.data["card_number"].strip())
    if "user_id" in call.data:
        cards = cards.filter(customer_id=call.data["user_id"])
    return paginate(cards, call.data)


class LoyaltyCardsView(ShopApiView):
    get = ShopQuery("shop_loyalty_cards_list", LoyaltyCardData, cards_list, params=CardsParams)


class LoyaltyCardView(ShopApiView):
    path = {"card_id": LOYALTY_CARD}
    get = ShopQuery(
        "shop_loyalty_card",
        LoyaltyCardData,
        lambda call: call.path["card_id"],
        errors=(errors.LOYALTY_CARD_NOT_FOUND,),
    )


class CardInfoParams(ShopParams):
    card_id = id_field(required=False)
    card_number = s.StrictCharField(required=False, max_length=32)
    user_id = id_field(required=False)


class RedemptionData(serializers.Serializer):
    enabled = serializers.BooleanField()
    points_per_currency = serializers.IntegerField(allow_null=True, help_text="Points worth currency_amount.")
    currency_amount = serializers.CharField()
    min_points = serializers.IntegerField(allow_null=True, help_text="The fewest points a redemption takes.")


class CardOwnerData(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    phone = serializers.CharField()
    email = serializers.CharField()


class CardInfoData(LoyaltyCardData):
    """The customer's loyalty card as the QR card scan's card_data shows it, with the card's
    fields: its owner, points and the program's redemption rule. Without a card yet, `id`
    and `card_number` are null and the balance is 0."""

    points = serializers.IntegerField(help_text="The point balance (as points_balance).")
    customer_code = serializers.IntegerField()
    stamp_count = serializers.IntegerField()
    user = CardOwnerData()
    partner = serializers.DictField(help_text="The organization: id, name.")
    redemption = RedemptionData()
    points_expiring = ExpiringPointsData(help_text="Points that expire within the next 30 days.")

    def to_representation(self, customer: Customer) -> dict:
        info = card_data(customer)
        card = Card.objects.filter(pk=info["id"]).first() if info["id"] else None
        return {
            **card_fields(card, customer, self.context),
            **info,
            "points": info["points_balance"],
            "points_expiring": points_expiring_soon(customer.pk).as_json(),
        }


def card_info(call: Call) -> Customer:
    data = call.data
    return named_customer(
        user_id=data.get("user_id"),
        card_id=data.get("card_id"),
        card_number=data.get("card_number"),
        missing=errors.CARD_IDENTIFIER_REQUIRED,
    )


CARD_LOOKUP_ERRORS = (
    errors.CARD_IDENTIFIER_REQUIRED,
    errors.LOYALTY_CARD_NOT_FOUND,
    errors.CUSTOMER_NOT_FOUND,
    errors.CUSTOMER_MISMATCH,
)


class LoyaltyCardInfoView(ShopApiView):
    get = ShopQuery(
        "shop_loyalty_card_info", CardInfoData, card_info, params=CardInfoParams, errors=CARD_LOOKUP_ERRORS
    )


class BalanceParams(ShopParams):
    card_id = id_field(required=False)
    card_number = s.StrictCharField(required=False, max_length=32)


class ExpiringSoonData(ExpiringPointsData):
    within_days = serializers.IntegerField(help_text="How far ahead `points` looks.")

    def to_representation(self, expiring) -> dict:
        return {**expiring.as_json(), "within_days": EXPIRING_SOON_DAYS}


@dataclass(frozen=True)
class Balance:
    customer: Customer
    card_id: int | None
    card_number: str | None
    points: int
    program: Program
    currency: str

    @property
    def points_value(self) -> str:
        # A program allowing negative balances may show one: it is worth nothing to spend.
        return points_worth(max(self.points, 0), self.program, self.currency)

    @property
    def redemption(self) -> dict:
        return {
            "enabled": True,
            "points_per_currency": self.program.redeem_points_per_unit,
            "currency_amount": "1.00",
            "min_points": self.program.min_redeem_points,
        }

    @property
    def expiring(self):
        return points_expiring_soon(self.customer.pk, program=self.program)


class BalanceData(serializers.Serializer):
    card_id = serializers.IntegerField(allow_null=True, help_text="The card card_data names.")
    card_number = serializers.CharField(allow_null=True)
    user_id = serializers.IntegerField(source="customer.pk")
    points_balance = serializers.IntegerField(source="points")
    points = serializers.IntegerField()
    balance = serializers.IntegerField(source="points")
    currency = serializers.CharField()
    points_value = serializers.CharField(help_text="What the balance is worth by the redemption rule.")
    redemption = RedemptionData()
    points_expiring = ExpiringSoonData(source="expiring")


def card_balance(call: Call) -> Balance:
    program = point_program_or_404()
    data = call.data
    customer = named_customer(
        card_id=data.get("card_id"),
        card_number=data.get("card_number"),
        missing=errors.CARD_IDENTIFIER_REQUIRED,
    )
    info = card_data(customer)
    return Balance(customer, info["id"], info["card_number"], info["points_balance"], program, call.currency)


class LoyaltyCardBalanceView(ShopApiView):
    get = ShopQuery(
        "shop_loyalty_card_balance",
        BalanceData,
        card_balance,
        params=BalanceParams,
        errors=(*CARD_LOOKUP_ERRORS, errors.PROGRAM_NOT_FOUND),
    )


# --- The ledger -------------------------------------------------------------------------------


def _entry_description(entry: LedgerEntry) -> str:
    return entry.note or entry.get_cause_display()


def _lot_expiry(entry: LedgerEntry) -> datetime | None:
    try:
        return entry.lot.expires_at
    except PointLot.DoesNotExist:
        return None


class PointsTransactionData(serializers.Serializer):
    """A ledger entry of a loyalty card (the SDK's PointsTransaction)."""

    id = serializers.IntegerField()
    loyalty_card_id = serializers.IntegerField(source="card_id")
    user_id = serializers.IntegerField(source="card.customer_id")
    points = serializers.IntegerField(source="delta", help_text="Added (positive) or taken (negative).")
    type = serializers.ChoiceField(choices=list(TYPE_CAUSES))
    description = serializers.CharField()
    reference_id = serializers.CharField(allow_null=True, help_text="The order_id (external id) of the call.")
    reference_type = serializers.CharField(allow_null=True)
    balance_after = serializers.IntegerField()
    expires_at = IsoDateTimeField(allow_null=True, help_text="When the points it added expire.")
    expired_at = IsoDateTimeField(allow_null=True)
    meta_data = serializers.DictField(allow_null=True)
    created_at = IsoDateTimeField()

    def to_representation(self, entry: LedgerEntry) -> dict:
        return {
            "id": entry.pk,
            "loyalty_card_id": entry.card_id,
            "user_id": entry.card.customer_id,
            "points": entry.delta,
            "type": TYPE_OF_CAUSE.get(entry.cause, "adjusted"),
            "description": _entry_description(entry),
            "reference_id": entry.external_id or None,
            "reference_type": "order" if entry.external_id else None,
            "balance_after": entry.balance_after,
            "expires_at": _iso(_lot_expiry(entry)) if entry.delta > 0 else None,
            "expired_at": entry.created_at.isoformat() if entry.cause == Cause.EXPIRE else None,
            "meta_data": None,
            "created_at": entry.created_at.isoformat(),
        }


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


class TransactionsParams(PageParams):
    card_id = id_field(required=False)
    user_id = id_field(required=False)
    type = serializers.ChoiceField(choices=list(TYPE_CAUSES), required=False)


def transactions_list(call: Call):
    program = active_program(POINT)
    if program is None:
        return paginate(LedgerEntry.objects.none(), call.data)
    entries = (
        LedgerEntry.objects.filter(card__program=program)
        .exclude(card__customer__status=Customer.Status.DELETED)
        .select_related("card", "lot")
        .order_by("-pk")
    )
    data = call.data
    if "card_id" in data:
        entries = entries.filter(card_id=data["card_id"])
    if "user_id" in data:
        entries = entries.filter(card__customer_id=data["user_id"])
    if "type" in data:
        entries = entries.filter(cause__in=TYPE_CAUSES[data["type"]])
    return paginate(entries, data)


# --- Creating transactions ------------------------------------------------------------------------


class TransactionRequest(s.VerificationFieldsMixin, s.PosRequestSerializer):
    order_id = s.StrictCharField(
        max_length=128, help_text="The shop's order reference; the idempotency key of each type."
    )
    type = serializers.ChoiceField(choices=[PURCHASE, CANCELLATION, REFUND], required=False, default=PURCHASE)
    user_id = s.StrictIntegerField(required=False, min_value=1, max_value=MAX_ID)
    user_email = s.StrictCharField(required=False, max_length=254)
    loyalty_card_id = s.StrictIntegerField(required=False, min_value=1, max_value=MAX_ID)
    order_total = s.RawValueField(
        required=False,
        schema=s.MONEY,
        help_text="The order's total, part of which points_redeemed may pay; a purchase earns on the rest.",
    )
    points = s.StrictIntegerField(
        required=False, min_value=0, max_value=MAX_POINTS, help_text="Earn exactly this many points."
    )
    points_redeemed = s.StrictIntegerField(
        required=False, min_value=0, max_value=MAX_POINTS, help_text="Points that pay part of the order."
    )
    points_discount_amount = s.RawValueField(
        required=False, schema=s.MONEY, help_text="What points_redeemed are worth (checked)."
    )
    currency = s.StrictCharField(required=False, min_length=3, max_length=3)
    description = s.StrictCharField(required=False, max_length=255, allow_blank=True, default="")
    shop_id = s.StrictIntegerField(required=False, min_value=1, max_value=MAX_ID)
    cart_items = s.RawValueField(
        required=False,
        schema={"type": "array", "items": {"type": "object"}},
        help_text="Purchase: [{sku, name, category, quantity, unit_price}] through the earning rules; "
        "refund: the lines given back [{sku, quantity}].",
    )
    meta_data = s.RawValueField(required=False, schema={"type": "object"})
    original_order_id = s.StrictCharField(
        required=False,
        max_length=128,
        help_text="Cancellation or refund: the purchase it undoes (default: order_id).",
    )


NOT_FOR_UNDO = ("points", "points_redeemed", "points_discount_amount")


def _refuse_fields_not_allowed(data: dict) -> None:
    kind = data["type"]
    if kind == PURCHASE:
        if "original_order_id" in data:
            raise errors.FIELD_NOT_ALLOWED(field="original_order_id")
        if "points" in data and "cart_items" in data:
            raise errors.FIELD_NOT_ALLOWED(field="points")
        return
    for name in NOT_FOR_UNDO:
        if name in data:
            raise errors.FIELD_NOT_ALLOWED(field=name)
    if kind == CANCELLATION and "cart_items" in data:
        raise errors.FIELD_NOT_ALLOWED(field="cart_items")


def _order_total(data: dict, currency: str) -> Decimal | None:
    raw = data.get("order_total")
    if raw is None:
        if data["type"] == PURCHASE and "points" not in data:
            raise errors.ORDER_TOTAL_REQUIRED(field="order_total")
        return None
    total = exact_decimal(raw, places=currency_exponent(currency), maximum=MAX_AMOUNT)
    if total is None or total < 0:
        raise errors.ORDER_TOTAL_INVALID(field="order_total")
    return total


def _points_discount_amount(data: dict, currency: str) -> Decimal | None:
    raw = data.get("points_discount_amount")
    if raw is None:
        return None
    amount = exact_decimal(raw, places=currency_exponent(currency), maximum=MAX_AMOUNT)
    points = data.get("points_redeemed") or 0
    if amount is None or amount < 0 or not points:
        raise errors.POINTS_DISCOUNT_AMOUNT_INVALID(field="points_discount_amount")
    expected = points_worth(points, point_program_or_404(), currency)
    if amount != Decimal(expected):
        raise errors.POINTS_DISCOUNT_AMOUNT_INVALID(field="points_discount_amount", expected=expected)
    return amount


def _deeper_than(value: object, limit: int) -> bool:
    """Level by level, without recursion: the parser takes nesting deeper than a recursive
    walk inside a request may go."""
    level, depth = [value], 0
    while level:
        containers = [item for item in level if isinstance(item, (Mapping, list))]
        if not containers:
            return False
        depth += 1
        if depth > limit:
            return True
        level = [
            child for item in containers for child in (item.values() if isinstance(item, Mapping) else item)
        ]
    return False


def _renders_as_json(value: object) -> bool:
    """Decimal numbers are answered as JSON numbers (floats): one past a float's range would not render."""
    if isinstance(value, Decimal):
        return math.isfinite(float(value))
    if isinstance(value, Mapping):
        return all(_renders_as_json(item) for item in value.values())
    if isinstance(value, list):
        return all(_renders_as_json(item) for item in value)
    return True


def _meta_data(data: dict) -> dict | None:
    """An object of bounded size and nesting, answered back as sent."""
    value = data.get("meta_data")
    if value is None:
        return None
    refusal = errors.META_DATA_INVALID(field="meta_data", max_bytes=META_DATA_MAX_BYTES)
    # The nesting first: a deeply nested value would not even serialize.
    if not isinstance(value, Mapping) or _deeper_than(value, META_DATA_MAX_DEPTH):
        raise refusal
    size = len(json.dumps(value, default=str, separators=(",", ":"), ensure_ascii=False).encode())
    if size > META_DATA_MAX_BYTES or not _renders_as_json(value):
        raise refusal
    return value


def _shop_id(call: Call) -> int | None:
    shop_id = call.data.get("shop_id")
    if shop_id is None:
        return call.api_key.shop_id
    open_shop(shop_id)
    return shop_id


def _currency(call: Call) -> str:
    currency = call.data.get("currency")
    if currency is not None and currency.upper() != call.currency:
        raise errors.CURRENCY_MISMATCH(currency=call.currency)
    return call.currency


def _cart_error(refusal: errors.DomainError) -> errors.DomainError:
    """The orders' line refusals name their field `lines`; here it is `cart_items`."""
    return refusal.error(**{**refusal.extra, "field": "cart_items"})


def _purchase_lines(raw: object) -> list | None:
    if raw is None:
        return None
    try:
        return parse_order_lines(raw)
    except errors.DomainError as refusal:
        raise _cart_error(refusal) from None


def _refund_lines(raw: object) -> list | None:
    """The lines given back: {sku, quantity}; a purchase's other line fields may come along."""
    if raw is None:
        return None
    if isinstance(raw, list):
        dropped = LINE_FIELDS - {"sku", "quantity"}
        raw = [
            {name: value for name, value in line.items() if name not in dropped}
            if isinstance(line, Mapping)
            else line
            for line in raw
        ]
    try:
        return parse_return_lines(raw)
    except errors.DomainError as refusal:
        raise _cart_error(refusal) from None


def _original_order_id(data: dict) -> str:
    return data.get("original_order_id") or data["order_id"]


def transaction_check(call: Call) -> None:
    """Every refusal that needs no PIN; what it finds waits in call.extra."""
    data, extra = call.data, call.extra
    _refuse_fields_not_allowed(data)
    extra["customer"] = customer = named_customer(
        user_id=data.get("user_id"),
        user_email=data.get("user_email"),
        card_id=data.get("loyalty_card_id"),
        missing=errors.USER_REQUIRED,
    )
    extra["currency"] = currency = _currency(call)
    extra["total"] = _order_total(data, currency)
    extra["meta_data"] = _meta_data(data)
    extra["shop_id"] = _shop_id(call)
    if data["type"] == PURCHASE:
        extra["discount"] = _points_discount_amount(data, currency)
        extra["lines"] = lines = _purchase_lines(data.get("cart_items"))
        redeemed = data.get("points_redeemed") or 0
        if lines is None:
            customer_purchase_check(
                customer=customer, amount=extra["total"], points_redeemed=redeemed, read_card=call.pin_step
            )
        else:
            order_create_check(
                organization=call.organization,
                customer=customer,
                currency=currency,
                paid_with_points=redeemed,
                read_card=call.pin_step,
            )
        return
    original = _original_order_id(data)
    extra["order"] = order = order_by_external_id(original)
    if order is None:
        if "cart_items" in data:
            raise errors.FIELD_NOT_ALLOWED(field="cart_items")
        try:
            purchase_reversal_originals(original_external_id=original, customer_id=customer.pk)
        except errors.DomainError as refusal:
            if refusal.error is not errors.TRANSACTION_NOT_FOUND or not _posted_nothing(original, customer):
                raise
            refuse_blocked_customer(customer)
            extra["nothing_to_undo"] = True
        return
    if order.customer_id != customer.pk:
        raise errors.TRANSACTION_NOT_FOUND()
    if order.status == Order.Status.RETURNED:
        raise errors.ORDER_ALREADY_RETURNED()
    extra["return_lines"] = _refund_lines(data.get("cart_items"))


def _posted_nothing(original: str, customer: Customer) -> bool:
    """The customer's purchase that earned and spent no points left no ledger entry to
    reverse; its stored answer (kept IDEMPOTENCY_KEEP_DAYS) says it was made."""
    body = (
        IdempotencyRecord.objects.filter(endpoint=TRANSACTION_ONCE, external_id=original)
        .values_list("response_body", flat=True)
        .first()
    )
    if body is None:
        return False
    answer = json.loads(bytes(body))["data"]
    return answer["user_id"] == customer.pk and answer["id"] is None


def transaction_pin_action(call: Call) -> str | None:
    """As the POS API asks: a purchase earns (or redeems, when points pay part of it); undoing
    a purchase is a reversal; an order's return asks no PIN."""
    data = call.data
    if data["type"] == PURCHASE:
        return order_pin_action_for(names_customer=True, paid_with_points=data.get("points_redeemed") or 0)
    if order_by_external_id(_original_order_id(data)) is not None:
        return None
    return PinChallenge.Action.REVERSE


def transaction_pin_summary(call: Call) -> str:
    data = call.data
    if data["type"] != PURCHASE:
        return ""  # the reversal's prompt
    if data.get("points_redeemed"):
        return pin_summaries.redeem_points_summary(data["points_redeemed"])
    if call.extra["total"] is None:
        return ""
    return pin_summaries.collect_points_summary(call.extra["total"], call.extra["currency"])


@dataclass(frozen=True)
class Recorded:
    """What a transaction did, for TransactionData to render."""

    kind: str
    order_id: str
    original_order_id: str | None
    customer: Customer
    entries: tuple[LedgerEntry, ...]
    balance: int
    currency: str
    order_total: Decimal | None
    points_discount_amount: Decimal | None
    shop_id: int | None
    description: str
    meta_data: dict | None
    points_earned: int = 0
    points_redeemed: int = 0
    points_returned: int = 0
    points_refunded: int = 0
    points_unrecovered: int = 0
    campaigns: tuple = ()
    created_at: datetime = field(default_factory=timezone.now)

    @property
    def last_entry(self) -> LedgerEntry | None:
        return self.entries[-1] if self.entries else None


def _earned_expiry(recorded: Recorded) -> datetime | None:
    earned = [entry.pk for entry in recorded.entries if entry.cause in TYPE_CAUSES["earned"]]
    if not earned:
        return None
    return PointLot.objects.filter(entry_id__in=earned).values_list("expires_at", flat=True).first()


class TransactionData(OmitNoneSerializer):
    """The transaction (a PointsTransaction: its last ledger entry), and what it did."""

    id = serializers.IntegerField(allow_null=True, help_text="Its last ledger entry; null without one.")
    loyalty_card_id = serializers.IntegerField(allow_null=True)
    user_id = serializers.IntegerField()
    points = serializers.IntegerField(help_text="The change of the balance, all entries together.")
    type = serializers.ChoiceField(choices=list(TYPE_CAUSES), help_text="The last entry's type.")
    transaction_type = serializers.ChoiceField(choices=[PURCHASE, CANCELLATION, REFUND])
    description = serializers.CharField()
    reference_id = serializers.CharField(help_text="The order_id.")
    reference_type = serializers.CharField()
    original_order_id = serializers.CharField(required=False, help_text="Cancellations and refunds.")
    balance_after = serializers.IntegerField()
    points_earned = serializers.IntegerField()
    points_redeemed = serializers.IntegerField()
    points_returned = serializers.IntegerField(help_text="Earned points taken back.")
    points_refunded = serializers.IntegerField(help_text="Points paid with given back.")
    points_unrecovered = serializers.IntegerField(help_text="Points due back that were spent already.")
    balance = serializers.IntegerField()
    currency = serializers.CharField()
    order_total = serializers.CharField(allow_null=True)
    points_discount_amount = serializers.CharField(allow_null=True)
    shop_id = serializers.IntegerField(allow_null=True)
    expires_at = IsoDateTimeField(allow_null=True, help_text="When the points earned expire.")
    meta_data = serializers.DictField(allow_null=True)
    campaigns = campaign_shares_field()
    created_at = IsoDateTimeField()
    omit_when_none = ("original_order_id", "campaigns")

    def to_representation(self, recorded: Recorded) -> dict:
        last = recorded.last_entry
        card_id = last.card_id if last else _point_card_id(recorded.customer)
        if last is not None:
            kind = TYPE_OF_CAUSE.get(last.cause, "adjusted")
        else:
            kind = "earned" if recorded.kind == PURCHASE else "refunded"
        currency = recorded.currency
        data = {
            "id": last.pk if last else None,
            "loyalty_card_id": card_id,
            "user_id": recorded.customer.pk,
            "points": sum(entry.delta for entry in recorded.entries),
            "type": kind,
            "transaction_type": recorded.kind,
            "description": recorded.description or (_entry_description(last) if last else ""),
            "reference_id": recorded.order_id,
            "reference_type": "order",
            "original_order_id": recorded.original_order_id,
            "balance_after": last.balance_after if last else recorded.balance,
            "points_earned": recorded.points_earned,
            "points_redeemed": recorded.points_redeemed,
            "points_returned": recorded.points_returned,
            "points_refunded": recorded.points_refunded,
            "points_unrecovered": recorded.points_unrecovered,
            "balance": recorded.balance,
            "currency": currency,
            "order_total": _money(recorded.order_total, currency),
            "points_discount_amount": _money(recorded.points_discount_amount, currency),
            "shop_id": recorded.shop_id,
            "expires_at": _iso(_earned_expiry(recorded)),
            "meta_data": recorded.meta_data,
            "campaigns": self.fields["campaigns"].to_representation(recorded.campaigns) or None,
            "created_at": (last.created_at if last else recorded.created_at).isoformat(),
        }
        for name in self.omit_when_none:
            if data[name] is None:
                del data[name]
        return data


def _money(amount: Decimal | None, currency: str) -> str | None:
    return None if amount is None else money_text(amount, currency)


def _point_card_id(customer: Customer) -> int | None:
    return loyalty_cards().filter(customer=customer).values_list("pk", flat=True).first()


def _purchase(call: Call, **common) -> Recorded:
    data, extra = call.data, call.extra
    customer = extra["customer"]
    redeemed = data.get("points_redeemed") or 0
    if extra["lines"] is None:
        purchase = customer_purchase(
            customer=customer,
            amount=extra["total"],
            points=data.get("points"),
            points_redeemed=redeemed,
            external_id=data["order_id"],
            api_key_lookup_id=call.api_key_lookup_id,
            pin_challenge_id=call.pin_challenge_id,
            shop_id=extra["shop_id"],
            note=data["description"],
        )
        return Recorded(
            entries=purchase.entries,
            balance=purchase.points,
            points_earned=purchase.earned.applied if purchase.earned else 0,
            points_redeemed=redeemed,
            campaigns=purchase.earned.campaigns if purchase.earned else (),
            **common,
        )
    outcome = order_create(
        organization=call.organization,
        external_id=data["order_id"],
        customer=customer,
        shop_id=extra["shop_id"],
        currency=extra["currency"],
        total=extra["total"],
        lines=extra["lines"],
        paid_with_points=redeemed,
        api_key_lookup_id=call.api_key_lookup_id,
        pin_challenge_id=call.pin_challenge_id,
    )
    return Recorded(
        entries=outcome.entries,
        balance=outcome.point_balance,
        points_earned=outcome.order.points_earned,
        points_redeemed=redeemed,
        campaigns=outcome.campaigns,
        **common,
    )


def _undo(call: Call, **common) -> Recorded:
    data, extra = call.data, call.extra
    customer = extra["customer"]
    original = _original_order_id(data)
    if extra.get("nothing_to_undo"):
        pin_challenge_spend(challenge_id=call.pin_challenge_id)
        return Recorded(entries=(), balance=card_balances(customer.pk).get(POINT, 0), **common)
    if extra["order"] is not None:
        returned = order_return(
            order_external_id=original,
            external_id=data["order_id"],
            lines=extra["return_lines"],
            api_key_lookup_id=call.api_key_lookup_id,
        )
        return Recorded(
            entries=returned.entries,
            balance=card_balances(customer.pk).get(POINT, 0),
            points_returned=returned.points_taken,
            points_refunded=returned.paid_points_refunded,
            points_unrecovered=returned.points_unrecovered,
            campaigns=returned.campaigns,
            **common,
        )
    reversals = purchase_reverse(
        original_external_id=original,
        external_id=data["order_id"],
        customer_id=customer.pk,
        reason=data["description"],
        api_key_lookup_id=call.api_key_lookup_id,
        pin_challenge_id=call.pin_challenge_id,
    )
    entries = tuple(entry for reversal in reversals for entry in reversal.entries)
    return Recorded(
        entries=entries,
        balance=reversals[-1].points,
        points_returned=-sum(r.entries[-1].delta for r in reversals if r.kind == "earn"),
        points_refunded=sum(r.entries[-1].delta for r in reversals if r.kind == "redeem"),
        points_unrecovered=sum(r.points_unrecovered for r in reversals),
        campaigns=tuple(share for reversal in reversals for share in reversal.campaigns),
        **common,
    )


def transaction_record(call: Call) -> Recorded:
    data, extra = call.data, call.extra
    common = {
        "kind": data["type"],
        "order_id": data["order_id"],
        "original_order_id": None if data["type"] == PURCHASE else _original_order_id(data),
        "customer": extra["customer"],
        "currency": extra["currency"],
        "order_total": extra["total"],
        "points_discount_amount": extra.get("discount"),
        "shop_id": extra["shop_id"],
        "description": data["description"],
        "meta_data": extra["meta_data"],
    }
    return _purchase(call, **common) if data["type"] == PURCHASE else _undo(call, **common)


@dataclass(frozen=True)
class TransactionCommand(ShopCommand):
    """Each transaction type keeps its own idempotency records: a cancellation or refund may
    carry the order_id of the purchase it undoes."""

    def once_key(self, call: Call, request_body: dict, raw_path: dict) -> OnceKey | None:
        key = super().once_key(call, request_body, raw_path)
        kind = call.data.get("type")
        if key is None or kind == PURCHASE:
            return key
        return replace(key, endpoint=f"{key.endpoint}/{kind}")


TRANSACTION_ERRORS = (
    errors.USER_REQUIRED,
    errors.CUSTOMER_NOT_FOUND,
    errors.CUSTOMER_MISMATCH,
    errors.LOYALTY_CARD_NOT_FOUND,
    errors.CUSTOMER_BLOCKED,
    errors.CARD_BLOCKED,
    errors.PROGRAM_NOT_FOUND,
    errors.CURRENCY_MISMATCH,
    errors.SHOP_NOT_FOUND,
    errors.ORDER_TOTAL_REQUIRED,
    errors.ORDER_TOTAL_INVALID,
    errors.POINTS_DISCOUNT_AMOUNT_INVALID,
    errors.META_DATA_INVALID,
    errors.FIELD_NOT_ALLOWED,
    errors.INSUFFICIENT_BALANCE,
    errors.BELOW_MINIMUM,
    errors.BALANCE_LIMIT_EXCEEDED,
    errors.LINES_INVALID,
    errors.ORDER_EXISTS,
    errors.TRANSACTION_NOT_FOUND,
    errors.TRANSACTION_ALREADY_REVERSED,
    errors.ORDER_ALREADY_RETURNED,
    errors.SKU_NOT_IN_ORDER,
    errors.RETURN_EXCEEDS_ORDER,
)


class TransactionsView(ShopApiView):
    get = ShopQuery(
        "shop_transactions_list", PointsTransactionData, transactions_list, params=TransactionsParams
    )


class TransactionCreateView(ShopApiView):
    post = TransactionCommand(
        "shop_transactions_create",
        TransactionRequest,
        TransactionData,
        transaction_record,
        once=TRANSACTION_ONCE,
        once_field="order_id",
        pin_action=transaction_pin_action,
        pin_summary=transaction_pin_summary,
        check=transaction_check,
        pin_customer=lambda call: call.extra["customer"],
        errors=TRANSACTION_ERRORS,
    )
