import hashlib
import hmac
import json
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import transaction
from django_tenants.utils import tenant_context

from loyalty_platform.orders.models import EarningRule, Order, OrderReturn
from loyalty_platform.pos_api.models import IdempotencyRecord
from loyalty_platform.programs.models import Card, LedgerEntry
from loyalty_platform.programs.services import ledger_post
from tests.pos_fixtures import balances, create_customer, create_programs, snapshot

BASKET = [
    {"sku": "LATTE", "name": "Latte", "category": "drinks", "quantity": 2, "unit_price": "3.50"},
    {"sku": "CAKE", "name": "Cheesecake", "category": "food", "quantity": 1, "unit_price": "4.25"},
    {"sku": "GC25", "name": "Giftcard", "category": "giftcard", "quantity": 1, "unit_price": "25.00"},
]


def order_body(external_id="o-1", customer=None, lines=BASKET, total="36.25", **fields):
    body = {"external_id": external_id, "currency": "EUR", "total": total, "lines": lines, **fields}
    if customer is not None:
        body["customer_code"] = customer.customer_code
    return body


def rules(organization, *specs) -> list[EarningRule]:
    with tenant_context(organization):
        return [EarningRule.objects.create(**spec) for spec in specs]


def orders_state(organization) -> dict:
    with tenant_context(organization):
        return {
            "orders": list(
                Order.objects.order_by("pk").values_list("external_id", "status", "points_returned")
            ),
            "returns": OrderReturn.objects.count(),
        }


def entries(organization, customer) -> list[tuple[str, int]]:
    with tenant_context(organization):
        return list(
            LedgerEntry.objects.filter(card__customer=customer, card__program__kind="point")
            .order_by("pk")
            .values_list("cause", "delta")
        )


def test_an_order_earns_by_its_lines_and_giftcards_earn_nothing(organization, programs, pos):
    customer = create_customer(organization)

    response = pos.post("/webhook/orders", order_body(customer=customer))

    assert response.status_code == 200
    data = response.json()["data"]
    assert (data["points_earned"], data["point_balance"], data["total"], data["status"]) == (
        11,
        11,
        "36.25",
        "completed",
    )
    assert [(line["sku"], line["quantity"], line["points_earned"]) for line in data["lines"]] == [
        ("LATTE", "2", 7),
        ("CAKE", "1", 4),
        ("GC25", "1", 0),
    ]
    assert (data["claim_url"], data["customer_code"], data["tier"]) == (None, customer.customer_code, None)
    assert entries(organization, customer) == [("order", 11)]


def test_rules_multiply_add_bonuses_and_a_visit_bonus(organization, programs, pos):
    rules(
        organization,
        {
            "name": "Drinks x2",
            "applies_to": "category",
            "match_values": "Drinks",
            "effect": "multiplier",
            "multiplier": 2,
        },
        {
            "name": "Cake +5",
            "applies_to": "sku",
            "match_values": "CAKE",
            "effect": "bonus",
            "bonus_points": 5,
        },
        {
            "name": "Visit",
            "applies_to": "visit",
            "effect": "bonus",
            "bonus_points": 10,
            "minimum_spend": "10",
        },
        {"name": "Off", "applies_to": "visit", "effect": "bonus", "bonus_points": 99, "is_active": False},
    )
    customer = create_customer(organization)

    data = pos.post("/webhook/orders", order_body(customer=customer)).json()["data"]

    # 7.00 x 2 = 14; 4.25 -> 4 (+5 bonus); giftcard 0; visit 10.
    assert [line["points_earned"] for line in data["lines"]] == [14, 9, 0]
    assert (data["visit_bonus_points"], data["points_earned"], data["point_balance"]) == (10, 33, 33)


def test_preview_computes_the_same_and_saves_nothing(organization, programs, pos):
    rules(
        organization,
        {
            "name": "Cake +5",
            "applies_to": "sku",
            "match_values": "CAKE",
            "effect": "bonus",
            "bonus_points": 5,
        },
    )
    customer = create_customer(organization, points=250)
    before = snapshot(organization), orders_state(organization)

    body = order_body(customer=customer)
    del body["external_id"]
    preview = pos.post("/webhook/orders/preview", {**body, "points": 250})

    assert preview.status_code == 200
    data = preview.json()["data"]
    assert (data["points_earned"], data["point_balance"], data["points_worth"]) == (
        16,
        250,
        {"points": 250, "amount": "2.50"},
    )
    assert [line["excluded"] for line in data["lines"]] == [False, False, True]
    assert (snapshot(organization), orders_state(organization)) == before
    assert pos.post("/webhook/orders", order_body(customer=customer)).json()["data"]["points_earned"] == 16


def test_order_replays_byte_for_byte_and_refuses_a_changed_body(organization, programs, pos):
    customer = create_customer(organization)
    first = pos.post("/webhook/orders", order_body(customer=customer))
    again = pos.post("/webhook/orders", order_body(customer=customer))
    changed = pos.post("/webhook/orders", order_body(customer=customer, total="30.00"))

    assert again.content == first.content
    assert (changed.status_code, changed.json()) == (422, {"error": "idempotency_key_reused"})
    assert entries(organization, customer) == [("order", 11)]


def test_returns_take_back_exactly_what_lines_earned_even_after_rules_changed(organization, programs, pos):
    (drinks,) = rules(
        organization,
        {
            "name": "Drinks x3",
            "applies_to": "category",
            "match_values": "drinks",
            "effect": "multiplier",
            "multiplier": 3,
        },
        {"name": "Visit", "applies_to": "visit", "effect": "bonus", "bonus_points": 10},
    )[:1]
    customer = create_customer(organization)
    lines = [{"sku": "LATTE", "category": "drinks", "quantity": 3, "unit_price": "3.33"}, BASKET[1]]
    order = pos.post("/webhook/orders", order_body(customer=customer, lines=lines, total="14.24")).json()[
        "data"
    ]
    # 9.99 x 3 = 29.97 and 4.25: 34.22 -> 34 shared out as 30 + 4; visit 10.
    assert ([line["points_earned"] for line in order["lines"]], order["points_earned"]) == ([30, 4], 44)

    with tenant_context(organization):
        drinks.multiplier = Decimal("10")
        drinks.save()

    first = pos.post(
        "/webhook/orders/o-1/returns", {"external_id": "r-1", "lines": [{"sku": "LATTE", "quantity": 1}]}
    )
    assert first.status_code == 200
    assert (first.json()["data"]["points_due"], first.json()["data"]["point_balance"]) == (10, 34)
    second = pos.post(
        "/webhook/orders/o-1/returns", {"external_id": "r-2", "lines": [{"sku": "LATTE", "quantity": 2}]}
    )
    assert second.json()["data"]["points_due"] == 20
    assert second.json()["data"]["order"]["status"] == "partially_returned"
    replay = pos.post(
        "/webhook/orders/o-1/returns", {"external_id": "r-2", "lines": [{"sku": "LATTE", "quantity": 2}]}
    )
    assert replay.content == second.content

    rest = pos.post("/webhook/orders/o-1/returns", {"external_id": "r-3"}).json()["data"]
    assert (rest["is_cancellation"], rest["points_due"], rest["point_balance"]) == (True, 14, 0)
    assert rest["order"]["status"] == "returned" and rest["order"]["points_returned"] == 44
    assert entries(organization, customer) == [
        ("order", 44),
        ("return", -10),
        ("return", -20),
        ("return", -14),
    ]
    done = pos.post("/webhook/orders/o-1/returns", {"external_id": "r-4"})
    assert (done.status_code, done.json()) == (409, {"error": "order_already_returned"})


def test_spent_points_are_taken_as_far_as_the_balance_allows(organization, programs, pos):
    customer = create_customer(organization)
    pos.post("/webhook/orders", order_body(customer=customer))  # 11 points
    with tenant_context(organization), transaction.atomic():
        card = (
            Card.objects.select_for_update()
            .select_related("program")
            .get(customer=customer, program__kind="point")
        )
        ledger_post(card=card, delta=-8, cause="redeem")  # spent on something else

    data = pos.post("/webhook/orders/o-1/returns", {"external_id": "r-1"}).json()["data"]

    assert (data["points_due"], data["points_taken"], data["points_unrecovered"], data["point_balance"]) == (
        11,
        3,
        8,
        0,
    )
    assert data["order"]["points_unrecovered"] == 8
    assert balances(organization, customer)["point"][0] == 0


def test_paying_with_points_earns_on_the_rest_and_a_cancellation_refunds_them(organization, programs, pos):
    customer = create_customer(organization, points=500)
    lines = [{"sku": "MEAL", "category": "food", "quantity": 1, "unit_price": "12.00"}]

    data = pos.post(
        "/webhook/orders", order_body(customer=customer, lines=lines, total="12.00", paid_with_points=200)
    ).json()["data"]
    assert (data["paid_with_points"], data["points_earned"], data["point_balance"]) == (200, 10, 310)

    cancel = pos.post("/webhook/orders/o-1/returns", {"external_id": "c-1"}).json()["data"]
    assert (cancel["paid_points_refunded"], cancel["points_taken"], cancel["point_balance"]) == (200, 10, 500)
    assert entries(organization, customer)[1:] == [
        ("redeem", -200),
        ("order", 10),
        ("refund", 200),
        ("return", -10),
    ]


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ({"currency": "USD"}, 422, "currency_mismatch"),
        ({"currency": 978}, 422, "currency_invalid"),
        ({"total": None}, 422, "total_required"),
        ({"total": "1.001"}, 422, "total_invalid"),
        ({"total": -1}, 422, "total_invalid"),
        ({"total": "1e400"}, 422, "total_invalid"),
        ({"total": True}, 422, "total_invalid"),
        ({"lines": []}, 422, "lines_invalid"),
        ({"lines": None}, 422, "lines_required"),
        ({"lines": "LATTE"}, 422, "lines_invalid"),
        ({"lines": [{"sku": "A", "quantity": 0, "unit_price": 1}]}, 422, "lines_invalid"),
        ({"lines": [{"sku": "A", "quantity": 1, "unit_price": -1}]}, 422, "lines_invalid"),
        ({"lines": [{"sku": "A", "quantity": 1, "unit_price": 1, "vat": 21}]}, 422, "lines_invalid"),
        ({"lines": [{"sku": "", "quantity": 1, "unit_price": 1}]}, 422, "lines_invalid"),
        ({"lines": [{"sku": "A", "quantity": 1e12, "unit_price": 1}]}, 422, "lines_invalid"),
        ({"lines": [{"sku": "A", "quantity": 1, "unit_price": 1}] * 501}, 422, "lines_invalid"),
        ({"paid_with_points": -5}, 422, "paid_with_points_invalid"),
        ({"paid_with_points": 10_000}, 422, "insufficient_balance"),
        ({"paid_with_points": 50}, 422, "below_minimum"),
        ({"customer_code": 999993}, 404, "customer_not_found"),
        ({"customer_code": "abc"}, 422, "customer_code_invalid"),
        ({"shop_id": 987654}, 422, "shop_id_invalid"),
        ({"external_id": ""}, 422, "external_id_required"),
        ({"coupon": "x"}, 422, "unknown_field"),
    ],
)
def test_bad_orders_are_refused_and_change_nothing(organization, programs, pos, change, status, code):
    customer = create_customer(organization, points=300)
    body = order_body(customer=customer)
    body.update(change)
    if change.get("total", 0) is None:
        del body["total"]
    if "lines" in change and change["lines"] is None:
        del body["lines"]
    before = snapshot(organization), orders_state(organization)

    response = pos.post("/webhook/orders", body)

    assert (response.status_code, response.json()["error"]) == (status, code)
    assert (snapshot(organization), orders_state(organization)) == before


def test_malformed_json_and_points_paid_without_a_customer(organization, programs, pos):
    before = snapshot(organization), orders_state(organization)
    broken = pos.post("/webhook/orders", raw=b'{"external_id": "o-1", "total": ')
    anonymous = pos.post("/webhook/orders", order_body(paid_with_points=100))
    assert (broken.status_code, broken.json()) == (400, {"error": "invalid_json"})
    assert (anonymous.status_code, anonymous.json()) == (422, {"error": "customer_code_required"})
    assert (snapshot(organization), orders_state(organization)) == before


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        (
            {"external_id": "r", "lines": [{"sku": "LATTE", "quantity": 3}]},
            422,
            {"error": "return_exceeds_order", "sku": "LATTE", "returnable": "2"},
        ),
        (
            {"external_id": "r", "lines": [{"sku": "TEA", "quantity": 1}]},
            422,
            {"error": "sku_not_in_order", "sku": "TEA"},
        ),
        (
            {"external_id": "r", "lines": [{"sku": "LATTE", "quantity": "-1"}]},
            422,
            {"error": "lines_invalid", "field": "lines", "line": 0, "line_field": "quantity"},
        ),
        ({"external_id": "r", "lines": []}, 422, {"error": "lines_invalid", "field": "lines"}),
        (
            {"lines": [{"sku": "LATTE", "quantity": 1}]},
            422,
            {"error": "external_id_required", "field": "external_id"},
        ),
        ({"external_id": "r", "reason": "broken"}, 422, {"error": "unknown_field", "field": "reason"}),
    ],
)
def test_bad_returns_are_refused_and_change_nothing(organization, programs, pos, body, status, error):
    customer = create_customer(organization)
    pos.post("/webhook/orders", order_body(customer=customer))
    before = snapshot(organization), orders_state(organization)

    response = pos.post("/webhook/orders/o-1/returns", body)

    assert (response.status_code, response.json()) == (status, error)
    assert (snapshot(organization), orders_state(organization)) == before


def test_orders_of_another_organization_are_out_of_reach(
    organization, other_organization, programs, pos, pos_b, key_a
):
    customer = create_customer(organization)
    pos.post("/webhook/orders", order_body(customer=customer))
    before = snapshot(organization), orders_state(organization)

    foreign = pos_b.post("/webhook/orders/o-1/returns", {"external_id": "r-1"})
    unknown = pos.post("/webhook/orders/nope/returns", {"external_id": "r-1"})
    wrong_host = pos.__class__("test-b.localhost", key_a).post(
        "/webhook/orders", order_body(external_id="o-2")
    )

    assert (foreign.status_code, foreign.json()) == (404, {"error": "order_not_found"})
    assert (unknown.status_code, unknown.json()) == (404, {"error": "order_not_found"})
    assert wrong_host.status_code == 401
    assert (snapshot(organization), orders_state(organization)) == before


def test_an_order_without_customer_carries_a_claim_url_built_by_the_documented_recipe(
    organization, programs, pos
):
    data = pos.post("/webhook/orders", order_body(external_id="till 4/0012")).json()["data"]

    assert (data["customer_code"], data["point_balance"], data["points_earned"]) == (None, None, 11)
    url = urlsplit(data["claim_url"])
    query = {key: values[0] for key, values in parse_qs(url.query).items()}
    assert (url.netloc.split(":")[0], url.path, query["o"]) == ("test-a.localhost", "/claim", "till 4/0012")
    # The recipe of docs/receipt-claims.md, followed without the platform's code:
    with tenant_context(organization):
        from tenants.models import Organization

        secret = Organization.objects.get(pk=organization.pk).signing_secret
    key = hmac.new(secret.encode(), b"receipt-claim", hashlib.sha256).hexdigest()
    expected = hmac.new(key.encode(), f"till 4/0012:{query['e']}".encode(), hashlib.sha256).hexdigest()[:32]
    assert query["s"] == expected
    assert (
        json.loads(pos.post("/webhook/orders/till 4/0012/returns", {"external_id": "r"}).content)["data"][
            "points_taken"
        ]
        == 0
    )


def test_an_order_id_stays_taken_after_its_idempotency_record_is_purged(organization, programs, pos):
    customer = create_customer(organization)
    pos.post("/webhook/orders", order_body(customer=customer))
    pos.post("/webhook/orders/o-1/returns", {"external_id": "r-1", "lines": [{"sku": "CAKE", "quantity": 1}]})
    with tenant_context(organization):
        IdempotencyRecord.objects.all().delete()
    before = snapshot(organization), orders_state(organization)

    order = pos.post("/webhook/orders", order_body(customer=customer))
    again = pos.post(
        "/webhook/orders/o-1/returns", {"external_id": "r-1", "lines": [{"sku": "LATTE", "quantity": 1}]}
    )

    assert (order.status_code, order.json()) == (409, {"error": "order_exists"})
    assert (again.status_code, again.json()) == (409, {"error": "return_exists"})
    assert (snapshot(organization), orders_state(organization)) == before


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ({"points": -1}, 422, "points_invalid"),
        ({"points": "ten"}, 422, "points_invalid"),
        ({"currency": "GBP"}, 422, "currency_mismatch"),
        ({"lines": [{"sku": "A"}]}, 422, "lines_invalid"),
        ({"customer_code": 999993}, 404, "customer_not_found"),
        ({"discount": 5}, 422, "unknown_field"),
    ],
)
def test_bad_previews_are_refused(organization, programs, pos, change, status, code):
    response = pos.post("/webhook/orders/preview", {**order_body(), **change})
    assert (response.status_code, response.json()["error"]) == (status, code)


def test_preview_of_another_organizations_customer_is_not_found(
    organization, other_organization, programs, pos_b
):
    create_programs(other_organization)
    customer = create_customer(organization)

    response = pos_b.post("/webhook/orders/preview", order_body(customer=customer))

    assert (response.status_code, response.json()) == (404, {"error": "customer_not_found"})
    anonymous = pos_b.post("/webhook/orders/preview", order_body()).json()["data"]
    assert (anonymous["points_earned"], anonymous["point_balance"], anonymous["tier"]) == (11, None, None)


@pytest.mark.parametrize(
    ("line", "refused"),
    [
        ({"sku": "A", "quantity": 0, "unit_price": 1}, "quantity"),
        ({"sku": "A", "quantity": 1, "unit_price": -1}, "unit_price"),
        ({"sku": "A", "quantity": 1, "unit_price": 1, "vat": 21}, "vat"),
        ({"sku": " ", "quantity": 1, "unit_price": 1}, "sku"),
        ({"sku": "A", "name": 7, "quantity": 1, "unit_price": 1}, "name"),
    ],
)
def test_a_refused_line_is_named_by_its_index_and_field(organization, programs, pos, line, refused):
    body = order_body(lines=[BASKET[0], line], total="8.00")

    response = pos.post("/webhook/orders", body)

    assert (response.status_code, response.json()) == (
        422,
        {"error": "lines_invalid", "field": "lines", "line": 1, "line_field": refused},
    )


def test_money_in_an_order_has_the_currencys_decimals(organization, programs, pos):
    lines = [
        {"sku": "LATTE", "quantity": 2, "unit_price": 3.5},
        {"sku": "SAFFRON", "quantity": "0.5", "unit_price": "12.125"},
    ]

    response = pos.post("/webhook/orders", order_body(lines=lines, total="13"))

    data = response.json()["data"]
    assert (data["total"], [line["unit_price"] for line in data["lines"]]) == ("13.00", ["3.50", "12.125"])
    assert [line["quantity"] for line in data["lines"]] == ["2", "0.5"]
