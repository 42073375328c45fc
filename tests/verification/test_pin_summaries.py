"""The PIN box says what the cashier asks for: each gated call's summary, as the customer's
profile receives it (the pin_issued event and /me/api/pins)."""

import pytest
from django.utils import translation
from django.utils.translation import gettext, ngettext
from django_tenants.utils import tenant_context

from loyalty_platform.coupons.services import coupon_issue
from loyalty_platform.customers.models import Customer
from loyalty_platform.programs.models import Card
from loyalty_platform.rewards.models import Reward
from loyalty_platform.verification.services import open_pins_for_customer
from tests.pos_fixtures import create_customer

LINES = [{"sku": "LATTE", "name": "Latte", "category": "coffee", "quantity": "1", "unit_price": "12.50"}]


@pytest.fixture
def strict(organization):
    organization.verification_preset = "strict"
    organization.save()
    return organization


def asked(organization, customer) -> list[tuple[str, str]]:
    with tenant_context(organization):
        return [(pin["action"], pin["summary"]) for pin in open_pins_for_customer(customer=customer)]


def prompted(response) -> None:
    assert (response.status_code, response.json()["error"]) == (412, "pin_required")


def test_earns_and_redeems_say_how_much(strict, programs, pos):
    customer = create_customer(strict, points=300, stamps=5)
    code = customer.customer_code
    cases = [
        ("/webhook/pos", {"amount": "12.5", "card_type": "point"}, ("earn", "Collect points for 12.50 EUR")),
        ("/webhook/pos", {"amount": 2, "card_type": "stamp"}, ("earn", "Collect 2 stamps")),
        ("/webhook/redeem", {"value": 150, "card_type": "point"}, ("redeem", "Redeem 150 points")),
        ("/webhook/redeem", {"value": 1, "card_type": "stamp"}, ("redeem", "Redeem 1 stamp")),
    ]
    for index, (path, body, expected) in enumerate(cases):
        prompted(pos.post(path, {"customer_code": code, "external_id": f"s-{index}", **body}))
        # One open challenge per action: the newest replaces the one before.
        assert expected in asked(strict, customer), (path, body)


def test_a_coupon_a_reward_and_prepaid_credit_are_named(strict, programs, pos):
    customer = create_customer(strict, points=300)
    with tenant_context(strict):
        coupon = coupon_issue(customer=customer, program=programs["stamp"])
        reward = Reward.objects.create(name="Croissant", required_credits=80)

    prompted(pos.post("/webhook/coupons/redeem", {"token": coupon.qr_token}))
    assert asked(strict, customer) == [("coupon_redeem", f"Use your coupon: {coupon.name}")]

    prompted(
        pos.post(
            f"/webhook/rewards/{reward.pk}/receptions",
            {"customer_code": customer.customer_code, "external_id": "rw-1"},
        )
    )
    assert ("redeem", "Redeem 80 points for Croissant") in asked(strict, customer)

    path = f"/webhook/customers/{customer.customer_code}/prepaid/transactions"
    assert pos.post(path, {"amount": 20, "external_id": "top-up"}).status_code == 200
    prompted(pos.post(path, {"amount": "-4.5", "external_id": "pay"}))
    assert ("prepaid_pay", "Pay 4.50 EUR with your credit") in asked(strict, customer)


def test_an_order_says_its_id_and_what_points_pay(strict, programs, pos):
    customer = create_customer(strict, points=300)
    body = {"customer_code": customer.customer_code, "currency": "EUR", "total": "12.50", "lines": LINES}

    prompted(pos.post("/webhook/orders", {**body, "external_id": "1043"}))
    assert asked(strict, customer) == [("earn", "Collect points for order 1043")]

    prompted(pos.post("/webhook/orders", {**body, "external_id": "1044", "paid_with_points": 150}))
    assert ("redeem", "Pay 150 points towards order 1044") in asked(strict, customer)


def test_a_reversal_has_its_actions_prompt(organization, programs, pos):
    customer = create_customer(organization)
    earn = {
        "customer_code": customer.customer_code,
        "amount": 2,
        "card_type": "stamp",
        "external_id": "sale-1",
    }
    assert pos.post("/webhook/pos", earn).status_code == 200
    organization.verification_preset = "strict"
    organization.save()

    prompted(pos.post("/webhook/transactions/sale-1/reverse", {"external_id": "undo-1"}))
    assert asked(organization, customer) == [("reverse", "Undo a purchase's points or stamps")]


def test_a_pin_given_for_one_amount_does_not_pass_another(organization, programs, pos):
    organization.verification_preset = "balanced"
    organization.save()
    customer = create_customer(organization, points=1000)
    body = {"customer_code": customer.customer_code, "card_type": "point", "external_id": "r-1"}
    prompt = pos.post("/webhook/redeem", {**body, "value": 100}).json()
    with tenant_context(organization):
        [shown] = open_pins_for_customer(customer=customer)
    assert shown["summary"] == "Redeem 100 points"

    changed = pos.post(
        "/webhook/redeem",
        {**body, "value": 900, "verification_pin": shown["pin"], "challenge_id": prompt["challenge_id"]},
    )

    # Not the call the customer was told of: a new challenge, nothing redeemed.
    assert (changed.status_code, changed.json()["error"]) == (412, "pin_required")
    assert changed.json()["challenge_id"] != prompt["challenge_id"]
    assert asked(organization, customer) == [("redeem", "Redeem 900 points")]
    with tenant_context(organization):
        assert Card.objects.get(customer=customer, program__kind="point").balance == 1000
    pin = open_pin(organization, customer)
    done = pos.post(
        "/webhook/redeem",
        {**body, "value": 900, "verification_pin": pin, "challenge_id": changed.json()["challenge_id"]},
    )
    assert done.status_code == 200


def test_the_customer_reads_the_summary_in_their_language(strict, programs, pos):
    customer = create_customer(strict, points=300)
    with tenant_context(strict):
        Customer.objects.filter(pk=customer.pk).update(language="nl")
    body = {
        "customer_code": customer.customer_code,
        "value": 150,
        "card_type": "point",
        "external_id": "nl-1",
    }

    prompted(pos.post("/webhook/redeem", body))

    with translation.override("nl"):
        expected = gettext("Redeem %(value)s") % {
            "value": ngettext("%(count)s point", "%(count)s points", 150) % {"count": 150}
        }
    assert expected != "Redeem 150 points"
    assert asked(strict, customer) == [("redeem", expected)]


def open_pin(organization, customer) -> str:
    with tenant_context(organization):
        return open_pins_for_customer(customer=customer)[0]["pin"]
