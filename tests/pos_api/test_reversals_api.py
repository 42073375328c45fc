"""`POST /webhook/transactions/<external_id>/reverse` as the contract says ("Reversing an earn
or a redeem"): the service's rules are tested in tests/programs/test_reversals.py."""

from tests.pos_fixtures import balances, create_customer, snapshot
from tests.verification.test_pin_state_machine import current_pin, set_preset


def earn(pos, customer, external_id: str, amount=5, card_type="point"):
    body = {
        "customer_code": customer.customer_code,
        "amount": amount,
        "card_type": card_type,
        "external_id": external_id,
    }
    response = pos.post("/webhook/pos", body)
    assert response.status_code == 200, response.content
    return response


def reverse(pos, original: str, **body):
    return pos.post(f"/webhook/transactions/{original}/reverse", {"external_id": f"rev-{original}", **body})


def test_reversing_an_earn_takes_its_points_back_once(organization, programs, pos):
    customer = create_customer(organization, points=10)
    earn(pos, customer, "sale-1", amount=7)

    reversed_once = reverse(pos, "sale-1", reason="sale voided")
    replayed = reverse(pos, "sale-1", reason="sale voided")
    again = reverse(pos, "sale-1", external_id="rev-2")

    assert (reversed_once.status_code, reversed_once.json()) == (
        200,
        {
            "data": {
                "reversed": "sale-1",
                "kind": "earn",
                "stamps": 0,
                "points": 10,
                "points_unrecovered": 0,
                "stamps_unrecovered": 0,
                "coupon_already_used": False,
            }
        },
    )
    assert (replayed.status_code, replayed.content) == (200, reversed_once.content)
    assert (again.status_code, again.json()) == (409, {"error": "transaction_already_reversed"})
    assert balances(organization, customer)["point"] == (10, 10, 3)  # seed, earn, its reversal


def test_points_already_spent_are_reported_unrecovered(organization, programs, pos):
    customer = create_customer(organization, points=0)
    earn(pos, customer, "sale-2", amount=150)
    spent = pos.post(
        "/webhook/redeem",
        {"customer_code": customer.customer_code, "value": 110, "card_type": "point", "external_id": "spend"},
    )
    assert spent.status_code == 200

    response = reverse(pos, "sale-2")

    assert response.json()["data"] | {"kind": None} == {
        "reversed": "sale-2",
        "kind": None,
        "stamps": 0,
        "points": 0,
        "points_unrecovered": 110,
        "stamps_unrecovered": 0,
        "coupon_already_used": False,
    }


def test_refusals_change_nothing(organization, programs, pos, pos_b):
    customer = create_customer(organization, points=10)
    earn(pos, customer, "sale-3")
    before = snapshot(organization)

    unknown = reverse(pos, "never-sent")
    other_organization = reverse(pos_b, "sale-3")
    bad_kind = reverse(pos, "sale-3", kind="refund")
    unknown_field = reverse(pos, "sale-3", amount=5)
    no_external_id = pos.post("/webhook/transactions/sale-3/reverse", {})

    assert (unknown.status_code, unknown.json()) == (404, {"error": "transaction_not_found"})
    assert (other_organization.status_code, other_organization.json()) == (
        404,
        {"error": "transaction_not_found"},
    )
    assert (bad_kind.status_code, bad_kind.json()) == (422, {"error": "kind_invalid", "field": "kind"})
    assert (unknown_field.status_code, unknown_field.json()) == (
        422,
        {"error": "unknown_field", "field": "amount"},
    )
    assert (no_external_id.status_code, no_external_id.json()) == (
        422,
        {"error": "external_id_required", "field": "external_id"},
    )
    assert snapshot(organization) == before


def test_strict_asks_the_customers_pin_before_reversing(organization, programs, pos):
    customer = create_customer(organization, points=10)
    earn(pos, customer, "sale-4")
    set_preset(organization, "strict")
    before = balances(organization, customer)

    prompt = reverse(pos, "sale-4")
    assert (prompt.status_code, prompt.json()["error"]) == (412, "pin_required")
    assert balances(organization, customer) == before
    done = reverse(pos, "sale-4", verification_pin=current_pin(organization, customer))

    assert (done.status_code, done.json()["data"]["points"]) == (200, 10)


def test_an_unknown_original_is_refused_before_any_pin_prompt(organization, programs, pos):
    set_preset(organization, "strict")

    response = reverse(pos, "never-sent")

    assert (response.status_code, response.json()) == (404, {"error": "transaction_not_found"})
