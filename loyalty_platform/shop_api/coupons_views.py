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
from django.db.models import Q
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
from loyalty_platform.pos_api import serializers as s
from loyalty_platform.pos_api.endpoints import Call, parse_uuid
from loyalty_platform.programs.models import Card
from loyalty_platform.shop_api.messages import wire_code
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
from loyalty_platform.shops.models import Shop
from loyalty_platform.vouchers.models import Voucher
from loyalty_platform.vouchers.services import (
    CartLine,
    is_locked,
    voucher_check,
    voucher_discount,
    voucher_find,
    voucher_hold,
    voucher_redeem,
    voucher_release,
)

MAX_ID = 2**62
# How long a checkout holds a voucher (`/coupons/pending`) unless it is cancelled or redeemed.
PENDING_SECONDS = 900
MAX_CART_LINES = 500

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
    return Voucher.objects.select_related("promotion", "customer")


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
        return voucher_find(code)
    except DomainError:
        raise errors.COUPON_NOT_FOUND() from None


def active_shop(shop_id: int) -> Shop:
    shop = Shop.objects.filter(pk=shop_id, is_active=True).first()
    if shop is None:
        raise errors.SHOP_NOT_FOUND()
    return shop


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


def refusal_of(item: Item) -> ErrorType | None:
    """Why the coupon cannot be redeemed now (the services' own checks), or None."""
    try:
        if isinstance(item, Voucher):
            voucher_check(code=item.code)
            if is_locked(item, timezone.now()):
                return errors.VOUCHER_LOCKED
        else:
            coupon_redeem_check(coupon=item)
    except DomainError as refused:
        return refused.error
    return None


# --- What a coupon looks like --------------------------------------------------------------

SHOP_STATUS = {"void": "cancelled"}


def shop_status(item: Item, now: datetime) -> str:
    """active | redeemed | expired | cancelled: an active one past its end is expired."""
    ends = item.promotion.valid_until if isinstance(item, Voucher) else item.expires_at
    if item.status == "active" and ends is not None and ends <= now:
        return "expired"
    return SHOP_STATUS.get(item.status, item.status)


def _user(customer: Customer | None) -> dict | None:
    if customer is None:
        return None
    return {"id": customer.pk, "email": customer.email, "name": customer.name}


def coupon_data(item: Item, now: datetime) -> dict:
    refusal = refusal_of(item)
    if isinstance(item, Voucher):
        promotion = item.promotion
        kind = {
            "type": "voucher",
            "id": item.pk,
            "code": item.code,
            "title": promotion.title,
            "offer": {"id": promotion.pk, "title": promotion.title},
            "game": None,
            "expires_at": promotion.valid_until,
        }
    else:
        kind = {
            "type": "stamp_card",
            "id": str(item.pk),
            "code": item.qr_token,
            "title": item.name,
            "offer": None,
            "game": {"id": item.program_id, "name": item.program.name},
            "expires_at": item.expires_at,
        }
    expires_at = kind.pop("expires_at")
    return {
        **kind,
        "status": shop_status(item, now),
        "user": _user(item.customer),
        "expires_at": expires_at.isoformat() if expires_at else None,
        "pending_until": _pending_until(item, now),
        "usable": refusal is None,
        "reason": wire_code(refusal) if refusal else None,
    }


def _pending_until(item: Item, now: datetime) -> str | None:
    if isinstance(item, Voucher):
        return item.locked_until.isoformat() if is_locked(item, now) else None
    return item.held_until.isoformat() if item.held_until and item.held_until > now else None


class CouponData(serializers.Serializer):
    """type (voucher | stamp_card), id (integer | UUID text), code (voucher code | QR token),
    title, offer {id, title} or game {id, name}, status, user {id, email, name}, expires_at,
    pending_until (a voucher held for a checkout, till when), usable, reason (the refusal's
    code when not usable)."""

    def to_representation(self, item: Item) -> dict:
        return coupon_data(item, timezone.now())


# --- GET /coupons, GET /coupons/card ---------------------------------------------------------


class CouponsParams(PageParams):
    status = serializers.ChoiceField(choices=["active", "redeemed", "expired", "cancelled"], required=False)
    user_id = id_field(required=False)
    card_id = id_field(required=False)


def _status_filter(status: str, ends: str, now: datetime) -> Q:
    past_end = Q(status="active", **{f"{ends}__lte": now})
    return {
        "active": Q(status="active") & ~past_end,
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
    if "status" in data:
        vouchers = vouchers.filter(_status_filter(data["status"], "promotion__valid_until", now))
        coupons = coupons.filter(_status_filter(data["status"], "expires_at", now))
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
    """The customer's coupons they can use now: their vouchers, then their stamp coupons."""
    data = call.data
    active_shop(data["shop_id"])
    if "card_id" not in data and "user_id" not in data:
        raise errors.field_error("card_id", "required")(field="card_id")
    customer = customer_named(user_id=data.get("user_id"), card_id=data.get("card_id"))
    refuse_blocked_customer(customer)
    vouchers = _vouchers().filter(customer=customer, status="active").order_by("-created_at", "-pk")
    coupons = _stamp_coupons().filter(customer=customer, status="active").order_by("-issued_at", "-pk")
    return [item for item in [*vouchers, *coupons] if refusal_of(item) is None]


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
    active_shop(call.data["shop_id"])
    return coupon_by_code(call.data["code"])


class CouponVerifyView(ShopApiView):
    post = ShopCommand(
        "shop_coupons_verify",
        VerifyRequest,
        CouponData,
        coupon_verify,
        rate_limit="customer",
        errors=(errors.SHOP_NOT_FOUND, errors.COUPON_NOT_FOUND),
    )


# --- POST /coupons/redeem --------------------------------------------------------------------


class RedeemRequest(s.VerificationFieldsMixin, s.PosRequestSerializer):
    coupon_id = CouponIdField()
    shop_id = s.StrictIntegerField(min_value=1, max_value=MAX_ID)
    selected_product_id = s.StrictIntegerField(required=False, min_value=1, max_value=MAX_ID)
    notes = s.StrictCharField(required=False, max_length=500, allow_blank=True, multiline=True)


def no_product_choice(call: Call) -> None:
    if "selected_product_id" in call.data:
        raise errors.COUPON_PRODUCT_CHOICE_NOT_OFFERED(field="selected_product_id")


def redeem_check(call: Call) -> None:
    """The refusals before any PIN prompt: the shop, the coupon, a stamp coupon's state."""
    active_shop(call.data["shop_id"])
    no_product_choice(call)
    item = coupon_by_id(call.data["coupon_id"])
    if isinstance(item, Coupon):
        coupon_redeem_check(coupon=item, hold_key=pending_release_key(call))
    call.extra["coupon"] = item


def pending_release_key(call: Call) -> str:
    """The release key of the vouchers this API key holds for a checkout: only this
    integration can derive it, and it differs between organizations."""
    message = f"shop-coupon-pending:{connection.schema_name}:{call.api_key_lookup_id}".encode()
    return hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).hexdigest()


def _as_held_elsewhere(refused: DomainError, voucher: Voucher) -> DomainError:
    """Another key's lock (a till's or another integration's) refuses this one's key."""
    if refused.error is errors.RELEASE_KEY_INVALID:
        # As read before the service's lock: the failed transaction can read no more.
        locked_until = voucher.locked_until.isoformat() if voucher.locked_until else None
        return errors.COUPON_HELD_ELSEWHERE(locked_until=locked_until)
    return refused


def coupon_redeem_call(call: Call) -> Item:
    item = call.extra["coupon"]
    if isinstance(item, Coupon):
        coupon_redeem(coupon_id=item.pk, hold_key=pending_release_key(call), **call.arguments(pin=True))
        return _stamp_coupons().get(pk=item.pk)
    try:
        # A voucher this integration holds (`/coupons/pending`) is redeemed with its key.
        redemption = voucher_redeem(code=item.code, release_key=pending_release_key(call), **call.arguments())
    except DomainError as refused:
        raise _as_held_elsewhere(refused, item) from None
    return redemption.voucher


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
    currency = call.currency
    amount = _money(call.data["purchase_amount"], currency, "purchase_amount")
    cart = _cart(call)
    item = coupon_by_code(call.data["coupon_code"])
    if isinstance(item, Coupon):
        raise errors.STAMP_COUPON_NO_DISCOUNT()
    discount = voucher_discount(code=item.code, amount=amount, currency=currency, cart=cart)
    promotion = item.promotion
    value = promotion.discount_value
    return {
        "coupon_code": item.code,
        "type": "voucher",
        "currency": currency,
        "purchase_amount": money_text(amount, currency),
        "discount_amount": money_text(discount, currency),
        "final_amount": money_text(amount - discount, currency),
        "discount_type": promotion.discount_type or None,
        "discount_value": str(value) if value is not None else None,
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
            errors.STAMP_COUPON_NO_DISCOUNT,
        ),
    )


# --- GET /coupons/products -------------------------------------------------------------------


class ProductsParams(ShopParams):
    coupon_id = CouponIdField()


def coupon_products(call: Call) -> dict:
    coupon_by_id(call.data["coupon_id"])  # an unknown coupon is refused
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
    selected_product_id = s.StrictIntegerField(required=False, min_value=1, max_value=MAX_ID)


class CancelPendingRequest(s.PosRequestSerializer):
    coupon_id = CouponIdField()
    shop_id = s.StrictIntegerField(min_value=1, max_value=MAX_ID)


def _to_hold(call: Call) -> Item:
    active_shop(call.data["shop_id"])
    no_product_choice(call)
    return coupon_by_id(call.data["coupon_id"])


def coupon_pending(call: Call) -> Item:
    """Hold the coupon for this integration's checkout with a key derived from the API key,
    freed after PENDING_SECONDS if never redeemed: a voucher's lock, a stamp coupon's hold."""
    item = _to_hold(call)
    key = pending_release_key(call)
    if isinstance(item, Coupon):
        coupon_hold(coupon_id=item.pk, hold_key=key, ttl_seconds=PENDING_SECONDS)
        return _stamp_coupons().get(pk=item.pk)
    voucher_hold(code=item.code, release_key=key, ttl_seconds=PENDING_SECONDS)
    return _vouchers().get(pk=item.pk)


def coupon_pending_cancel(call: Call) -> Item:
    voucher = _to_hold(call)
    if isinstance(voucher, Coupon):
        coupon_hold_release(coupon_id=voucher.pk, hold_key=pending_release_key(call))
        return _stamp_coupons().get(pk=voucher.pk)
    try:
        voucher_release(code=voucher.code, release_key=pending_release_key(call))
    except DomainError as refused:
        raise _as_held_elsewhere(refused, voucher) from None
    return _vouchers().get(pk=voucher.pk)


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
            errors.VOUCHER_LOCKED,
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
