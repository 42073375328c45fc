"""Transactions through the SDK: purchases earn and spend points by the program's rules,
cancellations and refunds undo them, every call at most once per order_id."""

import json
import uuid
from collections import Counter
from decimal import Decimal

import pytest
import requests
from loyalty_sdk.exceptions import LoyaltySDKError

from loyalty_platform.customers.models import Customer
from loyalty_platform.orders.models import Order
from loyalty_platform.programs.models import Card, LedgerEntry
from loyalty_platform.shops.services import shop_create
from loyalty_platform.verification.services import open_pins_for_customer
from tenants.models import Organization
from tests.pos_fixtures import create_customer, run_at_once, snapshot
from tests.shop_api.conftest import in_shop, make_sdk, refused, shop_credentials, unique_email


def order_id() -> str:
    return f"web-{uuid.uuid4().hex[:12]}"


def point_card(organization, customer) -> Card:
    with in_shop(organization):
        return Card.objects.get(customer=customer, program__kind="point")


def ledger(organization, customer) -> list[tuple]:
    """The customer's point card entries, oldest first: (cause, delta, balance_after, external_id, note)."""
    with in_shop(organization):
        return list(
            LedgerEntry.objects.filter(card__customer=customer, card__program__kind="point")
            .order_by("pk")
            .values_list("cause", "delta", "balance_after", "external_id", "note")
        )


def newest_entry(organization, customer) -> LedgerEntry:
    with in_shop(organization):
        return LedgerEntry.objects.filter(card__customer=customer, card__program__kind="point").order_by(
            "-pk"
        )[0]


class RawShop:
    """The Shop API without the SDK, to read bodies as bytes and send what the SDK would not."""

    def __init__(self, server, raw_key: str, locale: str = "en"):
        api_key, secret = shop_credentials(raw_key)
        self.base = f"http://localhost:{server.port}/{locale}/shop"
        self.headers = {"X-API-Key": api_key, "X-API-Secret": secret, "Content-Type": "application/json"}

    def create(self, body: dict | None = None, data: bytes | None = None) -> requests.Response:
        content = data if data is not None else json.dumps(body).encode()
        return requests.post(
            f"{self.base}/transactions/create", data=content, headers=self.headers, timeout=15
        )


@pytest.fixture
def raw(server, shop_key) -> RawShop:
    return RawShop(server, shop_key)


@pytest.fixture
def organization_b() -> Organization:
    return Organization.objects.get(slug="test-b")


def test_a_purchase_earns_by_the_programs_rate(sdk, shop_organization):
    customer = create_customer(shop_organization, email=unique_email())
    reference = order_id()
    answer = sdk.create_transaction(
        order_id=reference,
        user_id=customer.pk,
        order_total=12.99,
        currency=shop_organization.currency,
        description="Web order",
        meta_data={"channel": "web", "items": 3},
    )
    entry = newest_entry(shop_organization, customer)
    assert answer == {
        "id": entry.pk,
        "loyalty_card_id": point_card(shop_organization, customer).pk,
        "user_id": customer.pk,
        "points": 12,
        "type": "earned",
        "transaction_type": "purchase",
        "description": "Web order",
        "reference_id": reference,
        "reference_type": "order",
        "balance_after": 12,
        "points_earned": 12,
        "points_redeemed": 0,
        "points_returned": 0,
        "points_refunded": 0,
        "points_unrecovered": 0,
        "balance": 12,
        "currency": shop_organization.currency,
        "order_total": "12.99",
        "points_discount_amount": None,
        "shop_id": None,
        "expires_at": None,
        "meta_data": {"channel": "web", "items": 3},
        "created_at": entry.created_at.isoformat(),
    }
    assert ledger(shop_organization, customer) == [("earn", 12, 12, reference, "Web order")]


def test_the_customer_is_named_by_email_or_card(sdk, raw, shop_organization):
    customer = create_customer(shop_organization, email=unique_email())
    by_email = sdk.create_transaction(
        order_id=order_id(), user_email=customer.email.upper(), order_total="5.00"
    )
    assert (by_email["user_id"], by_email["points_earned"], by_email["balance"]) == (customer.pk, 5, 5)
    card = point_card(shop_organization, customer)
    by_card = raw.create({"order_id": order_id(), "loyalty_card_id": card.pk, "order_total": 3})
    assert by_card.status_code == 200
    assert (by_card.json()["data"]["user_id"], by_card.json()["data"]["balance"]) == (customer.pk, 8)
    both = sdk.create_transaction(
        order_id=order_id(), user_id=customer.pk, user_email=customer.email, points=1
    )
    assert both["balance"] == 9


def test_exact_points_are_earned_as_given(sdk, shop_organization):
    customer = create_customer(shop_organization, email=unique_email(), points=10)
    reference = order_id()
    answer = sdk.create_transaction(order_id=reference, user_id=customer.pk, points=40, order_total=1)
    assert (answer["points_earned"], answer["balance"], answer["order_total"]) == (40, 50, "1.00")
    assert ledger(shop_organization, customer)[-1] == ("earn", 40, 50, reference, "")
    nothing = sdk.create_transaction(order_id=order_id(), user_id=customer.pk, points=0)
    assert (nothing["id"], nothing["points"], nothing["balance"], nothing["loyalty_card_id"]) == (
        None,
        0,
        50,
        point_card(shop_organization, customer).pk,
    )
    assert len(ledger(shop_organization, customer)) == 2


def test_points_pay_part_of_the_order_and_the_rest_earns(sdk, shop_organization):
    customer = create_customer(shop_organization, email=unique_email(), points=500)
    reference = order_id()
    answer = sdk.create_transaction(
        order_id=reference,
        user_id=customer.pk,
        order_total=10,
        points_redeemed=200,
        points_discount_amount=2.0,
        description="Paid partly with points",
    )
    assert {key: answer[key] for key in ("points", "points_earned", "points_redeemed", "balance")} == {
        "points": -192,
        "points_earned": 8,
        "points_redeemed": 200,
        "balance": 308,
    }
    assert (answer["type"], answer["points_discount_amount"]) == ("earned", "2.00")
    assert ledger(shop_organization, customer)[1:] == [
        ("redeem", -200, 300, reference, "Paid partly with points"),
        ("earn", 8, 308, reference, "Paid partly with points"),
    ]
    # All of it paid with points: nothing left to earn on.
    spent = sdk.create_transaction(
        order_id=order_id(), user_id=customer.pk, order_total=1, points_redeemed=300
    )
    assert (spent["type"], spent["points_earned"], spent["balance"]) == ("redeemed", 0, 8)


def test_a_discount_that_is_not_the_points_worth_is_refused(sdk, raw, shop_organization):
    customer = create_customer(shop_organization, email=unique_email(), points=500)
    before = snapshot(shop_organization)
    error = refused(
        sdk.create_transaction,
        order_id=order_id(),
        user_id=customer.pk,
        order_total=10,
        points_redeemed=200,
        points_discount_amount=3,
    )
    assert (error.http_status, error.code) == (422, "POINTS_DISCOUNT_AMOUNT_INVALID")
    body = {"order_id": order_id(), "user_id": customer.pk, "order_total": 10, "points_redeemed": 250}
    answer = raw.create({**body, "points_discount_amount": "2.49"})
    assert (answer.json()["code"], answer.json()["expected"]) == ("POINTS_DISCOUNT_AMOUNT_INVALID", "2.50")
    without_points = raw.create({**body, "points_redeemed": 0, "points_discount_amount": 1})
    assert (without_points.status_code, without_points.json()["code"]) == (
        422,
        "POINTS_DISCOUNT_AMOUNT_INVALID",
    )
    assert snapshot(shop_organization) == before


CART = [
    {"sku": "LATTE", "name": "Latte", "category": "coffee", "quantity": 2, "unit_price": "3.50"},
    {"sku": "GIFT-20", "name": "Giftcard", "category": "giftcard", "quantity": 1, "unit_price": 20},
]


def test_cart_items_earn_through_the_earning_rules(sdk, shop_organization):
    customer = create_customer(shop_organization, email=unique_email())
    reference = order_id()
    answer = sdk.create_transaction(
        order_id=reference, user_id=customer.pk, order_total="27.00", cart_items=CART
    )
    # Giftcards are an excluded category: only the coffee earns.
    assert (answer["points_earned"], answer["balance"], answer["type"]) == (7, 7, "earned")
    with in_shop(shop_organization):
        order = Order.objects.get(external_id=reference)
        assert (order.customer_id, order.points_earned, order.total) == (customer.pk, 7, Decimal("27.00"))
        assert list(order.lines.values_list("sku", "points_earned", "excluded")) == [
            ("LATTE", 7, False),
            ("GIFT-20", 0, True),
        ]
    assert ledger(shop_organization, customer)[-1] == ("order", 7, 7, reference, f"order {reference}")


def test_a_refund_of_some_cart_items_returns_their_points(sdk, shop_organization):
    customer = create_customer(shop_organization, email=unique_email())
    purchase = order_id()
    sdk.create_transaction(order_id=purchase, user_id=customer.pk, order_total="27.00", cart_items=CART)
    refund = order_id()
    answer = sdk.create_transaction(
        order_id=refund,
        user_id=customer.pk,
        transaction_type="refund",
        original_order_id=purchase,
        order_total=3.5,
        cart_items=[{"sku": "LATTE", "name": "Latte", "quantity": 1, "unit_price": "3.50"}],
    )
    # Half of the latte line's 7 points, rounded half up.
    assert {
        key: answer[key] for key in ("type", "points", "points_returned", "balance", "original_order_id")
    } == {
        "type": "refunded",
        "points": -4,
        "points_returned": 4,
        "balance": 3,
        "original_order_id": purchase,
    }
    rest = sdk.create_transaction(order_id=purchase, user_id=customer.pk, transaction_type="cancellation")
    assert (rest["points_returned"], rest["balance"]) == (3, 0)
    with in_shop(shop_organization):
        assert Order.objects.get(external_id=purchase).status == Order.Status.RETURNED
    again = refused(
        sdk.create_transaction,
        order_id=order_id(),
        user_id=customer.pk,
        transaction_type="refund",
        original_order_id=purchase,
    )
    assert (again.http_status, again.code) == (409, "ORDER_ALREADY_RETURNED")


def test_a_cancellation_with_the_purchases_order_id_undoes_it_once(sdk, raw, shop_organization):
    customer = create_customer(shop_organization, email=unique_email(), points=500)
    reference = order_id()
    sdk.create_transaction(order_id=reference, user_id=customer.pk, order_total=10, points_redeemed=200)
    body = {
        "order_id": reference,
        "user_id": customer.pk,
        "type": "cancellation",
        "description": "Changed mind",
    }
    first = raw.create(body)
    assert first.status_code == 200
    data = first.json()["data"]
    assert {
        key: data[key] for key in ("type", "transaction_type", "points", "points_returned", "points_refunded")
    } == {
        "type": "refunded",
        "transaction_type": "cancellation",
        "points": 192,
        "points_returned": 8,
        "points_refunded": 200,
    }
    assert (data["balance"], data["balance_after"], data["original_order_id"]) == (500, 500, reference)
    entries = ledger(shop_organization, customer)
    assert [entry[:3] for entry in entries[-2:]] == [("reversal", 200, 508), ("reversal", -8, 500)]
    assert entries[-1][4] == f"reversal of earn {reference}: Changed mind"
    # The retry is answered as the first time, byte for byte, and changes nothing.
    retry = raw.create(body)
    assert (retry.status_code, retry.content) == (200, first.content)
    assert ledger(shop_organization, customer) == entries
    again = refused(
        sdk.create_transaction,
        order_id=order_id(),
        user_id=customer.pk,
        transaction_type="refund",
        original_order_id=reference,
    )
    assert (again.http_status, again.code) == (409, "TRANSACTION_ALREADY_REVERSED")
    assert ledger(shop_organization, customer) == entries


def test_a_refund_with_an_order_id_of_its_own_names_the_original(sdk, shop_organization):
    customer = create_customer(shop_organization, email=unique_email())
    reference = order_id()
    sdk.create_transaction(order_id=reference, user_id=customer.pk, order_total=25)
    refund = order_id()
    answer = sdk.create_transaction(
        order_id=refund,
        user_id=customer.pk,
        transaction_type="refund",
        order_total=25,
        original_order_id=reference,
    )
    assert (answer["reference_id"], answer["original_order_id"], answer["points"], answer["balance"]) == (
        refund,
        reference,
        -25,
        0,
    )
    assert ledger(shop_organization, customer)[-1][:4] == ("reversal", -25, 0, refund)


def test_a_refund_of_points_already_spent_takes_what_is_left(sdk, shop_organization):
    customer = create_customer(shop_organization, email=unique_email())
    reference = order_id()
    sdk.create_transaction(order_id=reference, user_id=customer.pk, order_total=150)
    sdk.create_transaction(order_id=order_id(), user_id=customer.pk, points_redeemed=120, order_total=1.2)
    answer = sdk.create_transaction(order_id=reference, user_id=customer.pk, transaction_type="refund")
    assert (answer["points_returned"], answer["points_unrecovered"], answer["balance"]) == (30, 120, 0)


def test_cancelling_a_purchase_that_earned_nothing_changes_nothing(sdk, shop_organization):
    customer = create_customer(shop_organization, email=unique_email(), points=20)
    other = create_customer(shop_organization, email=unique_email())
    reference = order_id()
    small = sdk.create_transaction(order_id=reference, user_id=customer.pk, order_total="0.99")
    assert (small["id"], small["points_earned"], small["balance"]) == (None, 0, 20)
    entries = ledger(shop_organization, customer)
    answer = sdk.create_transaction(order_id=reference, user_id=customer.pk, transaction_type="cancellation")
    assert (answer["id"], answer["points"], answer["balance"], answer["type"]) == (None, 0, 20, "refunded")
    assert ledger(shop_organization, customer) == entries
    error = refused(sdk.create_transaction, order_id=reference, user_id=other.pk, transaction_type="refund")
    assert (error.http_status, error.code) == (404, "TRANSACTION_NOT_FOUND")


def test_undoing_what_is_not_there_is_refused(sdk, shop_organization):
    customer = create_customer(shop_organization, email=unique_email())
    other = create_customer(shop_organization, email=unique_email())
    reference = order_id()
    sdk.create_transaction(order_id=reference, user_id=other.pk, order_total=10)
    before = snapshot(shop_organization)
    for fields in (
        {"original_order_id": order_id()},  # never recorded
        {"original_order_id": reference},  # another customer's
    ):
        error = refused(
            sdk.create_transaction,
            order_id=order_id(),
            user_id=customer.pk,
            transaction_type="cancellation",
            **fields,
        )
        assert (error.http_status, error.code) == (404, "TRANSACTION_NOT_FOUND"), fields
    for name, value in (("points", 5), ("points_redeemed", 100), ("points_discount_amount", 1)):
        error = refused(
            sdk.create_transaction,
            order_id=order_id(),
            user_id=other.pk,
            transaction_type="refund",
            **{name: value},
        )
        assert (error.code, error.http_status) == ("FIELD_NOT_ALLOWED", 422), name
    error = refused(
        sdk.create_transaction,
        order_id=order_id(),
        user_id=other.pk,
        transaction_type="refund",
        original_order_id=reference,
        cart_items=[{"sku": "A", "quantity": 1}],
    )
    assert error.code == "FIELD_NOT_ALLOWED"
    assert snapshot(shop_organization) == before


def test_a_retry_changes_nothing_and_another_body_is_refused(raw, shop_organization):
    customer = create_customer(shop_organization, email=unique_email())
    body = {"order_id": order_id(), "user_id": customer.pk, "order_total": "19.90", "type": "purchase"}
    first = raw.create(body)
    assert first.status_code == 200
    entries = ledger(shop_organization, customer)
    before = snapshot(shop_organization)
    for _ in range(3):
        retry = raw.create(body)
        assert (retry.status_code, retry.content) == (200, first.content)
    assert snapshot(shop_organization) == before
    assert ledger(shop_organization, customer) == entries
    assert [entry[:2] for entry in entries] == [("earn", 19)]
    other = raw.create({**body, "order_total": "29.90"})
    assert (other.status_code, other.json()["code"]) == (422, "IDEMPOTENCY_KEY_REUSED")
    assert snapshot(shop_organization) == before


def refusal_cases(customer, other, card) -> list[tuple[dict, int, str]]:
    base = {"user_id": customer.pk, "order_total": 10}
    return [
        ({"user_id": 2**40, "order_total": 10}, 404, "CUSTOMER_NOT_FOUND"),
        ({"user_email": unique_email(), "order_total": 10}, 404, "CUSTOMER_NOT_FOUND"),
        ({"user_id": customer.pk, "user_email": other.email, "order_total": 10}, 422, "CUSTOMER_MISMATCH"),
        ({**base, "loyalty_card_id": 2**40}, 404, "LOYALTY_CARD_NOT_FOUND"),
        ({**base, "currency": "USD"}, 422, "CURRENCY_MISMATCH"),
        ({**base, "order_total": -1}, 422, "ORDER_TOTAL_INVALID"),
        ({**base, "order_total": 10**12}, 422, "ORDER_TOTAL_INVALID"),
        ({**base, "order_total": 0.1 + 0.2}, 422, "ORDER_TOTAL_INVALID"),
        ({**base, "order_total": "12.345"}, 422, "ORDER_TOTAL_INVALID"),
        ({**base, "order_total": "ten"}, 422, "ORDER_TOTAL_INVALID"),
        ({**base, "order_total": True}, 422, "ORDER_TOTAL_INVALID"),
        ({**base, "order_total": [10]}, 422, "ORDER_TOTAL_INVALID"),
        ({"user_id": customer.pk}, 422, "ORDER_TOTAL_REQUIRED"),
        ({**base, "points": 1.5}, 422, "POINTS_INVALID"),
        ({**base, "points": "5"}, 422, "POINTS_INVALID"),
        ({**base, "points": -1}, 422, "POINTS_INVALID"),
        ({**base, "points": 2**40}, 422, "POINTS_INVALID"),
        ({**base, "points_redeemed": 10**30}, 422, "POINTS_REDEEMED_INVALID"),
        ({**base, "points_redeemed": 50}, 422, "BELOW_MINIMUM"),
        ({**base, "points_redeemed": 10_000}, 422, "INSUFFICIENT_BALANCE"),
        ({**base, "colour": "red"}, 422, "UNKNOWN_FIELD"),
        ({**base, "type": "earn"}, 422, "TYPE_INVALID"),
        ({**base, "shop_id": 2**40}, 404, "SHOP_NOT_FOUND"),
        ({**base, "description": "bell\x07"}, 422, "DESCRIPTION_INVALID"),
        ({**base, "description": "x" * 256}, 422, "DESCRIPTION_INVALID"),
        ({**base, "meta_data": ["a"]}, 422, "META_DATA_INVALID"),
        ({**base, "meta_data": {"note": "x" * 5000}}, 422, "META_DATA_INVALID"),
        ({**base, "meta_data": {"note": "x" * 2040}}, 422, "META_DATA_INVALID"),
        (
            {**base, "meta_data": {"a": {"b": {"c": {"d": {"e": {"f": {"g": {"h": {"i": 1}}}}}}}}}},
            422,
            "META_DATA_INVALID",
        ),
        ({**base, "meta_data": {"deep": json.loads("[" * 500 + "]" * 500)}}, 422, "META_DATA_INVALID"),
        ({**base, "points": 5, "cart_items": CART}, 422, "FIELD_NOT_ALLOWED"),
        ({**base, "original_order_id": "x"}, 422, "FIELD_NOT_ALLOWED"),
        ({**base, "cart_items": []}, 422, "LINES_INVALID"),
        ({**base, "cart_items": [{"sku": "A", "quantity": 1, "price": 3}]}, 422, "LINES_INVALID"),
        ({**base, "order_id": ""}, 422, "ORDER_ID_REQUIRED"),
        ({**base, "order_id": "x" * 129}, 422, "ORDER_ID_INVALID"),
        ({**base, "order_id": 42}, 422, "ORDER_ID_INVALID"),
        ({**base, "loyalty_card_id": card.pk, "user_id": other.pk}, 422, "CUSTOMER_MISMATCH"),
    ]


def test_refused_purchases_change_nothing(raw, shop_organization):
    customer = create_customer(shop_organization, email=unique_email(), points=300)
    other = create_customer(shop_organization, email=unique_email())
    card = point_card(shop_organization, customer)
    before = snapshot(shop_organization)
    for fields, status, code in refusal_cases(customer, other, card):
        body = {"order_id": order_id(), **fields}
        answer = raw.create(body)
        assert (answer.status_code, answer.json()["success"], answer.json()["code"]) == (
            status,
            False,
            code,
        ), fields
    nul = raw.create(data=b'{"order_id": "a\\u0000b", "user_id": %d, "order_total": 1}' % customer.pk)
    assert (nul.status_code, nul.json()["code"]) == (400, "INVALID_CHARACTERS")
    too_big = b'{"order_id": "%s", "user_id": %d, "order_total": 1, "meta_data": {"n": 1E+400}}'
    answer = raw.create(data=too_big % (order_id().encode(), customer.pk))
    assert (answer.status_code, answer.json()["code"]) == (422, "META_DATA_INVALID")
    nobody = raw.create({"order_id": order_id(), "order_total": 1})
    assert (nobody.status_code, nobody.json()["code"]) == (422, "USER_REQUIRED")
    assert snapshot(shop_organization) == before


def test_a_blocked_customer_is_refused(sdk, shop_organization):
    customer = create_customer(shop_organization, email=unique_email(), points=300)
    reference = order_id()
    sdk.create_transaction(order_id=reference, user_id=customer.pk, order_total=10)
    with in_shop(shop_organization):
        Customer.objects.filter(pk=customer.pk).update(status=Customer.Status.BLOCKED)
    before = snapshot(shop_organization)
    for fields in (
        {"order_total": 10},
        {"points_redeemed": 100, "order_total": 10},
        {"points": 0},
        {"transaction_type": "cancellation", "original_order_id": reference},
    ):
        error = refused(sdk.create_transaction, order_id=order_id(), user_id=customer.pk, **fields)
        assert (error.http_status, error.code) == (422, "CUSTOMER_BLOCKED"), fields
    assert snapshot(shop_organization) == before


def test_an_inactive_shop_is_refused_and_an_active_one_recorded(sdk, shop_organization):
    customer = create_customer(shop_organization, email=unique_email())
    with in_shop(shop_organization):
        active = shop_create(name=f"Shop {uuid.uuid4().hex[:6]}")
        closed = shop_create(name=f"Shop {uuid.uuid4().hex[:6]}", is_active=False)
    error = refused(
        sdk.create_transaction, order_id=order_id(), user_id=customer.pk, order_total=1, shop_id=closed.pk
    )
    assert (error.http_status, error.code) == (404, "SHOP_NOT_FOUND")
    answer = sdk.create_transaction(
        order_id=order_id(), user_id=customer.pk, order_total=1, shop_id=active.pk
    )
    assert answer["shop_id"] == active.pk


def test_refusals_are_worded_in_the_paths_language(server, shop_key, shop_organization):
    customer = create_customer(shop_organization, email=unique_email())
    lithuanian = make_sdk(server, shop_key, locale="lt")
    error = refused(
        lithuanian.create_transaction, order_id=order_id(), user_id=customer.pk, order_total=1, currency="USD"
    )
    assert (error.code, error.message) == ("CURRENCY_MISMATCH", "Valiuta nesutampa su organizacijos valiuta.")


def test_the_ledger_lists_a_cards_transactions_newest_first(sdk, shop_organization):
    customer = create_customer(shop_organization, email=unique_email(), points=400)
    card = point_card(shop_organization, customer)
    purchase, redemption = order_id(), order_id()
    sdk.create_transaction(order_id=purchase, user_id=customer.pk, order_total=30, description="Shoes")
    sdk.create_transaction(order_id=redemption, user_id=customer.pk, points_redeemed=100, order_total=1)
    sdk.create_transaction(order_id=purchase, user_id=customer.pk, transaction_type="cancellation")
    with in_shop(shop_organization):
        entries = list(LedgerEntry.objects.filter(card=card).order_by("-pk").select_related("lot"))
    listed = sdk.get_transactions(card_id=card.pk)
    assert listed["meta"] == {"current_page": 1, "per_page": 15, "total": 4, "last_page": 1}
    assert [
        (row["type"], row["points"], row["balance_after"], row["reference_id"]) for row in listed["data"]
    ] == [
        ("refunded", -30, 300, purchase),
        ("redeemed", -100, 330, redemption),
        ("earned", 30, 430, purchase),
        ("adjusted", 400, 400, None),
    ]
    assert listed["data"][2] == {
        "id": entries[2].pk,
        "loyalty_card_id": card.pk,
        "user_id": customer.pk,
        "points": 30,
        "type": "earned",
        "description": "Shoes",
        "reference_id": purchase,
        "reference_type": "order",
        "balance_after": 430,
        "expires_at": None,
        "expired_at": None,
        "meta_data": None,
        "created_at": entries[2].created_at.isoformat(),
    }
    assert listed["data"][3]["description"] == "Adjustment"
    assert [row["id"] for row in sdk.get_transactions(user_id=customer.pk, type="redeemed")["data"]] == [
        entries[1].pk
    ]
    page = sdk.get_transactions(card_id=card.pk, per_page=3, page=2)
    assert ([row["id"] for row in page["data"]], page["meta"]["last_page"]) == ([entries[3].pk], 2)
    for params, code in (
        ({"type": "transfer"}, "TYPE_INVALID"),
        ({"card_id": "x"}, "CARD_ID_INVALID"),
        ({"per_page": 101}, "PER_PAGE_INVALID"),
        ({"order_id": purchase}, "UNKNOWN_FIELD"),
    ):
        assert refused(sdk.get_transactions, **params).code == code, params


def test_the_same_order_sent_by_eight_threads_at_once_counts_once(server, shop_key, shop_organization):
    customer = create_customer(shop_organization, email=unique_email(), points=1000)
    reference = order_id()

    def send(index):
        client = make_sdk(server, shop_key)
        try:
            return client.create_transaction(
                order_id=reference, user_id=customer.pk, order_total=10, points_redeemed=100
            )
        except LoyaltySDKError as error:
            return (error.http_status, error.code)

    results = run_at_once(8, send)
    answers = [result for result in results if isinstance(result, dict)]
    refusals = Counter(result for result in results if not isinstance(result, dict))
    assert answers and set(refusals) <= {(409, "REQUEST_IN_PROGRESS")}
    assert all(answer == answers[0] for answer in answers)
    assert [entry[:3] for entry in ledger(shop_organization, customer)] == [
        ("adjust", 1000, 1000),
        ("redeem", -100, 900),
        ("earn", 9, 909),
    ]
    retry = make_sdk(server, shop_key).create_transaction(
        order_id=reference, user_id=customer.pk, order_total=10, points_redeemed=100
    )
    assert retry == answers[0]


def test_different_orders_on_one_card_at_once_add_up_exactly(server, shop_key, shop_organization):
    customer = create_customer(shop_organization, email=unique_email(), points=1000)
    prefix = order_id()

    def send(index):
        return make_sdk(server, shop_key).create_transaction(
            order_id=f"{prefix}-{index}", user_id=customer.pk, order_total=10, points_redeemed=100
        )

    results = run_at_once(8, send)
    assert sorted(result["points"] for result in results) == [-91] * 8
    with in_shop(shop_organization):
        card = Card.objects.get(customer=customer, program__kind="point")
        entries = LedgerEntry.objects.filter(card=card)
        assert card.balance == 1000 - 8 * 100 + 8 * 9 == 272
        assert sum(entries.values_list("delta", flat=True)) == card.balance
        assert entries.count() == 1 + 16
    assert sorted(result["balance"] for result in results)[0] == 272


def test_another_organization_cannot_touch_these_customers(sdk, sdk_other, shop_organization):
    customer = create_customer(shop_organization, email=unique_email(), points=100)
    card = point_card(shop_organization, customer)
    reference = order_id()
    sdk.create_transaction(order_id=reference, user_id=customer.pk, order_total=10)
    before = snapshot(shop_organization)
    error = refused(
        sdk_other.create_transaction, order_id=order_id(), user_email=customer.email, order_total=10
    )
    assert (error.http_status, error.code) == (404, "CUSTOMER_NOT_FOUND")
    error = refused(
        sdk_other.create_transaction, order_id=reference, user_id=customer.pk, transaction_type="cancellation"
    )
    assert error.http_status == 404
    assert error.code in {"CUSTOMER_NOT_FOUND", "TRANSACTION_NOT_FOUND"}
    seen = (
        sdk_other.get_transactions(card_id=card.pk)["data"]
        + sdk_other.get_transactions(user_id=customer.pk)["data"]
    )
    assert reference not in {row["reference_id"] for row in seen}
    assert snapshot(shop_organization) == before


def test_a_preset_asking_a_pin_for_redeem_asks_it_through_the_shop_api(sdk, raw, shop_organization):
    customer = create_customer(shop_organization, email=unique_email(), points=300)
    organization = Organization.objects.get(pk=shop_organization.pk)
    previous = organization.verification_preset
    organization.verification_preset = Organization.VerificationPreset.BALANCED
    organization.save()
    try:
        before = ledger(shop_organization, customer)
        error = refused(
            sdk.create_transaction,
            order_id=order_id(),
            user_id=customer.pk,
            order_total=5,
            points_redeemed=100,
        )
        assert (error.http_status, error.code) == (412, "PIN_REQUIRED")
        assert ledger(shop_organization, customer) == before
        # Earning alone asks no PIN under this preset.
        assert (
            sdk.create_transaction(order_id=order_id(), user_id=customer.pk, order_total=1)["balance"] == 301
        )
        # A new challenge replaces the customer's open one: this is the one to answer.
        body = {"order_id": order_id(), "user_id": customer.pk, "order_total": 10, "points_redeemed": 100}
        asked = raw.create(body)
        assert (asked.status_code, asked.json()["code"]) == (412, "PIN_REQUIRED")
        challenge_id = asked.json()["challenge_id"]
        with in_shop(shop_organization):
            pin, summary = next(
                (item["pin"], item["summary"])
                for item in open_pins_for_customer(customer=customer)
                if item["challenge_id"] == challenge_id
            )
        assert summary == "Redeem 100 points"
        answer = sdk.create_transaction(**{**body, "verification_pin": pin, "challenge_id": challenge_id})
        assert (answer["points_redeemed"], answer["points_earned"], answer["balance"]) == (100, 9, 210)
    finally:
        organization.verification_preset = previous
        organization.save()
