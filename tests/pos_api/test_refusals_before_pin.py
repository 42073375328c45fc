"""Under Strict every change asks the customer's PIN; a call that would be refused anyway is
refused before the prompt, so nobody reads out a PIN for nothing, and no challenge is made."""

import pytest
from django_tenants.utils import tenant_context

from loyalty_platform.rewards.models import Reward
from tests.pos_fixtures import create_customer, snapshot
from tests.verification.test_pin_state_machine import current_pin, set_preset


@pytest.fixture
def strict(organization, programs):
    set_preset(organization, "strict")
    return organization


def _calls(customer, reward_id: int) -> list[tuple[str, dict, int, str]]:
    code = customer.customer_code
    return [
        ("/webhook/redeem", {"customer_code": code, "value": 50, "card_type": "point"}, 422, "below_minimum"),
        (
            "/webhook/redeem",
            {"customer_code": code, "value": 900, "card_type": "point"},
            422,
            "insufficient_balance",
        ),
        (
            "/webhook/redeem",
            {"customer_code": 999991, "value": 100, "card_type": "point"},
            404,
            "customer_not_found",
        ),
        ("/webhook/pos", {"customer_code": code, "amount": 11, "card_type": "stamp"}, 422, "amount_invalid"),
        (
            "/webhook/pos",
            {"customer_code": code, "amount": "0.4", "card_type": "stamp"},
            422,
            "amount_invalid",
        ),
        ("/webhook/coupons/redeem", {"token": "cq_unknown"}, 404, "coupon_not_found"),
        (f"/webhook/rewards/{reward_id}/receptions", {"customer_code": code}, 422, "insufficient_balance"),
        (f"/webhook/customers/{code}/prepaid/transactions", {"amount": "-5"}, 422, "insufficient_balance"),
        ("/webhook/transactions/never-sent/reverse", {}, 404, "transaction_not_found"),
    ]


def test_refusals_that_need_no_pin_come_before_the_prompt(strict, pos):
    customer = create_customer(strict, points=120)
    with tenant_context(strict):
        reward = Reward.objects.create(name="Lunch", required_credits=500)
    before = snapshot(strict)

    answers = [
        (path, pos.post(path, {**body, "external_id": f"x-{index}"}))
        for index, (path, body, _, _) in enumerate(_calls(customer, reward.pk))
    ]

    expected = [(path, status, {"error": code}) for path, _, status, code in _calls(customer, reward.pk)]
    got = [(path, answer.status_code, {"error": answer.json()["error"]}) for path, answer in answers]
    assert got == expected
    assert snapshot(strict) == before  # no challenge was made, nothing changed


def test_a_completed_call_is_replayed_without_a_new_pin_prompt(strict, pos):
    customer = create_customer(strict, points=120)
    body = {
        "customer_code": customer.customer_code,
        "value": 100,
        "card_type": "point",
        "external_id": "once",
    }
    assert pos.post("/webhook/redeem", body).status_code == 412
    done = pos.post("/webhook/redeem", {**body, "verification_pin": current_pin(strict, customer)})
    before = snapshot(strict)

    replay = pos.post("/webhook/redeem", body)

    assert (done.status_code, replay.status_code, replay.content) == (200, 200, done.content)
    assert snapshot(strict) == before
