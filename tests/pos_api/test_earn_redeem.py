from decimal import Decimal

import pytest
from django_tenants.utils import tenant_context

from loyalty_platform.coupons.models import Coupon
from loyalty_platform.pos_api.idempotency import OnceKey, request_fingerprint
from loyalty_platform.programs.models import LedgerEntry
from tests.pos_fixtures import balances, create_customer, holding_advisory_lock, snapshot


def earn(pos, customer, **fields):
    return pos.post("/webhook/pos", {"customer_code": customer.customer_code, "external_id": "e-1", **fields})


@pytest.mark.parametrize(
    ("rounding", "amount", "points"),
    [
        ("down", "12.99", 12),
        ("down", 12.5, 12),  # a JSON number, as tills usually send it
        ("nearest", "12.50", 13),
        ("nearest", "12.49", 12),
        ("up", "12.01", 13),
    ],
)
def test_earn_points_by_ratio_and_rounding_rule(organization, programs, pos, rounding, amount, points):
    with tenant_context(organization):
        programs["point"].earn_rounding = rounding
        programs["point"].save()
    customer = create_customer(organization, points=100)

    response = earn(pos, customer, amount=amount)

    assert (response.status_code, response.json()) == (200, {"data": {"stamps": 0, "points": 100 + points}})
    assert balances(organization, customer)["point"] == (100 + points, 100 + points, 2)


def test_earn_uses_the_earn_ratio_exactly(organization, programs, pos):
    with tenant_context(organization):
        programs["point"].earn_points_per_unit = Decimal("2.5")
        programs["point"].save()
    customer = create_customer(organization)

    assert earn(pos, customer, amount="0.1").json()["data"]["points"] == 0
    assert earn(pos, customer, amount="10.2", external_id="e-2").json()["data"]["points"] == 25


def test_earn_stamps_fills_a_card_issues_a_coupon_and_carries_over(organization, programs, pos):
    customer = create_customer(organization, stamps=8, points=3)

    response = earn(pos, customer, amount=4, card_type="stamp")

    data = response.json()["data"]
    with tenant_context(organization):
        coupon = Coupon.objects.get(customer=customer)
        reward_entry = LedgerEntry.objects.get(card__customer=customer, cause="reward")
    assert data == {
        "stamps": 2,
        "points": 3,
        "coupon": {"id": str(coupon.pk), "name": "Free Coffee", "qr_token": coupon.qr_token},
    }
    assert coupon.qr_token.startswith("cq_") and coupon.status == "active"
    assert coupon.issuing_entry_id == reward_entry.pk
    assert reward_entry.delta == -10
    assert balances(organization, customer)["stamp"] == (2, 2, 3)


@pytest.mark.parametrize(("amount", "stamps"), [("0.5", 1), ("2.5", 3), ("9.4", 9), (10, 10)])
def test_stamp_amount_is_rounded_at_least_one_at_most_a_card(organization, programs, pos, amount, stamps):
    customer = create_customer(organization)

    data = earn(pos, customer, amount=amount, card_type="stamp").json()["data"]

    assert data["stamps"] == stamps % 10
    assert ("coupon" in data) is (stamps == 10)


@pytest.mark.parametrize("amount", ["0.4", "10.5", 11, 1_000_000])
def test_stamp_amounts_outside_one_to_a_card_are_refused_not_clamped(organization, programs, pos, amount):
    # Rounding to 0 gave a stamp nobody paid for; more than a card was cut to one card silently.
    customer = create_customer(organization, stamps=3)
    before = snapshot(organization)

    response = earn(pos, customer, amount=amount, card_type="stamp")

    assert (response.status_code, response.json()) == (
        422,
        {"error": "amount_invalid", "field": "amount", "max": 10},
    )
    assert snapshot(organization) == before


@pytest.mark.parametrize(
    ("fields", "status", "code"),
    [
        ({"amount": 0}, 422, "amount_invalid"),
        ({"amount": -5}, 422, "amount_invalid"),
        ({"amount": "ten"}, 422, "amount_invalid"),
        ({"amount": True}, 422, "amount_invalid"),
        ({"amount": "1.23456"}, 422, "amount_invalid"),
        ({"amount": 1e300}, 422, "amount_invalid"),
        ({"amount": [1]}, 422, "amount_invalid"),
        ({"amount": None}, 422, "amount_required"),
        ({}, 422, "amount_required"),
        ({"amount": 5, "card_type": "gold"}, 422, "card_type_invalid"),
        ({"amount": 5, "external_id": ""}, 422, "external_id_required"),
        ({"amount": 5, "external_id": None}, 422, "external_id_required"),
        ({"amount": 5, "external_id": 12}, 422, "external_id_invalid"),
        ({"amount": 5, "external_id": "x" * 129}, 422, "external_id_invalid"),
        ({"amount": 5, "manual_code": "yes"}, 422, "manual_code_invalid"),
        ({"amount": 5, "verification_pin": 1234}, 422, "verification_pin_invalid"),
        ({"amount": 5, "customer_code": "12345x"}, 422, "customer_code_invalid"),
        ({"amount": 5, "customer_code": 10**30}, 422, "customer_code_invalid"),
        ({"amount": 5, "customer_code": None}, 422, "customer_code_required"),
        ({"amount": 5, "customer_code": 999997}, 404, "customer_not_found"),
        ({"amount": 5, "bonus": 100}, 422, "unknown_field"),
    ],
)
def test_earn_refuses_bad_input_and_changes_nothing(organization, programs, pos, fields, status, code):
    customer = create_customer(organization, points=10)
    before = snapshot(organization)

    response = earn(pos, customer, **fields)

    assert (response.status_code, response.json()["error"]) == (status, code)
    assert snapshot(organization) == before


def test_earn_without_external_id_field_is_refused(organization, programs, pos):
    customer = create_customer(organization)
    response = pos.post("/webhook/pos", {"customer_code": customer.customer_code, "amount": 5})
    assert (response.status_code, response.json()) == (
        422,
        {"error": "external_id_required", "field": "external_id"},
    )


def test_earn_without_a_program_of_that_kind_is_404(organization, pos):
    customer = create_customer(organization)
    response = earn(pos, customer, amount=5, card_type="stamp")
    assert (response.status_code, response.json()["error"]) == (404, "program_not_found")


def test_redeem_points_and_stamps(organization, programs, pos):
    customer = create_customer(organization, points=500, stamps=6)

    points = pos.post(
        "/webhook/redeem",
        {"customer_code": customer.customer_code, "value": 150, "card_type": "point", "external_id": "r-1"},
    )
    stamps = pos.post(
        "/webhook/redeem", {"customer_code": customer.customer_code, "value": 6, "external_id": "r-2"}
    )

    assert points.json() == {"data": {"stamps": 6, "points": 350}}
    assert stamps.json() == {"data": {"stamps": 0, "points": 350}}
    assert balances(organization, customer) == {"point": (350, 350, 2), "stamp": (0, 0, 2)}


@pytest.mark.parametrize(
    ("fields", "status", "code"),
    [
        ({"value": 501, "card_type": "point"}, 422, "insufficient_balance"),
        ({"value": 99, "card_type": "point"}, 422, "below_minimum"),
        ({"value": 7}, 422, "insufficient_balance"),
        ({"value": 0}, 422, "value_invalid"),
        ({"value": 1.5}, 422, "value_invalid"),
        ({"value": "3"}, 422, "value_invalid"),
        ({"value": 2**40}, 422, "value_invalid"),
        ({}, 422, "value_required"),
        ({"value": 1, "card_type": "points"}, 422, "card_type_invalid"),
        ({"value": 1, "external_id": ""}, 422, "external_id_required"),
    ],
)
def test_redeem_refusals_leave_the_balance_untouched(organization, programs, pos, fields, status, code):
    customer = create_customer(organization, points=500, stamps=6)
    before = snapshot(organization)

    response = pos.post(
        "/webhook/redeem", {"customer_code": customer.customer_code, "external_id": "r-1", **fields}
    )

    assert (response.status_code, response.json()["error"]) == (status, code)
    assert snapshot(organization) == before


def test_redeem_a_customer_without_a_card_is_insufficient(organization, programs, pos):
    customer = create_customer(organization)
    with tenant_context(organization):
        customer.cards.all().delete()

    response = pos.post(
        "/webhook/redeem", {"customer_code": customer.customer_code, "value": 1, "external_id": "r"}
    )

    assert (response.status_code, response.json()) == (422, {"error": "insufficient_balance"})


# Idempotency ------------------------------------------------------------------------------


def test_same_external_id_and_body_replays_byte_for_byte_and_changes_nothing(organization, programs, pos):
    customer = create_customer(organization, points=10)
    body = {"customer_code": customer.customer_code, "amount": "5.00", "external_id": "dup-1"}

    first = pos.post("/webhook/pos", body)
    after_first = snapshot(organization)
    second = pos.post("/webhook/pos", {**body, "manual_code": False})  # ignored fields may differ

    assert first.status_code == second.status_code == 200
    assert second.content == first.content
    assert snapshot(organization) == after_first
    assert balances(organization, customer)["point"] == (15, 15, 2)


def test_same_external_id_with_another_body_is_refused(organization, programs, pos):
    customer = create_customer(organization, points=10)
    pos.post("/webhook/pos", {"customer_code": customer.customer_code, "amount": 5, "external_id": "dup-2"})
    before = snapshot(organization)

    response = pos.post(
        "/webhook/pos", {"customer_code": customer.customer_code, "amount": 6, "external_id": "dup-2"}
    )

    assert (response.status_code, response.json()) == (422, {"error": "idempotency_key_reused"})
    assert snapshot(organization) == before


def test_same_external_id_on_another_endpoint_is_independent(organization, programs, pos):
    customer = create_customer(organization, points=1000)
    pos.post("/webhook/pos", {"customer_code": customer.customer_code, "amount": 5, "external_id": "shared"})

    response = pos.post(
        "/webhook/redeem",
        {
            "customer_code": customer.customer_code,
            "value": 100,
            "card_type": "point",
            "external_id": "shared",
        },
    )

    assert response.json() == {"data": {"stamps": 0, "points": 905}}


def test_duplicate_while_the_first_is_running_is_409(organization, programs, pos):
    customer = create_customer(organization, points=10)
    body = {"customer_code": customer.customer_code, "amount": 5, "external_id": "running"}
    with tenant_context(organization):
        lock_id = OnceKey(
            endpoint="pos", external_id="running", fingerprint=request_fingerprint(body)
        ).lock_id
    before = snapshot(organization)

    # The first call's transaction holds the lock named after its external_id.
    with holding_advisory_lock(lock_id):
        response = pos.post("/webhook/pos", body)

    assert (response.status_code, response.json()) == (409, {"error": "request_in_progress"})
    assert snapshot(organization) == before


def test_failed_calls_are_not_stored_so_a_retry_is_processed(organization, programs, pos):
    customer = create_customer(organization, points=50)
    body = {
        "customer_code": customer.customer_code,
        "value": 100,
        "card_type": "point",
        "external_id": "retry",
    }

    refused = pos.post("/webhook/redeem", body)
    pos.post("/webhook/pos", {"customer_code": customer.customer_code, "amount": 60, "external_id": "topup"})
    retried = pos.post("/webhook/redeem", body)

    assert refused.json() == {"error": "insufficient_balance"}
    assert retried.json() == {"data": {"stamps": 0, "points": 10}}
