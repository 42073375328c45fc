"""Coupons through the unmodified SDK: vouchers of promotions and stamp-card coupons."""

import uuid
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.db import connection, transaction
from django.utils import timezone
from django_tenants.utils import tenant_context

from loyalty_platform.core.errors import DomainError
from loyalty_platform.coupons.models import Coupon
from loyalty_platform.coupons.services import coupon_hold, coupon_issue, coupon_redeem
from loyalty_platform.customers.models import Customer
from loyalty_platform.programs.models import Card, Program
from loyalty_platform.shop_api.coupons_views import PENDING_SECONDS
from loyalty_platform.shops.models import Shop
from loyalty_platform.verification.models import PinChallenge
from loyalty_platform.verification.services import open_pins_for_customer
from loyalty_platform.vouchers.models import Promotion, Voucher, VoucherRedemption
from loyalty_platform.vouchers.services import voucher_hold, voucher_redeem
from tenants.models import Organization
from tests.pos_fixtures import create_customer, issue_key, run_at_once, snapshot
from tests.shop_api.conftest import in_shop, make_sdk, refused, unique_email

STATUSES = ("active", "pending", "redeemed", "expired", "cancelled")

_codes = iter(range(10**6))


@pytest.fixture(scope="module")
def shop(shop_organization, django_db_blocker):
    with django_db_blocker.unblock(), in_shop(shop_organization):
        return Shop.objects.create(name="Main street", address="Gedimino pr. 1")


@pytest.fixture(scope="module")
def closed_shop(shop_organization, django_db_blocker):
    with django_db_blocker.unblock(), in_shop(shop_organization):
        return Shop.objects.create(name="Closed", address="Old town", is_active=False)


def make_voucher(organization, *, customer=None, **promotion_fields) -> Voucher:
    with in_shop(organization):
        promotion = Promotion.objects.create(
            title=promotion_fields.pop("title", "10% off"), **promotion_fields
        )
        voucher = Voucher.objects.create(
            promotion=promotion, code=f"SHOPC{uuid.uuid4().hex[:10].upper()}", customer=customer
        )
        return Voucher.objects.select_related("promotion").get(pk=voucher.pk)


def make_stamp_coupon(organization, customer, **fields) -> Coupon:
    with in_shop(organization):
        coupon = coupon_issue(customer=customer, program=Program.objects.get(kind="stamp", is_active=True))
        if fields:
            Coupon.objects.filter(pk=coupon.pk).update(**fields)
            coupon.refresh_from_db()
        return coupon


def state(organization) -> dict:
    """What a coupon call may change."""
    with in_shop(organization):
        return {
            **snapshot(organization),
            "vouchers": list(
                Voucher.objects.order_by("pk").values_list("pk", "status", "uses", "locked_until", "customer")
            ),
            "redemptions": VoucherRedemption.objects.count(),
            "stamp_coupons": list(
                Coupon.objects.order_by("pk").values_list(
                    "pk", "status", "redeemed_at", "held_until", "held_by"
                )
            ),
        }


def card_of(organization, customer, kind="point") -> Card:
    with in_shop(organization):
        return Card.objects.get(customer=customer, program__kind=kind)


# --- verify ----------------------------------------------------------------------------------


def user_of(customer) -> dict:
    return {"id": customer.pk, "name": customer.name, "email": customer.email, "phone": customer.phone}


def test_verify_a_voucher(sdk, shop_organization, shop):
    customer = create_customer(shop_organization, points=250)
    ends = timezone.now() + timedelta(days=3)
    voucher = make_voucher(
        shop_organization,
        customer=customer,
        title="Free cake",
        description="Any cake",
        valid_until=ends,
        discount_type="percentage_discount",
        discount_value=Decimal("12.50"),
        category="bakery",
        minimum_spend=Decimal("15.00"),
    )
    card = card_of(shop_organization, customer)

    data = sdk.verify_coupon(voucher.code.lower(), shop.pk)

    assert data == {
        "type": "voucher",
        "id": voucher.pk,
        "code": voucher.code,
        "title": "Free cake",
        "offer_id": voucher.promotion_id,
        "game_id": None,
        "offer": {
            "id": voucher.promotion_id,
            "title": "Free cake",
            "description": "Any cake",
            "type": "discount",
            "discount_type": "percentage",
            "discount_percentage": "12.5",
            "discount_amount": None,
            "product_code": "",
            "categories": ["bakery"],
            "minimum_purchase": "15.00",
            "starts_at": None,
            "ends_at": ends.isoformat(),
        },
        "game": None,
        "status": "active",
        "user_id": customer.pk,
        "user": user_of(customer),
        "card": {
            "id": card.pk,
            "card_number": card.card_number,
            "points_balance": 250,
            "stamp_count": 0,
            "status": "active",
        },
        "expires_at": ends.isoformat(),
        "pending_until": None,
        "redeemed_at": None,
        "created_at": voucher.created_at.isoformat(),
        "usable": True,
        "reason": None,
        "reason_message": None,
    }


def test_verify_a_stamp_coupon(sdk, shop_organization, shop):
    customer = create_customer(shop_organization)
    coupon = make_stamp_coupon(shop_organization, customer)
    with in_shop(shop_organization):
        program = Program.objects.get(kind="stamp", is_active=True)

    card = card_of(shop_organization, customer)

    data = sdk.verify_coupon(coupon.qr_token, shop.pk)

    assert data == {
        "type": "stamp_card",
        "id": str(coupon.pk),
        "code": coupon.qr_token,
        "title": "Free Coffee",
        "offer_id": None,
        "game_id": program.pk,
        "offer": None,
        "game": {
            "id": program.pk,
            "name": program.name,
            "type": "stamp_card",
            "stamps_required": 10,
            "reward_name": "Free Coffee",
        },
        "status": "active",
        "user_id": customer.pk,
        "user": user_of(customer),
        "card": {
            "id": card.pk,
            "card_number": card.card_number,
            "points_balance": 0,
            "stamp_count": 0,
            "status": "active",
        },
        "expires_at": None,
        "pending_until": None,
        "redeemed_at": None,
        "created_at": coupon.issued_at.isoformat(),
        "usable": True,
        "reason": None,
        "reason_message": None,
    }


def test_verify_says_why_a_coupon_cannot_be_used(server, shop_key, sdk, shop_organization, shop):
    customer = create_customer(shop_organization)
    used = make_stamp_coupon(shop_organization, customer, status="redeemed", redeemed_at=timezone.now())
    past = make_stamp_coupon(shop_organization, customer, expires_at=timezone.now() - timedelta(days=1))
    ended = make_voucher(shop_organization, valid_until=timezone.now() - timedelta(days=1))
    early = make_voucher(shop_organization, valid_from=timezone.now() + timedelta(days=1))
    before = state(shop_organization)

    answers = {
        name: sdk.verify_coupon(code, shop.pk)
        for name, code in (
            ("used", used.qr_token),
            ("past", past.qr_token),
            ("ended", ended.code),
            ("early", early.code),
        )
    }

    assert {name: (a["status"], a["usable"], a["reason"]) for name, a in answers.items()} == {
        "used": ("redeemed", False, "COUPON_ALREADY_USED"),
        "past": ("expired", False, "COUPON_EXPIRED"),
        "ended": ("expired", False, "VOUCHER_EXPIRED"),
        "early": ("active", False, "VOUCHER_NOT_YET_VALID"),
    }
    assert (answers["ended"]["user"], answers["ended"]["card"]) == (None, None)
    assert answers["used"]["redeemed_at"] is not None
    assert answers["used"]["reason_message"] == "The coupon was redeemed before."
    lithuanian = make_sdk(server, shop_key, locale="lt")
    assert lithuanian.verify_coupon(used.qr_token, shop.pk)["reason_message"] == "Kuponas jau panaudotas."
    assert (
        lithuanian.verify_coupon(ended.code, shop.pk)["reason_message"]
        == "Akcija, kuriai priklauso kuponas, jau baigėsi."
    )
    assert state(shop_organization) == before


def test_verify_refusals(sdk, shop_organization, shop, closed_shop):
    voucher = make_voucher(shop_organization)
    with in_shop(shop_organization):
        Voucher.objects.filter(pk=make_voucher(shop_organization).pk).update(status="void")
    before = state(shop_organization)
    cases = [
        (("NOSUCHCODE1", shop.pk), 404, "COUPON_NOT_FOUND"),
        (("cq_nosuchtoken", shop.pk), 404, "COUPON_NOT_FOUND"),
        (("!!", shop.pk), 404, "COUPON_NOT_FOUND"),
        ((voucher.code, closed_shop.pk), 404, "SHOP_NOT_FOUND"),
        ((voucher.code, 2**62), 404, "SHOP_NOT_FOUND"),
        ((voucher.code, 2**70), 422, "SHOP_ID_INVALID"),
        ((voucher.code, "1"), 422, "SHOP_ID_INVALID"),
        ((voucher.code, True), 422, "SHOP_ID_INVALID"),
        ((42, shop.pk), 422, "CODE_INVALID"),
        (("A\x00BCDEF", shop.pk), 400, "INVALID_CHARACTERS"),
        (("x" * 101, shop.pk), 422, "CODE_INVALID"),
    ]
    for args, status, code in cases:
        error = refused(sdk.verify_coupon, *args)
        assert (error.http_status, error.code) == (status, code), args
    missing = refused(sdk._request, "POST", "/coupons/verify", {"code": voucher.code})
    assert (missing.http_status, missing.code) == (422, "SHOP_ID_REQUIRED")
    extra = refused(
        sdk._request, "POST", "/coupons/verify", {"code": voucher.code, "shop_id": shop.pk, "x": 1}
    )
    assert extra.code == "UNKNOWN_FIELD"
    assert state(shop_organization) == before


def test_a_void_voucher_is_not_found(sdk, shop_organization, shop):
    voucher = make_voucher(shop_organization)
    with in_shop(shop_organization):
        Voucher.objects.filter(pk=voucher.pk).update(status="void")
    assert refused(sdk.verify_coupon, voucher.code, shop.pk).code == "COUPON_NOT_FOUND"
    assert refused(sdk.redeem_coupon, voucher.pk, shop.pk).code == "COUPON_NOT_FOUND"


# --- list ------------------------------------------------------------------------------------


def test_list_a_customers_coupons_by_user_or_card(sdk, shop_organization):
    customer = create_customer(shop_organization)
    create_customer(shop_organization)  # someone else's coupons stay out
    first = make_voucher(shop_organization, customer=customer)
    second = make_voucher(shop_organization, customer=customer)
    stamp = make_stamp_coupon(shop_organization, customer)
    card = card_of(shop_organization, customer, "stamp")

    listed = sdk.list_coupons(user_id=customer.pk)
    by_card = sdk.list_coupons(card_id=card.pk)

    assert [row["id"] for row in listed["data"]] == [second.pk, first.pk, str(stamp.pk)]
    assert listed["meta"] == {"current_page": 1, "per_page": 15, "total": 3, "last_page": 1}
    assert by_card == listed


def test_list_pages_run_from_vouchers_into_stamp_coupons(sdk, shop_organization):
    customer = create_customer(shop_organization)
    vouchers = [make_voucher(shop_organization, customer=customer) for _ in range(3)]
    stamps = [make_stamp_coupon(shop_organization, customer) for _ in range(2)]
    expected = [v.pk for v in reversed(vouchers)] + [str(c.pk) for c in reversed(stamps)]

    pages = [sdk.list_coupons(user_id=customer.pk, per_page=2, page=page) for page in (1, 2, 3, 4)]

    assert [row["id"] for page in pages for row in page["data"]] == expected
    assert [page["meta"]["last_page"] for page in pages] == [3, 3, 3, 3]
    assert pages[3]["data"] == []


def test_list_filters_by_status(sdk, shop_organization, shop):
    customer = create_customer(shop_organization)
    now = timezone.now()
    active = make_voucher(shop_organization, customer=customer)
    ended = make_voucher(shop_organization, customer=customer, valid_until=now - timedelta(hours=1))
    held = make_voucher(shop_organization, customer=customer)
    used = make_voucher(shop_organization, customer=customer)
    redeemed = make_stamp_coupon(shop_organization, customer, status="redeemed", redeemed_at=now)
    expired = make_stamp_coupon(shop_organization, customer, expires_at=now - timedelta(hours=1))
    cancelled = make_stamp_coupon(shop_organization, customer, status="void")
    held_stamp = make_stamp_coupon(shop_organization, customer)
    stamp = make_stamp_coupon(shop_organization, customer)
    sdk.set_coupon_pending(held.pk, shop.pk)
    sdk.set_coupon_pending(str(held_stamp.pk), shop.pk)
    sdk.redeem_coupon(used.pk, shop.pk)

    def rows(status):
        return sdk.list_coupons(user_id=customer.pk, status=status)["data"]

    def ids(status):
        return [row["id"] for row in rows(status)]

    assert ids("active") == [active.pk, str(stamp.pk)]
    assert ids("pending") == [held.pk, str(held_stamp.pk)]
    assert ids("expired") == [ended.pk, str(expired.pk)]
    assert ids("redeemed") == [used.pk, str(redeemed.pk)]
    assert ids("cancelled") == [str(cancelled.pk)]
    assert {status: {row["status"] for row in rows(status)} for status in STATUSES} == {
        status: {status} for status in STATUSES
    }
    assert rows("redeemed")[0]["redeemed_at"] is not None
    # The holder could redeem what it holds: pending, and usable to it.
    assert [(row["usable"], row["reason"]) for row in rows("pending")] == [(True, None), (True, None)]


def test_list_filters_by_offer_and_game(sdk, shop_organization):
    customer = create_customer(shop_organization)
    voucher = make_voucher(shop_organization, customer=customer)
    make_voucher(shop_organization, customer=customer)
    stamp = make_stamp_coupon(shop_organization, customer)
    with in_shop(shop_organization):
        game = Program.objects.get(kind="stamp", is_active=True)

    by_offer = sdk.list_coupons(user_id=customer.pk, offer_id=voucher.promotion_id)["data"]
    by_game = sdk.list_coupons(user_id=customer.pk, game_id=game.pk)["data"]

    assert [row["id"] for row in by_offer] == [voucher.pk]
    assert [row["id"] for row in by_game] == [str(stamp.pk)]
    assert sdk.list_coupons(offer_id=2**62)["data"] == []


def test_list_refusals(sdk, shop_organization):
    customer = create_customer(shop_organization)
    other = create_customer(shop_organization)
    cases = [
        ({"status": "used"}, 422, "STATUS_INVALID"),
        ({"user_id": "abc"}, 422, "USER_ID_INVALID"),
        ({"user_id": 2**70}, 422, "USER_ID_INVALID"),
        ({"user_id": 2**62}, 404, "CUSTOMER_NOT_FOUND"),
        ({"card_id": 2**62}, 404, "CUSTOMER_NOT_FOUND"),
        (
            {"user_id": customer.pk, "card_id": card_of(shop_organization, other).pk},
            404,
            "CUSTOMER_NOT_FOUND",
        ),
        ({"per_page": 101}, 422, "PER_PAGE_INVALID"),
        ({"colour": "red"}, 422, "UNKNOWN_FIELD"),
        ({"status": "active\x00"}, 400, "INVALID_CHARACTERS"),
    ]
    for params, status, code in cases:
        error = refused(sdk.list_coupons, **params)
        assert (error.http_status, error.code) == (status, code), params


# --- card ------------------------------------------------------------------------------------


def test_card_coupons_are_the_ones_the_customer_can_use(server, sdk, shop_organization, shop):
    customer = create_customer(shop_organization)
    usable = make_voucher(shop_organization, customer=customer)
    make_voucher(shop_organization, customer=customer, valid_until=timezone.now() - timedelta(hours=1))
    make_voucher(shop_organization, customer=customer, valid_from=timezone.now() + timedelta(hours=1))
    held_elsewhere = make_voucher(shop_organization, customer=customer)
    make_voucher(shop_organization)  # in the pool: nobody's yet
    stamp = make_stamp_coupon(shop_organization, customer)
    held_here = make_stamp_coupon(shop_organization, customer)
    make_stamp_coupon(shop_organization, customer, status="redeemed", redeemed_at=timezone.now())
    card = card_of(shop_organization, customer)
    make_sdk(server, issue_key(shop_organization)).set_coupon_pending(held_elsewhere.pk, shop.pk)
    sdk.set_coupon_pending(str(held_here.pk), shop.pk)

    by_card = sdk.get_card_coupons(shop.pk, card_id=card.pk)
    by_user = sdk.get_card_coupons(shop.pk, user_id=customer.pk)
    by_stamp_card = sdk.get_card_coupons(shop.pk, card_id=card_of(shop_organization, customer, "stamp").pk)

    assert [row["id"] for row in by_card] == [usable.pk, str(held_here.pk), str(stamp.pk)]
    assert by_user == by_card == by_stamp_card
    assert [(row["status"], row["usable"]) for row in by_card] == [
        ("active", True),
        ("pending", True),
        ("active", True),
    ]


def test_card_coupons_refusals(sdk, shop_organization, shop, closed_shop):
    customer = create_customer(shop_organization)
    blocked = create_customer(shop_organization)
    with in_shop(shop_organization):
        type(blocked).objects.filter(pk=blocked.pk).update(status="blocked")
    cases = [
        ((shop.pk,), {}, 422, "CARD_ID_REQUIRED"),
        ((closed_shop.pk,), {"user_id": customer.pk}, 404, "SHOP_NOT_FOUND"),
        ((2**62,), {"user_id": customer.pk}, 404, "SHOP_NOT_FOUND"),
        ((shop.pk,), {"user_id": 2**62}, 404, "CUSTOMER_NOT_FOUND"),
        ((shop.pk,), {"card_id": 2**62}, 404, "CUSTOMER_NOT_FOUND"),
        ((shop.pk,), {"user_id": blocked.pk}, 422, "CUSTOMER_BLOCKED"),
        (("x",), {"user_id": customer.pk}, 422, "SHOP_ID_INVALID"),
    ]
    for args, kwargs, status, code in cases:
        error = refused(sdk.get_card_coupons, *args, **kwargs)
        assert (error.http_status, error.code) == (status, code), (args, kwargs)
    missing = refused(sdk._request, "GET", "/coupons/card", params={"user_id": customer.pk})
    assert missing.code == "SHOP_ID_REQUIRED"


# --- redeem ----------------------------------------------------------------------------------


def test_redeem_a_voucher_once(sdk, shop_organization, shop):
    customer = create_customer(shop_organization)
    voucher = make_voucher(shop_organization, customer=customer)

    data = sdk.redeem_coupon(voucher.pk, shop.pk, notes="Table 4")
    after_first = state(shop_organization)
    again = refused(sdk.redeem_coupon, voucher.pk, shop.pk)

    assert (data["id"], data["status"], data["usable"], data["reason"]) == (
        voucher.pk,
        "redeemed",
        False,
        "VOUCHER_ALREADY_USED",
    )
    assert (again.http_status, again.code) == (409, "VOUCHER_ALREADY_USED")
    assert state(shop_organization) == after_first
    with in_shop(shop_organization):
        redemptions = list(
            VoucherRedemption.objects.filter(voucher=voucher).values_list("customer", "api_key_lookup_id")
        )
    assert redemptions == [(customer.pk, sdk.api_key.removeprefix("lty_"))]


def test_redeem_a_stamp_coupon_once(sdk, shop_organization, shop):
    customer = create_customer(shop_organization)
    coupon = make_stamp_coupon(shop_organization, customer)

    data = sdk.redeem_coupon(str(coupon.pk), shop.pk)
    after_first = state(shop_organization)
    again = refused(sdk.redeem_coupon, str(coupon.pk), shop.pk)

    assert (data["id"], data["type"], data["status"]) == (str(coupon.pk), "stamp_card", "redeemed")
    assert (again.http_status, again.code) == (409, "COUPON_ALREADY_USED")
    assert state(shop_organization) == after_first
    with in_shop(shop_organization):
        coupon.refresh_from_db()
    assert coupon.status == "redeemed"
    assert coupon.redeemed_api_key_lookup_id == sdk.api_key.removeprefix("lty_")


@pytest.mark.parametrize("kind", ["voucher", "stamp"])
def test_eight_redemptions_at_once_make_one(server, shop_key, shop_organization, shop, kind):
    customer = create_customer(shop_organization)
    if kind == "voucher":
        coupon_id = make_voucher(shop_organization, customer=customer).pk
    else:
        coupon_id = str(make_stamp_coupon(shop_organization, customer).pk)
    clients = [make_sdk(server, shop_key) for _ in range(8)]

    def redeem(index):
        try:
            return clients[index].redeem_coupon(coupon_id, shop.pk)["status"]
        except Exception as error:  # noqa: BLE001 - the refusal is the result
            return getattr(error, "code", repr(error))

    results = run_at_once(8, redeem)

    used = "VOUCHER_ALREADY_USED" if kind == "voucher" else "COUPON_ALREADY_USED"
    assert sorted(results) == sorted(["redeemed"] + [used] * 7)
    with in_shop(shop_organization):
        if kind == "voucher":
            assert VoucherRedemption.objects.filter(voucher_id=coupon_id).count() == 1
            assert Voucher.objects.get(pk=coupon_id).uses == 1
        else:
            assert Coupon.objects.get(pk=coupon_id).status == "redeemed"


def test_redeem_refusals_change_nothing(sdk, shop_organization, shop, closed_shop):
    customer = create_customer(shop_organization)
    blocked = create_customer(shop_organization)
    with in_shop(shop_organization):
        type(blocked).objects.filter(pk=blocked.pk).update(status="blocked")
    voucher = make_voucher(shop_organization, customer=customer)
    coupon = make_stamp_coupon(shop_organization, customer)
    expired = make_stamp_coupon(shop_organization, customer, expires_at=timezone.now() - timedelta(days=1))
    ended = make_voucher(shop_organization, valid_until=timezone.now() - timedelta(days=1))
    early = make_voucher(shop_organization, valid_from=timezone.now() + timedelta(days=1))
    minimum = make_voucher(shop_organization, minimum_spend=Decimal("20.00"))
    blocked_voucher = make_voucher(shop_organization, customer=blocked)
    blocked_coupon = make_stamp_coupon(shop_organization, blocked)
    before = state(shop_organization)
    cases = [
        ((2**62, shop.pk), 404, "COUPON_NOT_FOUND"),
        ((str(uuid.uuid4()), shop.pk), 404, "COUPON_NOT_FOUND"),
        ((str(expired.pk), shop.pk), 410, "COUPON_EXPIRED"),
        ((ended.pk, shop.pk), 410, "VOUCHER_EXPIRED"),
        ((early.pk, shop.pk), 422, "VOUCHER_NOT_YET_VALID"),
        ((minimum.pk, shop.pk), 422, "AMOUNT_REQUIRED"),
        ((blocked_voucher.pk, shop.pk), 422, "CUSTOMER_BLOCKED"),
        ((str(blocked_coupon.pk), shop.pk), 422, "CUSTOMER_BLOCKED"),
        ((voucher.pk, closed_shop.pk), 404, "SHOP_NOT_FOUND"),
        ((voucher.pk, 2**62), 404, "SHOP_NOT_FOUND"),
        ((voucher.pk, "1x"), 422, "SHOP_ID_INVALID"),
        ((2**70, shop.pk), 422, "COUPON_ID_INVALID"),
        ((0, shop.pk), 422, "COUPON_ID_INVALID"),
        ((1.5, shop.pk), 422, "COUPON_ID_INVALID"),
        ((True, shop.pk), 422, "COUPON_ID_INVALID"),
        (("not-a-uuid", shop.pk), 422, "COUPON_ID_INVALID"),
        ((f"{coupon.pk}\x00", shop.pk), 400, "INVALID_CHARACTERS"),
    ]
    for args, status, code in cases:
        error = refused(sdk.redeem_coupon, *args)
        assert (error.http_status, error.code) == (status, code), args
    product = refused(sdk.redeem_coupon, voucher.pk, shop.pk, selected_product_id=5)
    assert (product.http_status, product.code) == (422, "COUPON_PRODUCT_CHOICE_NOT_OFFERED")
    notes = refused(sdk.redeem_coupon, voucher.pk, shop.pk, notes="x" * 501)
    assert notes.code == "NOTES_INVALID"
    missing = refused(sdk._request, "POST", "/coupons/redeem", {"shop_id": shop.pk})
    assert missing.code == "COUPON_ID_REQUIRED"
    extra = refused(
        sdk._request, "POST", "/coupons/redeem", {"coupon_id": voucher.pk, "shop_id": shop.pk, "x": 1}
    )
    assert extra.code == "UNKNOWN_FIELD"
    huge = refused(sdk._request, "POST", "/coupons/redeem", {"coupon_id": 10**40, "shop_id": shop.pk})
    assert (huge.http_status, huge.code) == (422, "COUPON_ID_INVALID")
    assert state(shop_organization) == before


def test_a_minimum_spend_voucher_is_redeemed_with_the_baskets_amount(sdk, shop_organization, shop):
    voucher = make_voucher(shop_organization, minimum_spend=Decimal("20.00"))
    body = {"coupon_id": voucher.pk, "shop_id": shop.pk}
    before = state(shop_organization)

    without = sdk.session.post(f"{sdk.api_url}/coupons/redeem", json=body, timeout=10)
    low = refused(sdk._request, "POST", "/coupons/redeem", {**body, "purchase_amount": "19.99"})
    wrong = refused(sdk._request, "POST", "/coupons/redeem", {**body, "purchase_amount": "20.001"})

    assert without.status_code == 422
    assert (without.json()["code"], without.json()["field"]) == ("AMOUNT_REQUIRED", "purchase_amount")
    assert (low.http_status, low.code) == (422, "MINIMUM_SPEND_NOT_MET")
    assert (wrong.http_status, wrong.code) == (422, "PURCHASE_AMOUNT_INVALID")
    assert state(shop_organization) == before
    done = sdk._request("POST", "/coupons/redeem", {**body, "purchase_amount": 20})
    assert (done["status"], done["user_id"]) == ("redeemed", None)


def test_redeeming_a_stamp_coupon_asks_the_pin_where_the_preset_does(sdk, shop_organization, shop):
    customer = create_customer(shop_organization)
    blocked = create_customer(shop_organization)
    coupon = make_stamp_coupon(shop_organization, customer)
    blocked_coupon = make_stamp_coupon(shop_organization, blocked)
    voucher = make_voucher(shop_organization, customer=customer)
    with in_shop(shop_organization):
        Customer.objects.filter(pk=blocked.pk).update(status="blocked")
    organization = Organization.objects.get(pk=shop_organization.pk)
    organization.verification_preset = "balanced"
    organization.save(update_fields=["verification_preset"])
    try:
        before = state(shop_organization)
        # What needs no PIN is refused before anyone is asked for one.
        assert refused(sdk.redeem_coupon, str(blocked_coupon.pk), shop.pk).code == "CUSTOMER_BLOCKED"
        assert state(shop_organization) == before
        error = refused(sdk.redeem_coupon, str(coupon.pk), shop.pk)
        assert (error.http_status, error.code) == (412, "PIN_REQUIRED")
        assert state(shop_organization)["stamp_coupons"] == before["stamp_coupons"]
        with in_shop(shop_organization):
            [shown] = open_pins_for_customer(customer=customer)
        pin = shown["pin"]
        assert shown["summary"] == f"Use your coupon: {coupon.name}"
        body = {"coupon_id": str(coupon.pk), "shop_id": shop.pk}
        wrong = refused(sdk._request, "POST", "/coupons/redeem", {**body, "verification_pin": "x" + pin})
        assert (wrong.http_status, wrong.code) == (422, "PIN_INVALID")
        done = sdk._request("POST", "/coupons/redeem", {**body, "verification_pin": pin})
        assert done["status"] == "redeemed"
        with in_shop(shop_organization):
            assert PinChallenge.objects.get(customer=customer, action="coupon_redeem").status == "spent"
        # The POS API asks no PIN for a voucher.
        assert sdk.redeem_coupon(voucher.pk, shop.pk)["status"] == "redeemed"
    finally:
        organization.verification_preset = "standard"
        organization.save(update_fields=["verification_preset"])


# --- another organization ----------------------------------------------------------------------


def same_pk_in(organization, model, pk: int, **fields):
    """The row of `model` that has this pk in another organization's schema (ids repeat
    across schemas): made there when missing, its sequence moved past it so that later rows
    of that organization never collide with it."""
    with tenant_context(organization):
        row = model.objects.filter(pk=pk).first()
        if row is None:
            row = model.objects.create(pk=pk, **fields)
            table = model._meta.db_table
            with connection.cursor() as cursor:
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence(%s, 'id'), (SELECT MAX(id) FROM {table}))",  # noqa: S608
                    [table],
                )
        return row


def free_customer_code(organization) -> int:
    with tenant_context(organization):
        taken = set(Customer.objects.values_list("customer_code", flat=True))
    return next(code for code in range(999999, 100000, -1) if code not in taken)


def test_another_organization_sees_none_of_these_coupons(sdk_other, shop_organization, shop):
    customer = create_customer(shop_organization)
    voucher = make_voucher(shop_organization, customer=customer, discount_type="free_item", product_code="X")
    coupon = make_stamp_coupon(shop_organization, customer)
    other = Organization.objects.get(slug="test-b")
    with tenant_context(other):
        other_shop = Shop.objects.create(name="B shop", address="B street")
        promotion = Promotion.objects.create(title="B's offer")
    # The same ids name test-b's own voucher and customer there.
    same_voucher = same_pk_in(
        other, Voucher, voucher.pk, promotion=promotion, code=f"B{uuid.uuid4().hex[:10].upper()}"
    )
    same_customer = same_pk_in(
        other,
        Customer,
        customer.pk,
        customer_code=free_customer_code(other),
        email=unique_email(),
        consent_terms_at=timezone.now(),
        consent_privacy_at=timezone.now(),
    )
    before = state(shop_organization)

    for call, args in (
        (sdk_other.verify_coupon, (voucher.code, other_shop.pk)),
        (sdk_other.verify_coupon, (coupon.qr_token, other_shop.pk)),
        (sdk_other.redeem_coupon, (str(coupon.pk), other_shop.pk)),
        (sdk_other.set_coupon_pending, (str(coupon.pk), other_shop.pk)),
        (sdk_other.cancel_pending_coupon, (str(coupon.pk), other_shop.pk)),
        (sdk_other.get_coupon_products, (str(coupon.pk),)),
        (sdk_other.calculate_coupon_discount, (voucher.code, 10, [{"sku": "X", "price": 1}])),
        (sdk_other.calculate_coupon_discount, (coupon.qr_token, 10)),
    ):
        error = refused(call, *args)
        assert (error.http_status, error.code) == (404, "COUPON_NOT_FOUND"), (call.__name__, args)
    listed = sdk_other.list_coupons(user_id=customer.pk, per_page=100)["data"]
    assert [row["user_id"] for row in listed] == [same_customer.pk] * len(listed)
    everything = sdk_other.list_coupons(per_page=100)["data"]
    assert {voucher.code, coupon.qr_token}.isdisjoint(row["code"] for row in listed + everything)
    data = sdk_other.verify_coupon(same_voucher.code, other_shop.pk)
    assert (data["id"], data["code"], data["offer"]["title"]) == (voucher.pk, same_voucher.code, "B's offer")
    assert sdk_other.get_coupon_products(voucher.pk) == {"products": [], "selection_required": False}
    assert state(shop_organization) == before


# --- calculate-discount ------------------------------------------------------------------------


def test_discount_of_a_percentage_and_of_an_amount(sdk, shop_organization):
    percent = make_voucher(
        shop_organization, discount_type="percentage_discount", discount_value=Decimal("15")
    )
    amount = make_voucher(
        shop_organization, discount_type="absolute_discount", discount_value=Decimal("5.00")
    )
    currency = shop_organization.currency

    by_percent = sdk.calculate_coupon_discount(percent.code.lower(), 33.33)
    by_amount = sdk.calculate_coupon_discount(amount.code, "3.20")

    with in_shop(shop_organization):
        offer = Promotion.objects.get(pk=percent.promotion_id)
    assert by_percent == {
        "coupon_id": percent.pk,
        "coupon_code": percent.code,
        "type": "voucher",
        "currency": currency,
        "purchase_amount": "33.33",
        "discount_amount": "5.00",  # 4.9995 rounds half up
        "final_amount": "28.33",
        "discount_type": "percentage",
        "offer": {
            "id": offer.pk,
            "title": "10% off",
            "description": "",
            "type": "discount",
            "discount_type": "percentage",
            "discount_percentage": "15",
            "discount_amount": None,
            "product_code": "",
            "categories": [],
            "minimum_purchase": None,
            "starts_at": None,
            "ends_at": None,
        },
    }
    assert (by_amount["discount_amount"], by_amount["final_amount"], by_amount["discount_type"]) == (
        "3.20",
        "0.00",
        "fixed_amount",
    )
    assert by_amount["offer"]["discount_amount"] == "5.00"
    assert sdk.calculate_coupon_discount(amount.code, 12)["final_amount"] == "7.00"


def test_discount_on_products_is_priced_from_the_cart(sdk, shop_organization):
    sku = make_voucher(
        shop_organization,
        discount_type="percentage_discount",
        discount_value=Decimal("50"),
        product_code="A1, B2",
    )
    category = make_voucher(
        shop_organization, discount_type="absolute_discount", discount_value=Decimal("25"), category="Bakery"
    )
    free = make_voucher(shop_organization, discount_type="free_item", product_code="CAKE")
    cart = [
        {"sku": "A1", "price": "4.00", "quantity": 2},
        {"sku": "Z9", "price": "10.00"},
        {"sku": "CAKE", "price": 3.5, "name": "Cake", "id": 7, "category": " bakery "},
        {"sku": "CAKE", "price": "2.75", "category": "bakery"},
    ]

    assert sdk.calculate_coupon_discount(sku.code, 24.25, cart)["discount_amount"] == "4.00"
    # An amount off a category takes at most what its lines cost.
    assert sdk.calculate_coupon_discount(category.code, 24.25, cart)["discount_amount"] == "6.25"
    # One item free: the cheapest matching one.
    free_cake = sdk.calculate_coupon_discount(free.code, 24.25, cart)
    assert (free_cake["discount_amount"], free_cake["discount_type"]) == ("2.75", "free_item")
    assert refused(sdk.calculate_coupon_discount, sku.code, 10).code == "CART_ITEMS_REQUIRED"
    other_cart = [{"sku": "Z9", "price": "10.00"}]
    assert refused(sdk.calculate_coupon_discount, free.code, 10, other_cart).code == "COUPON_NOT_APPLICABLE"


def test_discount_refusals(sdk, shop_organization):
    customer = create_customer(shop_organization)
    minimum = make_voucher(
        shop_organization,
        discount_type="absolute_discount",
        discount_value=Decimal("5.00"),
        minimum_spend=Decimal("20.00"),
    )
    ended = make_voucher(shop_organization, valid_until=timezone.now() - timedelta(days=1))
    no_discount = make_voucher(shop_organization)
    used = make_voucher(shop_organization, discount_type="absolute_discount", discount_value=Decimal("1"))
    with in_shop(shop_organization):
        Voucher.objects.filter(pk=used.pk).update(status="redeemed", uses=1)
    stamp = make_stamp_coupon(shop_organization, customer)
    used_stamp = make_stamp_coupon(shop_organization, customer, status="redeemed", redeemed_at=timezone.now())
    before = state(shop_organization)
    cases = [
        ((minimum.code, 19.99), 422, "MINIMUM_SPEND_NOT_MET"),
        ((ended.code, 30), 410, "VOUCHER_EXPIRED"),
        ((used.code, 30), 409, "VOUCHER_ALREADY_USED"),
        ((no_discount.code, 30), 422, "COUPON_NO_DISCOUNT"),
        ((stamp.qr_token, 30), 422, "COUPON_NO_DISCOUNT"),
        ((used_stamp.qr_token, 30), 409, "COUPON_ALREADY_USED"),
        (("NOSUCHCODE9", 30), 404, "COUPON_NOT_FOUND"),
        ((minimum.code, -1), 422, "PURCHASE_AMOUNT_INVALID"),
        ((minimum.code, "1.005"), 422, "PURCHASE_AMOUNT_INVALID"),
        ((minimum.code, 10**12), 422, "PURCHASE_AMOUNT_INVALID"),
        ((minimum.code, 1e308), 422, "PURCHASE_AMOUNT_INVALID"),
        ((minimum.code, "abc"), 422, "PURCHASE_AMOUNT_INVALID"),
        ((minimum.code, True), 422, "PURCHASE_AMOUNT_INVALID"),
        ((minimum.code, "3\x00"), 400, "INVALID_CHARACTERS"),
        ((7, 30), 422, "COUPON_CODE_INVALID"),
        ((minimum.code, 30, [{"sku": "A", "price": "x"}]), 422, "CART_ITEMS_INVALID"),
        ((minimum.code, 30, [{"sku": "A"}]), 422, "CART_ITEMS_INVALID"),
        ((minimum.code, 30, [{"sku": "A", "price": 1, "quantity": 0}]), 422, "CART_ITEMS_INVALID"),
        ((minimum.code, 30, [{"sku": "A", "price": 1}] * 501), 422, "CART_ITEMS_INVALID"),
        ((minimum.code, 30, ["A"]), 422, "CART_ITEMS_INVALID"),
        ((minimum.code, 30, "A"), 422, "CART_ITEMS_INVALID"),
        ((minimum.code, 30, [{"sku": "A", "price": 1, "colour": "red"}]), 422, "UNKNOWN_FIELD"),
    ]
    for args, status, code in cases:
        error = refused(sdk.calculate_coupon_discount, *args)
        assert (error.http_status, error.code) == (status, code), args
    missing = refused(sdk._request, "POST", "/coupons/calculate-discount", {"coupon_code": minimum.code})
    assert missing.code == "PURCHASE_AMOUNT_REQUIRED"
    assert sdk.calculate_coupon_discount(minimum.code, 20)["discount_amount"] == "5.00"
    assert state(shop_organization) == before


# --- products ----------------------------------------------------------------------------------


def test_products_are_never_a_choice(sdk, sdk_other, shop_organization):
    customer = create_customer(shop_organization)
    voucher = make_voucher(shop_organization)
    stamp = make_stamp_coupon(shop_organization, customer)

    assert sdk.get_coupon_products(voucher.pk) == {"products": [], "selection_required": False}
    assert sdk.get_coupon_products(str(stamp.pk)) == {"products": [], "selection_required": False}
    assert refused(sdk.get_coupon_products, 2**62).http_status == 404
    assert refused(sdk.get_coupon_products, str(uuid.uuid4())).code == "COUPON_NOT_FOUND"
    assert refused(sdk.get_coupon_products, "x").code == "COUPON_ID_INVALID"
    assert refused(sdk_other.get_coupon_products, str(stamp.pk)).code == "COUPON_NOT_FOUND"


# --- pending -----------------------------------------------------------------------------------


def test_a_held_voucher_is_this_integrations_until_it_cancels_or_redeems(
    server, sdk, shop_organization, shop
):
    customer = create_customer(shop_organization)
    voucher = make_voucher(shop_organization, customer=customer)
    other_integration = make_sdk(server, issue_key(shop_organization))

    held = sdk.set_coupon_pending(voucher.pk, shop.pk)
    assert (held["status"], held["usable"], held["reason"]) == ("pending", True, None)
    until = datetime.fromisoformat(held["pending_until"])
    assert timedelta(seconds=890) < until - timezone.now() <= timedelta(seconds=900)
    again = sdk.set_coupon_pending(voucher.pk, shop.pk)  # its holder may hold it again
    assert again["pending_until"] >= held["pending_until"]
    seen_elsewhere = other_integration.verify_coupon(voucher.code, shop.pk)
    assert (seen_elsewhere["status"], seen_elsewhere["usable"], seen_elsewhere["reason"]) == (
        "pending",
        False,
        "COUPON_HELD_ELSEWHERE",
    )

    before = state(shop_organization)
    for call in (
        other_integration.set_coupon_pending,
        other_integration.redeem_coupon,
        other_integration.cancel_pending_coupon,
    ):
        error = refused(call, voucher.pk, shop.pk)
        assert (error.http_status, error.code) == (409, "COUPON_HELD_ELSEWHERE"), call.__name__
    raw = other_integration.session.post(
        f"{other_integration.api_url}/coupons/redeem", json={"coupon_id": voucher.pk, "shop_id": shop.pk}
    ).json()
    assert raw["locked_until"] == again["pending_until"]
    assert state(shop_organization) == before

    cancelled = sdk.cancel_pending_coupon(voucher.pk, shop.pk)
    assert (cancelled["status"], cancelled["pending_until"], cancelled["usable"]) == ("active", None, True)
    assert sdk.cancel_pending_coupon(voucher.pk, shop.pk)["usable"] is True  # nothing held: no change

    sdk.set_coupon_pending(voucher.pk, shop.pk)
    assert sdk.redeem_coupon(voucher.pk, shop.pk)["status"] == "redeemed"  # its own hold
    with in_shop(shop_organization):
        assert Voucher.objects.get(pk=voucher.pk).locked_until is None


def test_an_expired_hold_frees_the_voucher(server, sdk, shop_organization, shop):
    voucher = make_voucher(shop_organization)
    sdk.set_coupon_pending(voucher.pk, shop.pk)
    with in_shop(shop_organization):
        Voucher.objects.filter(pk=voucher.pk).update(locked_until=timezone.now() - timedelta(seconds=1))
    other_integration = make_sdk(server, issue_key(shop_organization))
    assert other_integration.redeem_coupon(voucher.pk, shop.pk)["status"] == "redeemed"


def test_pending_refusals(sdk, sdk_other, shop_organization, shop, closed_shop):
    customer = create_customer(shop_organization)
    voucher = make_voucher(shop_organization, customer=customer)
    used = make_voucher(shop_organization)
    with in_shop(shop_organization):
        Voucher.objects.filter(pk=used.pk).update(status="redeemed", uses=1)
    stamp = make_stamp_coupon(shop_organization, customer)
    used_stamp = make_stamp_coupon(shop_organization, customer, status="redeemed", redeemed_at=timezone.now())
    expired = make_stamp_coupon(shop_organization, customer, expires_at=timezone.now() - timedelta(days=1))
    # test-b's own shop: with this organization's shop id the other key would learn of no coupon at all.
    with tenant_context(Organization.objects.get(slug="test-b")):
        other_shop = Shop.objects.create(name="B pending shop", address="B street")
    before = state(shop_organization)
    cases = [
        (sdk.set_coupon_pending, (str(used_stamp.pk), shop.pk), 409, "COUPON_ALREADY_USED"),
        (sdk.set_coupon_pending, (str(expired.pk), shop.pk), 410, "COUPON_EXPIRED"),
        (sdk.set_coupon_pending, (str(uuid.uuid4()), shop.pk), 404, "COUPON_NOT_FOUND"),
        (sdk.cancel_pending_coupon, (str(uuid.uuid4()), shop.pk), 404, "COUPON_NOT_FOUND"),
        (sdk.set_coupon_pending, (used.pk, shop.pk), 409, "VOUCHER_ALREADY_USED"),
        (sdk.set_coupon_pending, (voucher.pk, closed_shop.pk), 404, "SHOP_NOT_FOUND"),
        (sdk.set_coupon_pending, (2**62, shop.pk), 404, "COUPON_NOT_FOUND"),
        (sdk.set_coupon_pending, ("1.5", shop.pk), 422, "COUPON_ID_INVALID"),
        (sdk.cancel_pending_coupon, (voucher.pk, "x"), 422, "SHOP_ID_INVALID"),
        (sdk.set_coupon_pending, (voucher.pk, shop.pk, 3), 422, "COUPON_PRODUCT_CHOICE_NOT_OFFERED"),
        (sdk_other.set_coupon_pending, (str(stamp.pk), other_shop.pk), 404, "COUPON_NOT_FOUND"),
    ]
    for call, args, status, code in cases:
        error = refused(call, *args)
        assert (error.http_status, error.code) == (status, code), (call.__name__, args)
    assert state(shop_organization) == before


def test_a_held_stamp_coupon_is_this_integrations_until_it_cancels_or_redeems(
    server, sdk, shop_organization, shop
):
    customer = create_customer(shop_organization)
    coupon = make_stamp_coupon(shop_organization, customer)
    coupon_id = str(coupon.pk)
    other_integration = make_sdk(server, issue_key(shop_organization))

    held = sdk.set_coupon_pending(coupon_id, shop.pk)
    assert (held["status"], held["usable"], held["reason"]) == ("pending", True, None)
    assert other_integration.verify_coupon(coupon.qr_token, shop.pk)["reason"] == "COUPON_HELD_ELSEWHERE"
    until = datetime.fromisoformat(held["pending_until"])
    assert timedelta(seconds=890) < until - timezone.now() <= timedelta(seconds=900)
    again = sdk.set_coupon_pending(coupon_id, shop.pk)  # its holder may hold it again
    assert again["pending_until"] >= held["pending_until"]

    before = state(shop_organization)
    for call in (other_integration.set_coupon_pending, other_integration.redeem_coupon):
        error = refused(call, coupon_id, shop.pk)
        assert (error.http_status, error.code) == (409, "COUPON_HELD_ELSEWHERE")
    assert (
        refused(other_integration.cancel_pending_coupon, coupon_id, shop.pk).code == "COUPON_HELD_ELSEWHERE"
    )
    # The POS API's redemption (no holder's key) is refused too.
    with in_shop(shop_organization), pytest.raises(DomainError) as pos_refusal:
        coupon_redeem(coupon_id=coupon.pk)
    assert pos_refusal.value.error.code == "coupon_held_elsewhere"
    assert state(shop_organization) == before

    cancelled = sdk.cancel_pending_coupon(coupon_id, shop.pk)
    assert (cancelled["status"], cancelled["pending_until"], cancelled["usable"]) == ("active", None, True)
    assert sdk.cancel_pending_coupon(coupon_id, shop.pk)["usable"] is True

    sdk.set_coupon_pending(coupon_id, shop.pk)
    assert sdk.redeem_coupon(coupon_id, shop.pk)["status"] == "redeemed"
    with in_shop(shop_organization):
        assert Coupon.objects.filter(pk=coupon.pk, held_until=None, held_by="").exists()


def test_an_expired_stamp_coupon_hold_frees_it(server, sdk, shop_organization, shop):
    coupon = make_stamp_coupon(shop_organization, create_customer(shop_organization))
    sdk.set_coupon_pending(str(coupon.pk), shop.pk)
    with in_shop(shop_organization):
        Coupon.objects.filter(pk=coupon.pk).update(held_until=timezone.now() - timedelta(seconds=1))
    other_integration = make_sdk(server, issue_key(shop_organization))
    assert other_integration.redeem_coupon(str(coupon.pk), shop.pk)["status"] == "redeemed"


@pytest.mark.parametrize("kind", ["voucher", "stamp"])
def test_six_integrations_holding_one_coupon_at_once_leave_one_holder(server, shop_organization, shop, kind):
    customer = create_customer(shop_organization)
    if kind == "voucher":
        coupon_id = make_voucher(shop_organization, customer=customer).pk
    else:
        coupon_id = str(make_stamp_coupon(shop_organization, customer).pk)
    integrations = [make_sdk(server, issue_key(shop_organization)) for _ in range(6)]

    def hold(index):
        try:
            return integrations[index].set_coupon_pending(coupon_id, shop.pk)["status"]
        except Exception as error:  # noqa: BLE001 - the refusal is the result
            return getattr(error, "code", repr(error))

    results = run_at_once(6, hold)

    assert sorted(results) == sorted(["pending"] + ["COUPON_HELD_ELSEWHERE"] * 5)
    holder = integrations[results.index("pending")]
    others = [sdk for sdk, result in zip(integrations, results, strict=True) if result != "pending"]
    assert [refused(sdk.redeem_coupon, coupon_id, shop.pk).code for sdk in others] == [
        "COUPON_HELD_ELSEWHERE"
    ] * 5
    assert holder.redeem_coupon(coupon_id, shop.pk)["status"] == "redeemed"


def test_a_hold_runs_out_after_its_time(shop_organization, sdk, shop):
    """The services as the Shop API calls them, with the clock moved on (the server's own
    clock cannot be)."""
    customer = create_customer(shop_organization)
    voucher = make_voucher(shop_organization, customer=customer)
    coupon = make_stamp_coupon(shop_organization, customer)
    start = timezone.now()
    with in_shop(shop_organization):
        voucher_hold(code=voucher.code, release_key="holder", ttl_seconds=PENDING_SECONDS)
        coupon_hold(coupon_id=coupon.pk, hold_key="holder", ttl_seconds=PENDING_SECONDS)
        with time_machine.travel(start + timedelta(seconds=PENDING_SECONDS - 5), tick=False):
            with pytest.raises(DomainError) as voucher_held, transaction.atomic():
                voucher_redeem(code=voucher.code, release_key="another")
            with pytest.raises(DomainError) as coupon_held, transaction.atomic():
                coupon_redeem(coupon_id=coupon.pk, hold_key="another")
            assert (voucher_held.value.code, coupon_held.value.code) == (
                "release_key_invalid",
                "coupon_held_elsewhere",
            )
        with time_machine.travel(start + timedelta(seconds=PENDING_SECONDS + 1), tick=False):
            assert voucher_redeem(code=voucher.code, release_key="another").voucher.status == "redeemed"
            assert coupon_redeem(coupon_id=coupon.pk, hold_key="another").status == "redeemed"
