"""Coupons: a promotion's vouchers (integer id, `code`) and stamp-card coupons (UUID id,
`qr_token`), listed, checked, redeemed, priced and held for a checkout through the services
the POS API uses (vouchers.services, coupons.services).

An integer `coupon_id` names a voucher, a UUID a stamp coupon; a `code` is looked up as a
stamp coupon's QR token (`cq_...`) and otherwise as a voucher code."""

import hashlib
import hmac
import uuid
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.db import connection
from django.db.models import Max, Q
from django.utils import timezone
from rest_framework import serializers

from loyalty_platform.core import errors
from loyalty_platform.core.errors import DomainError, ErrorType
from loyalty_platform.core.money import currency_exponent, exact_decimal, money_text
from loyalty_platform.coupons.models import Coupon
from loyalty_platform.coupons.selectors import coupon_by_token
from loyalty_platform.coupons.services import (
    QR_TOKEN_PREFIX,
    coupon_hold,
    coupon_hold_release,
    coupon_redeem,
    coupon_redeem_check,
)
from loyalty_platform.customers.blocks import refuse_blocked_customer
from loyalty_platform.customers.models import Customer
from loyalty_platform.identification.services import card_data
from loyalty_platform.pos_api import pin_summaries
from loyalty_platform.pos_api import serializers as s
from loyalty_platform.pos_api.endpoints import Call, parse_uuid
from loyalty_platform.programs.models import Card, Program
from loyalty_platform.rewards.discounts import DiscountType
from loyalty_platform.shop_api.messages import message_for, wire_code
from loyalty_platform.shop_api.wire import (
    PER_PAGE_DEFAULT,
    Page,
    PageParams,
    ShopApiView,
    ShopCommand,
    ShopParams,
    ShopQuery,
    id_field,
)
from loyalty_platform.shops.selectors import open_shop
from loyalty_platform.vouchers.models import Promotion, Voucher
from loyalty_platform.vouchers.services import (
    CartLine,
    is_locked,
    voucher_discount,
    voucher_find,
    voucher_held_with,
    voucher_hold,
    voucher_redeem,
    voucher_refusal,
    voucher_release,
)

MAX_ID = 2**62
# How long a checkout holds a coupon (`/coupons/pending`) unless it is cancelled or redeemed.
PENDING_SECONDS = 900
MAX_CART_LINES = 500
STATUSES = ("active", "pending", "redeemed", "expired", "cancelled")

Item = Voucher | Coupon

# --- Finding coupons -----------------------------------------------------------------------


class CouponIdField(serializers.Field):
    """A voucher's integer id (a JSON integer or digits) or a stamp coupon's UUID (text)."""

    default_error_messages = {"invalid": "A voucher's id (an integer) or a stamp coupon's UUID."}

    def to_internal_value(self, data):
        if isinstance(data, str) and data.isascii() and data.isdigit() and len(data) <= 19:
            data = int(data)
        if isinstance(data, int) and not isinstance(data, bool):
            if not 1 <= data <= MAX_ID:
                self.fail("invalid")
            return data
        if isinstance(data, str) and (found := parse_uuid(data)) is not None:
            return found
        self.fail("invalid")

    def to_representation(self, value):
        return value if isinstance(value, int) else str(value)


def _vouchers():
    """Vouchers as the answers show them: `redeemed_at` is the latest use standing."""
    return Voucher.objects.select_related("promotion", "customer").annotate(
        redeemed_at=Max("redemptions__created_at", filter=Q(redemptions__reversed_at__isnull=True))
    )


def _stamp_coupons():
    return Coupon.objects.select_related("program", "customer")


def coupon_by_id(coupon_id: int | uuid.UUID) -> Item:
    """The voucher (an integer id) or stamp coupon (a UUID); a void one is not found."""
    rows = _vouchers() if isinstance(coupon_id, int) else _stamp_coupons()
    found = rows.filter(pk=coupon_id).exclude(status="void").first()
    if found is None:
        raise errors.COUPON_NOT_FOUND()
    return found


def coupon_by_code(code: str) -> Item:
    """A stamp coupon by its QR token, else a voucher by its code."""
    if code.startswith(QR_TOKEN_PREFIX):
        coupon = coupon_by_token(code)
        if coupon is not None and coupon.status != Coupon.Status.VOID:
            return _stamp_coupons().get(pk=coupon.pk)
        raise errors.COUPON_NOT_FOUND()
    try:
        found = voucher_find(code)
    except DomainError:
        raise errors.COUPON_NOT_FOUND() from None
    return _vouchers().get(pk=found.pk)


def customer_named(*, user_id: int | None, card_id: int | None) -> Customer | None:
    """The customer a `user_id` (Customer.pk) or a `card_id` (any of their cards) names."""
    customer = None
    if user_id is not None:
        customer = Customer.objects.filter(pk=user_id).first()
        if customer is None:
            raise errors.CUSTOMER_NOT_FOUND()
    if card_id is not None:
        card = Card.objects.select_related("customer").filter(pk=card_id).first()
        if card is None or (customer is not None and card.customer_id != customer.pk):
            raise errors.CUSTOMER_NOT_FOUND()
        customer = card.customer
    return customer


def pending_release_key(call: Call) -> str:
    """The key this API key holds coupons with for a checkout (`/coupons/pending`): only
    this integration can derive it, it differs between organizations, and a retry finds the
    same one, so nothing is kept. A voucher's lock stores its hash as the release key's, a
    stamp coupon's hold as `held_by`."""
    if "hold_key" not in call.extra:
        message = f"shop-coupon-pending:{connection.schema_name}:{call.api_key_lookup_id}".encode()
        call.extra["hold_key"] = hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).hexdigest()
    return call.extra["hold_key"]


def _is_held(item: Item, now: datetime) -> bool:
    if isinstance(item, Voucher):
        return is_locked(item, now)
    return bool(item.held_until and item.held_until > now)


def refusal_of(item: Item, *, hold_key: str, now: datetime) -> ErrorType | None:
    """Why the holder of `hold_key` cannot redeem the coupon now (the services' own
    checks), or None. Another's hold is coupon_held_elsewhere for both kinds."""
    try:
        if isinstance(item, Voucher):
            refusal = voucher_refusal(item, now=now)
            if refusal:
                return refusal
            refuse_blocked_customer(item.customer)
            if is_locked(item, now) and not voucher_held_with(item, hold_key, now):
                return errors.COUPON_HELD_ELSEWHERE
        else:
            coupon_redeem_check(coupon=item, hold_key=hold_key)
    except DomainError as refused:
        return refused.error
    return None


# --- What a coupon looks like --------------------------------------------------------------


def shop_status(item: Item, now: datetime) -> str:
    """active | pending (held for a checkout) | redeemed | expired | cancelled (void): an
    active one past its end is expired."""
    if item.status == "void":
        return "cancelled"
    if item.status != "active":
        return item.status
    ends = item.promotion.valid_until if isinstance(item, Voucher) else item.expires_at
    if ends is not None and ends <= now:
        return "expired"
    return "pending" if _is_held(item, now) else "active"


# The promotion's discount as the SDK's Offer names it.
OFFER_DISCOUNT_TYPE = {DiscountType.PERCENT: "percentage", DiscountType.AMOUNT: "fixed_amount"}


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _percent_text(value: Decimal) -> str:
    return format(Decimal(value).normalize(), "f")


def offer_brief(promotion: Promotion, currency: str) -> dict:
    """The promotion as /offers shows it, in brief (the same field names and forms)."""
    kind, value = promotion.discount_type, promotion.discount_value
    percent = kind == DiscountType.PERCENT and value is not None
    amount = kind == DiscountType.AMOUNT and value is not None
    minimum = promotion.minimum_spend
    return {
        "id": promotion.pk,
        "title": promotion.title,
        "description": promotion.description,
        "type": "free_item" if kind == DiscountType.FREE_ITEM else "discount",
        "discount_type": OFFER_DISCOUNT_TYPE.get(kind),
        "discount_percentage": _percent_text(value) if percent else None,
        "discount_amount": money_text(Decimal(value), currency) if amount else None,
        "product_code": promotion.product_code,
        "categories": [promotion.category] if promotion.category else [],
        "minimum_purchase": money_text(Decimal(minimum), currency) if minimum is not None else None,
        "starts_at": _iso(promotion.valid_from),
        "ends_at": _iso(promotion.valid_until),
    }


def game_brief(program: Program) -> dict:
    return {
        "id": program.pk,
        "name": program.name,
        "type": "stamp_card",
        "stamps_required": program.stamps_per_card,
        "reward_name": program.reward_name or program.name,
    }


def _user(customer: Customer | None) -> dict | None:
    if customer is None:
        return None
    return {"id": customer.pk, "name": customer.name, "email": customer.email, "phone": customer.phone}


def coupon_data(item: Item, *, call: Call, now: datetime) -> dict:
    hold_key = pending_release_key(call)
    refusal = refusal_of(item, hold_key=hold_key, now=now)
    if isinstance(item, Voucher):
        promotion = item.promotion
        kind = {
            "type": "voucher",
            "id": item.pk,
            "code": item.code,
            "title": promotion.title,
            "offer_id": promotion.pk,
            "game_id": None,
            "offer": offer_brief(promotion, call.currency),
            "game": None,
            "expires_at": _iso(promotion.valid_until),
            "pending_until": _iso(item.locked_until) if is_locked(item, now) else None,
            "redeemed_at": _iso(getattr(item, "redeemed_at", None)),
            "created_at": _iso(item.created_at),
        }
    else:
        kind = {
            "type": "stamp_card",
            "id": str(item.pk),
            "code": item.qr_token,
            "title": item.name,
            "offer_id": None,
            "game_id": item.program_id,
            "offer": None,
            "game": game_brief(item.program),
            "expires_at": _iso(item.expires_at),
            "pending_until": _iso(item.held_until) if _is_held(item, now) else None,
            "redeemed_at": _iso(item.redeemed_at),
            "created_at": _iso(item.issued_at),
        }
    return {
        **kind,
        "status": shop_status(item, now),
        "user_id": item.customer_id,
        "user": _user(item.customer),
        "usable": refusal is None,
        "reason": wire_code(refusal) if refusal else None,
        "reason_message": message_for(refusal) if refusal else None,
    }


class CouponData(serializers.Serializer):
    """type (voucher | stamp_card), id (integer | UUID text), code (voucher code | QR
    token), title, status (active | pending | redeemed | expired | cancelled), offer_id and
    offer (a voucher's promotion, as /offers names it) or game_id and game (a stamp coupon's
    program), user_id and user {id, name, email, phone} (null: a pool voucher nobody has
    used), expires_at, pending_until (held for a checkout, till when), redeemed_at,
    created_at; usable: whether this integration could redeem it now, else reason (the
    refusal's code) and reason_message (in the path's language)."""

    def to_representation(self, item: Item) -> dict:
        return coupon_data(item, call=self.context["call"], now=timezone.now())


# What card_data (the QR card scan's) says of the owner's card.
CARD_FIELDS = ("id", "card_number", "points_balance", "stamp_count", "status")


class VerifiedCouponData(CouponData):
    """CouponData with the owner's loyalty card (card_data's: the point card, else the
    stamp card), or null."""

    def to_representation(self, item: Item) -> dict:
        data = super().to_representation(item)
        card = card_data(item.customer) if item.customer else None
        data["card"] = {name: card[name] for name in CARD_FIELDS} if card and card["id"] else None
        return data


# --- GET /coupons, GET /coupons/card ---------------------------------------------------------


class CouponsParams(PageParams):
    status = serializers.ChoiceField(choices=STATUSES, required=False)
    user_id = id_field(required=False)
    card_id = id_field(required=False)
    offer_id = id_field(required=False)
    game_id = id_field(required=False)


def _status_filter(status: str, *, ends: str, held: str, now: datetime) -> Q:
    past_end = Q(status="active", **{f"{ends}__lte": now})
    held_now = Q(**{f"{held}__gt": now})
    return {
        "active": Q(status="active") & ~past_end & ~held_now,
        "pending": Q(status="active") & ~past_end & held_now,
        "expired": Q(status="expired") | past_end,
        "redeemed": Q(status="redeemed"),
        "cancelled": Q(status="void"),
    }[status]


def coupons_list(call: Call) -> Page:
    """Vouchers (newest first), then stamp coupons (newest first)."""
    data, now = call.data, timezone.now()
    vouchers = _vouchers().order_by("-created_at", "-pk")
    coupons = _stamp_coupons().order_by("-issued_at", "-pk")
    customer = customer_named(user_id=data.get("user_id"), card_id=data.get("card_id"))
    if customer is not None:
        vouchers, coupons = vouchers.filter(customer=customer), coupons.filter(customer=customer)
    if "offer_id" in data:
        vouchers, coupons = vouchers.filter(promotion_id=data["offer_id"]), coupons.none()
    if "game_id" in data:
        vouchers, coupons = vouchers.none(), coupons.filter(program_id=data["game_id"])
    if "status" in data:
        status = data["status"]
        vouchers = vouchers.filter(
            _status_filter(status, ends="promotion__valid_until", held="locked_until", now=now)
        )
        coupons = coupons.filter(_status_filter(status, ends="expires_at", held="held_until", now=now))
    per_page, page = data.get("per_page") or PER_PAGE_DEFAULT, data.get("page") or 1
    start, end = (page - 1) * per_page, page * per_page
    voucher_count = vouchers.count()
    rows = list(vouchers[start:end]) if start < voucher_count else []
    if len(rows) < per_page:
        rows += list(coupons[max(0, start - voucher_count) : end - voucher_count])
    return Page(rows=rows, current_page=page, per_page=per_page, total=voucher_count + coupons.count())


class CouponsView(ShopApiView):
    get = ShopQuery(
        "shop_coupons_list",
        CouponData,
        coupons_list,
        params=CouponsParams,
        errors=(errors.CUSTOMER_NOT_FOUND,),
    )


class CardCouponsParams(ShopParams):
    shop_id = id_field()
    card_id = id_field(required=False)
    user_id = id_field(required=False)


def card_coupons(call: Call) -> list[Item]:
    """The customer's coupons this integration could redeem now (those it holds for a
    checkout included): their vouchers, then their stamp coupons."""
    data, now, hold_key = call.data, timezone.now(), pending_release_key(call)
    open_shop(data["shop_id"])
    if "card_id" not in data and "user_id" not in data:
        raise errors.field_error("card_id", "required")(field="card_id")
    customer = customer_named(user_id=data.get("user_id"), card_id=data.get("card_id"))
    refuse_blocked_customer(customer)
    vouchers = _vouchers().filter(customer=customer, status="active").order_by("-created_at", "-pk")
    coupons = _stamp_coupons().filter(customer=customer, status="active").order_by("-issued_at", "-pk")
    return [item for item in [*vouchers, *coupons] if refusal_of(item, hold_key=hold_key, now=now) is None]


class CardCouponsView(ShopApiView):
    get = ShopQuery(
        "shop_coupons_card",
        CouponData,
        card_coupons,
        many=True,
        params=CardCouponsParams,
        errors=(errors.SHOP_NOT_FOUND, errors.CUSTOMER_NOT_FOUND, errors.CUSTOMER_BLOCKED),
    )


# --- POST /coupons/verify --------------------------------------------------------------------


class VerifyRequest(s.PosRequestSerializer):
    code = s.StrictCharField(max_length=100)
    shop_id = s.StrictIntegerField(min_value=1, max_value=MAX_ID)


def coupon_verify(call: Call) -> Item:
    open_shop(call.data["shop_id"])
    return coupon_by_code(call.data["code"])


class CouponVerifyView(ShopApiView):
    post = ShopCommand(
        "shop_coupons_verify",
        VerifyRequest,
        VerifiedCouponData,
        coupon_verify,
        rate_limit="customer",
        errors=(errors.SHOP_NOT_FOUND, errors.COUPON_NOT_FOUND),
    )


# --- POST /coupons/redeem --------------------------------------------------------------------


class RedeemRequest(s.VerificationFieldsMixin, s.PosRequestSerializer):
    coupon_id = CouponIdField()
    shop_id = s.StrictIntegerField(min_value=1, max_value=MAX_ID)
    selected_product_id = s.StrictIntegerField(
        required=False,
        min_value=1,
        max_value=MAX_ID,
        help_text="Refused: no coupon here offers a choice of product (see /coupons/products).",
    )
    notes = s.StrictCharField(
        required=False,
        max_length=500,
        allow_blank=True,
        multiline=True,
        help_text="Accepted for compatibility and checked, but not kept: redemptions here have no notes.",
    )
    purchase_amount = s.RawValueField(
        schema=s.MONEY,
        required=False,
        help_text="The basket's total: needed (and checked) where a voucher's promotion has a minimum spend.",
    )


def no_product_choice(call: Call) -> None:
    if "selected_product_id" in call.data:
        raise errors.COUPON_PRODUCT_CHOICE_NOT_OFFERED(field="selected_product_id")


def redeem_check(call: Call) -> None:
    """The refusals before any PIN prompt: the input, the shop, the coupon, a stamp
    coupon's state (a voucher asks no PIN: voucher_redeem makes its refusals)."""
    if "purchase_amount" in call.data:
        call.extra["amount"] = _money(call.data["purchase_amount"], call.currency, "purchase_amount")
    no_product_choice(call)
    open_shop(call.data["shop_id"])
    item = coupon_by_id(call.data["coupon_id"])
    if isinstance(item, Coupon):
        coupon_redeem_check(coupon=item, hold_key=pending_release_key(call))
    call.extra["coupon"] = item


def _in_shop_words(refused: DomainError, voucher: Voucher) -> DomainError:
    """A voucher service's refusal as the Shop API names it: a lock this key does not hold
    (a till's, or another integration's hold) is coupon_held_elsewhere, as for a stamp
    coupon; the basket's amount is the body's purchase_amount."""
    if refused.error is errors.VOUCHER_LOCKED:
        return errors.COUPON_HELD_ELSEWHERE(**refused.extra)
    if refused.error is errors.RELEASE_KEY_INVALID:
        # As read before the service's lock: the failed transaction can read no more.
        return errors.COUPON_HELD_ELSEWHERE(locked_until=_iso(voucher.locked_until))
    if refused.error is errors.AMOUNT_REQUIRED:
        return errors.AMOUNT_REQUIRED(field="purchase_amount")
    return refused


def coupon_redeem_call(call: Call) -> Item:
    item = call.extra["coupon"]
    if isinstance(item, Coupon):
        coupon_redeem(coupon_id=item.pk, hold_key=pending_release_key(call), **call.arguments(pin=True))
        return _stamp_coupons().get(pk=item.pk)
    try:
        # A voucher this integration holds (`/coupons/pending`) is redeemed with its key.
        voucher_redeem(
            code=item.code,
            release_key=pending_release_key(call),
            amount=call.extra.get("amount"),
            **call.arguments(),
        )
    except DomainError as refused:
        raise _in_shop_words(refused, item) from None
    return _vouchers().get(pk=item.pk)


def _redeem_pin_action(call: Call) -> str | None:
    # The POS API asks a PIN for a stamp coupon (coupon_redeem), not for a voucher.
    return "coupon_redeem" if isinstance(call.data["coupon_id"], uuid.UUID) else None


class CouponRedeemView(ShopApiView):
    post = ShopCommand(
        "shop_coupons_redeem",
        RedeemRequest,
        CouponData,
        coupon_redeem_call,
        pin_action=_redeem_pin_action,
        pin_summary=pin_summaries.coupon_summary,
        check=redeem_check,
        pin_customer=lambda call: call.extra["coupon"].customer,
        errors=(
            errors.SHOP_NOT_FOUND,
            errors.COUPON_NOT_FOUND,
            errors.COUPON_ALREADY_USED,
            errors.COUPON_EXPIRED,
            errors.VOUCHER_ALREADY_USED,
            errors.VOUCHER_EXPIRED,
            errors.VOUCHER_NOT_YET_VALID,
            errors.COUPON_HELD_ELSEWHERE,
            errors.MINIMUM_SPEND_NOT_MET,
            errors.USAGE_LIMIT_REACHED,
            errors.AMOUNT_REQUIRED,
            errors.CUSTOMER_BLOCKED,
            errors.COUPON_PRODUCT_CHOICE_NOT_OFFERED,
        ),
    )


# --- POST /coupons/calculate-discount --------------------------------------------------------


class CartItemRequest(s.PosRequestSerializer):
    sku = s.StrictCharField(required=False, max_length=255, allow_blank=True, default="")
    category = s.StrictCharField(required=False, max_length=120, allow_blank=True, default="")
    price = s.RawValueField(schema=s.MONEY, help_text="The unit price.")
    quantity = s.StrictIntegerField(required=False, min_value=1, max_value=100_000, default=1)
    id = s.RawValueField(required=False, help_text="Ignored: the shop's own line id.")
    name = s.StrictCharField(required=False, max_length=255, allow_blank=True)


class DiscountRequest(s.PosRequestSerializer):
    coupon_code = s.StrictCharField(max_length=100)
    purchase_amount = s.RawValueField(schema=s.MONEY)
    cart_items = s.RawValueField(
        required=False,
        schema={"type": "array", "maxItems": MAX_CART_LINES},
        help_text="CartItemRequest lines.",
    )


def _money(value: object, currency: str, field: str) -> Decimal:
    amount = exact_decimal(value, places=currency_exponent(currency))
    if amount is None or amount < 0:
        raise errors.field_error(field, "invalid")(field=field)
    return amount


def _cart_lines(raw: object) -> list[dict]:
    invalid = errors.field_error("cart_items", "invalid")
    if not isinstance(raw, list) or len(raw) > MAX_CART_LINES:
        raise invalid(field="cart_items")
    lines = []
    for line in raw:
        checked = CartItemRequest(data=line)
        if not isinstance(line, dict) or not checked.is_valid():
            raise invalid(field="cart_items")
        lines.append(checked.validated_data)
    return lines


def _cart(call: Call) -> list[CartLine] | None:
    if "cart_items" not in call.data:
        return None
    return [
        CartLine(
            sku=line["sku"],
            category=line["category"],
            unit_price=_money(line["price"], call.currency, "cart_items"),
            quantity=line["quantity"],
        )
        for line in _cart_lines(call.data["cart_items"])
    ]


def coupon_discount(call: Call) -> dict:
    """What the voucher takes off this purchase (vouchers.services.voucher_discount). A
    stamp coupon's reward is an item with no price here: coupon_no_discount."""
    currency = call.currency
    amount = _money(call.data["purchase_amount"], currency, "purchase_amount")
    cart = _cart(call)
    item = coupon_by_code(call.data["coupon_code"])
    if isinstance(item, Coupon):
        coupon_redeem_check(coupon=item, hold_key=pending_release_key(call))
        raise errors.COUPON_NO_DISCOUNT()
    discount = voucher_discount(code=item.code, amount=amount, currency=currency, cart=cart)
    offer = offer_brief(item.promotion, currency)
    return {
        "coupon_id": item.pk,
        "coupon_code": item.code,
        "type": "voucher",
        "currency": currency,
        "purchase_amount": money_text(amount, currency),
        "discount_amount": money_text(discount, currency),
        "final_amount": money_text(amount - discount, currency),
        "discount_type": offer["discount_type"] or offer["type"],
        "offer": offer,
    }


class AsIs(serializers.Serializer):
    def to_representation(self, data: dict) -> dict:
        return data


class CouponDiscountView(ShopApiView):
    post = ShopCommand(
        "shop_coupons_calculate_discount",
        DiscountRequest,
        AsIs,
        coupon_discount,
        rate_limit="customer",
        errors=(
            errors.COUPON_NOT_FOUND,
            errors.VOUCHER_ALREADY_USED,
            errors.VOUCHER_EXPIRED,
            errors.VOUCHER_NOT_YET_VALID,
            errors.MINIMUM_SPEND_NOT_MET,
            errors.USAGE_LIMIT_REACHED,
            errors.CUSTOMER_BLOCKED,
            errors.CART_ITEMS_REQUIRED,
            errors.COUPON_NOT_APPLICABLE,
            errors.COUPON_NO_DISCOUNT,
            errors.COUPON_ALREADY_USED,
            errors.COUPON_EXPIRED,
        ),
    )


# --- GET /coupons/products -------------------------------------------------------------------


class ProductsParams(ShopParams):
    coupon_id = CouponIdField()


def coupon_products(call: Call) -> dict:
    """Rewards and promotions here name their SKUs (or a category) and offer no choice, so
    there is never a product to pick; an unknown coupon is refused."""
    coupon_by_id(call.data["coupon_id"])
    return {"products": [], "selection_required": False}


class ProductsView(ShopApiView):
    """No coupon here offers a choice of products (a promotion's SKUs are fixed, a stamp
    card's reward is one item): always an empty list, no selection."""

    get = ShopQuery(
        "shop_coupons_products",
        AsIs,
        coupon_products,
        params=ProductsParams,
        errors=(errors.COUPON_NOT_FOUND,),
    )


# --- POST /coupons/pending, /coupons/cancel-pending ------------------------------------------


class PendingRequest(s.PosRequestSerializer):
    coupon_id = CouponIdField()
    shop_id = s.StrictIntegerField(min_value=1, max_value=MAX_ID)
    selected_product_id = s.StrictIntegerField(
        required=False, min_value=1, max_value=MAX_ID, help_text="Refused, as in /coupons/redeem."
    )


class CancelPendingRequest(s.PosRequestSerializer):
    coupon_id = CouponIdField()
    shop_id = s.StrictIntegerField(min_value=1, max_value=MAX_ID)


def _to_hold(call: Call) -> Item:
    open_shop(call.data["shop_id"])
    no_product_choice(call)
    return coupon_by_id(call.data["coupon_id"])


def coupon_pending(call: Call) -> Item:
    """Hold the coupon for this integration's checkout with its derived key
    (pending_release_key) for PENDING_SECONDS, unless it is redeemed or cancelled first: a
    voucher's lock, a stamp coupon's hold. Holding it again renews the time."""
    item = _to_hold(call)
    key = pending_release_key(call)
    if isinstance(item, Coupon):
        coupon_hold(coupon_id=item.pk, hold_key=key, ttl_seconds=PENDING_SECONDS)
        return _stamp_coupons().get(pk=item.pk)
    try:
        voucher_hold(code=item.code, release_key=key, ttl_seconds=PENDING_SECONDS)
    except DomainError as refused:
        raise _in_shop_words(refused, item) from None
    return _vouchers().get(pk=item.pk)


def coupon_pending_cancel(call: Call) -> Item:
    """End this integration's hold; a coupon it does not hold (any more) is answered as
    it is, so a retried cancel succeeds. Another's hold is refused."""
    item = _to_hold(call)
    if isinstance(item, Coupon):
        coupon_hold_release(coupon_id=item.pk, hold_key=pending_release_key(call))
        return _stamp_coupons().get(pk=item.pk)
    try:
        voucher_release(code=item.code, release_key=pending_release_key(call))
    except DomainError as refused:
        raise _in_shop_words(refused, item) from None
    return _vouchers().get(pk=item.pk)


HOLD_ERRORS = (
    errors.SHOP_NOT_FOUND,
    errors.COUPON_NOT_FOUND,
    errors.COUPON_PRODUCT_CHOICE_NOT_OFFERED,
)


class CouponPendingView(ShopApiView):
    post = ShopCommand(
        "shop_coupons_pending",
        PendingRequest,
        CouponData,
        coupon_pending,
        errors=(
            *HOLD_ERRORS,
            errors.COUPON_HELD_ELSEWHERE,
            errors.COUPON_ALREADY_USED,
            errors.COUPON_EXPIRED,
            errors.VOUCHER_ALREADY_USED,
            errors.VOUCHER_EXPIRED,
            errors.VOUCHER_NOT_YET_VALID,
            errors.USAGE_LIMIT_REACHED,
            errors.CUSTOMER_BLOCKED,
        ),
    )


class CouponCancelPendingView(ShopApiView):
    post = ShopCommand(
        "shop_coupons_cancel_pending",
        CancelPendingRequest,
        CouponData,
        coupon_pending_cancel,
        errors=(*HOLD_ERRORS, errors.COUPON_HELD_ELSEWHERE),
    )
