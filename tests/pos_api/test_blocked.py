"""Blocked customers and cards (contract: "Blocked customers and cards"): every POS call that
would change a blocked customer's or card's balance, or use their coupon, voucher, reward or
prepaid credit, answers 422 customer_blocked or card_blocked and changes nothing; look-ups
still answer, saying "status": "blocked"."""

import pytest
import yaml
from django_tenants.utils import tenant_context

from loyalty_platform.customers.models import Customer
from loyalty_platform.orders.models import Order, OrderReturn
from loyalty_platform.programs.models import Card
from loyalty_platform.rewards.models import Reward, RewardReception
from loyalty_platform.stored_value.models import MoneyEntry, PrepaidAccount
from loyalty_platform.verification.models import PinChallenge
from loyalty_platform.vouchers.models import Promotion, Voucher, VoucherRedemption
from loyalty_platform.vouchers.services import vouchers_generate
from tests.pos_fixtures import balances, create_customer, create_programs, snapshot
from tests.verification.test_pin_state_machine import set_preset

CUSTOMER_BLOCKED = (422, {"error": "customer_blocked"})
CARD_BLOCKED = (422, {"error": "card_blocked"})
BASKET = [{"sku": "LATTE", "name": "Latte", "category": "drinks", "quantity": 2, "unit_price": "3.50"}]


def block_customer(organization, customer) -> None:
    with tenant_context(organization):
        Customer.objects.filter(pk=customer.pk).update(status=Customer.Status.BLOCKED)


def block_card(organization, customer, kind: str) -> None:
    with tenant_context(organization):
        Card.objects.filter(customer=customer, program__kind=kind).update(status=Card.Status.BLOCKED)


def blocked_pair(organization, stamps: int = 0) -> tuple[Customer, Customer]:
    """Two customers with 500 points: the first blocked, the second's point card blocked."""
    customer = create_customer(organization, points=500, stamps=stamps)
    other = create_customer(organization, points=500, stamps=stamps)
    block_customer(organization, customer)
    block_card(organization, other, "point")
    return customer, other


def state(organization) -> dict:
    """snapshot() and the rows of vouchers, rewards, orders and prepaid credit."""
    with tenant_context(organization):
        return {
            **snapshot(organization),
            "vouchers": list(
                Voucher.objects.order_by("pk").values_list(
                    "pk", "status", "uses", "customer_id", "locked_until"
                )
            ),
            "voucher_uses": VoucherRedemption.objects.count(),
            "receptions": list(RewardReception.objects.order_by("pk").values_list("pk", "status")),
            "orders": list(Order.objects.order_by("pk").values_list("pk", "status", "points_returned")),
            "returns": OrderReturn.objects.count(),
            "prepaid": list(PrepaidAccount.objects.order_by("pk").values_list("pk", "balance")),
            "money_entries": MoneyEntry.objects.count(),
        }


def answer(response) -> tuple[int, dict]:
    return response.status_code, response.json()


def voucher_of(organization, customer=None) -> Voucher:
    with tenant_context(organization):
        promotion = Promotion.objects.create(title="10% off")
        return vouchers_generate(promotion=promotion, count=1, customer=customer)[0]


def reward(organization, **fields) -> Reward:
    with tenant_context(organization):
        return Reward.objects.create(name="Croissant", required_credits=100, allow_pre_redeem=True, **fields)


def earn(pos, customer, card_type="point", external_id="e-1"):
    body = {"customer_code": customer.customer_code, "amount": 1, "card_type": card_type}
    return pos.post("/webhook/pos", {**body, "external_id": external_id})


def redeem(pos, customer, card_type="point", value=100, external_id="r-1"):
    body = {"customer_code": customer.customer_code, "value": value, "card_type": card_type}
    return pos.post("/webhook/redeem", {**body, "external_id": external_id})


def order(pos, customer=None, external_id="o-1", **fields):
    body = {"external_id": external_id, "currency": "EUR", "total": "7.00", "lines": BASKET, **fields}
    if customer is not None:
        body["customer_code"] = customer.customer_code
    return pos.post("/webhook/orders", body)


def prepaid(pos, customer, amount: str, external_id: str):
    path = f"/webhook/customers/{customer.customer_code}/prepaid/transactions"
    return pos.post(path, {"amount": amount, "external_id": external_id})


# Earn and redeem ---------------------------------------------------------------------------


def test_earn_of_a_blocked_customer_is_refused(organization, programs, pos):
    customer = create_customer(organization, points=500, stamps=3)
    block_customer(organization, customer)
    before = state(organization)

    assert [answer(earn(pos, customer, kind)) for kind in ("point", "stamp")] == [CUSTOMER_BLOCKED] * 2
    assert state(organization) == before


def test_earn_on_a_blocked_card_is_refused_and_the_other_card_still_earns(organization, programs, pos):
    customer = create_customer(organization, points=500, stamps=3)
    block_card(organization, customer, "stamp")
    before = state(organization)

    assert answer(earn(pos, customer, "stamp")) == CARD_BLOCKED
    assert state(organization) == before
    assert answer(earn(pos, customer, "point", external_id="e-2")) == (
        200,
        {"data": {"stamps": 3, "points": 501}},
    )


def test_redeem_of_a_blocked_customer_or_card_is_refused(organization, programs, pos):
    customer, other = blocked_pair(organization, stamps=3)
    before = state(organization)

    assert answer(redeem(pos, customer)) == CUSTOMER_BLOCKED
    assert answer(redeem(pos, other)) == CARD_BLOCKED
    assert state(organization) == before
    assert answer(redeem(pos, other, "stamp", value=1)) == (200, {"data": {"stamps": 2, "points": 500}})


@pytest.mark.parametrize("preset", ["balanced", "strict"])
def test_a_blocked_customer_is_refused_before_any_pin_prompt(organization, programs, pos, preset):
    customer = create_customer(organization, points=500, stamps=9)
    filled = earn(pos, customer, "stamp").json()["data"]["coupon"]  # before the block: a coupon
    with tenant_context(organization):
        prize = Reward.objects.create(name="Croissant", required_credits=100)
    assert prepaid(pos, customer, "20.00", "top-up").status_code == 200
    set_preset(organization, preset)
    block_customer(organization, customer)
    before = state(organization)
    code = customer.customer_code

    answers = [
        answer(redeem(pos, customer)),
        answer(earn(pos, customer, external_id="e-2")),
        answer(pos.post("/webhook/coupons/redeem", {"token": filled["qr_token"], "external_id": "c-1"})),
        answer(
            pos.post(f"/webhook/rewards/{prize.pk}/receptions", {"customer_code": code, "external_id": "w-1"})
        ),
        answer(prepaid(pos, customer, "-5.00", "pay")),
        answer(order(pos, customer)),
    ]

    assert answers == [CUSTOMER_BLOCKED] * 6
    assert state(organization) == before
    with tenant_context(organization):
        assert PinChallenge.objects.count() == 0


def test_a_blocked_card_is_refused_before_any_pin_prompt(organization, programs, pos):
    customer = create_customer(organization, points=500)
    set_preset(organization, "strict")
    block_card(organization, customer, "point")
    before = state(organization)

    assert [answer(redeem(pos, customer)), answer(earn(pos, customer))] == [CARD_BLOCKED] * 2
    assert state(organization) == before


# Coupons, rewards, vouchers ------------------------------------------------------------------


def test_coupon_of_a_blocked_customer_is_not_redeemed(organization, programs, pos):
    customer = create_customer(organization, stamps=9)
    coupon = earn(pos, customer, "stamp").json()["data"]["coupon"]
    block_customer(organization, customer)
    before = state(organization)

    refused = pos.post("/webhook/coupons/redeem", {"token": coupon["qr_token"], "external_id": "c-1"})

    assert answer(refused) == CUSTOMER_BLOCKED
    assert state(organization) == before


def test_reward_reception_of_a_blocked_customer_or_point_card_is_refused(organization, programs, pos):
    customer, other = blocked_pair(organization)
    prize = reward(organization)
    before = state(organization)

    answers = [
        answer(
            pos.post(
                f"/webhook/rewards/{prize.pk}/receptions",
                {"customer_code": who.customer_code, "external_id": f"w-{n}"},
            )
        )
        for n, who in enumerate((customer, other))
    ]

    assert answers == [CUSTOMER_BLOCKED, CARD_BLOCKED]
    assert state(organization) == before


def _reception(pos, prize, customer, external_id: str, *, pre_redeem: bool) -> str:
    body = {"customer_code": customer.customer_code, "external_id": external_id, "pre_redeem": pre_redeem}
    return pos.post(f"/webhook/rewards/{prize.pk}/receptions", body).json()["data"]["id"]


def test_reception_steps_of_a_blocked_customer_are_refused(organization, programs, pos):
    customer = create_customer(organization, points=500)
    prize = reward(organization)
    collectable = _reception(pos, prize, customer, "w-1", pre_redeem=True)
    collected = _reception(pos, prize, customer, "w-2", pre_redeem=True)
    assert pos.post(f"/webhook/reward-receptions/{collected}/collect", {}).status_code == 200
    block_customer(organization, customer)
    before = state(organization)

    answers = [
        answer(pos.post(f"/webhook/reward-receptions/{collectable}/collect", {})),
        answer(pos.post(f"/webhook/reward-receptions/{collected}/reverse-collection", {})),
        answer(pos.post(f"/webhook/reward-receptions/{collectable}/reverse", {"external_id": "v-1"})),
    ]

    assert answers == [CUSTOMER_BLOCKED] * 3
    assert state(organization) == before


def test_reception_reverse_onto_a_blocked_point_card_is_refused(organization, programs, pos):
    customer = create_customer(organization, points=500)
    reception = _reception(pos, reward(organization), customer, "w-1", pre_redeem=False)
    block_card(organization, customer, "point")
    before = state(organization)

    refused = pos.post(f"/webhook/reward-receptions/{reception}/reverse", {"external_id": "v-1"})

    assert answer(refused) == CARD_BLOCKED
    assert state(organization) == before


def test_a_blocked_owners_voucher_is_neither_locked_nor_redeemed(organization, programs, pos):
    customer = create_customer(organization)
    owned = voucher_of(organization, customer)
    block_customer(organization, customer)
    before = state(organization)

    answers = [
        answer(pos.post(f"/webhook/vouchers/{owned.code}/lock", {"external_id": "l-1"})),
        answer(pos.post(f"/webhook/vouchers/{owned.code}/redeem", {"external_id": "r-1"})),
        answer(pos.post("/webhook/vouchers/validate", {"code": owned.code, "external_id": "v-1"})),
    ]

    assert answers == [CUSTOMER_BLOCKED] * 3
    assert state(organization) == before


def test_a_pool_voucher_is_refused_to_a_blocked_customer_and_usable_without_one(organization, programs, pos):
    customer = create_customer(organization)
    pool = voucher_of(organization)
    block_customer(organization, customer)
    before = state(organization)

    refused = pos.post(
        f"/webhook/vouchers/{pool.code}/redeem",
        {"external_id": "r-1", "customer_code": customer.customer_code},
    )

    assert answer(refused) == CUSTOMER_BLOCKED
    assert state(organization) == before
    used = pos.post(f"/webhook/vouchers/{pool.code}/redeem", {"external_id": "r-2"})
    assert (used.status_code, used.json()["data"]["redeemable"]) == (200, False)


# Orders, returns, prepaid ---------------------------------------------------------------------


def test_an_order_naming_a_blocked_customer_or_point_card_is_refused(organization, programs, pos):
    customer, other = blocked_pair(organization)
    before = state(organization)

    answers = [
        answer(order(pos, customer, "o-1")),
        answer(order(pos, other, "o-2")),
        answer(order(pos, other, "o-3", paid_with_points=100)),
    ]

    assert answers == [CUSTOMER_BLOCKED, CARD_BLOCKED, CARD_BLOCKED]
    assert state(organization) == before
    assert order(pos, None, "o-4").status_code == 200  # an order naming nobody is no one's


def test_a_return_of_a_blocked_customers_order_is_refused(organization, programs, pos):
    customer = create_customer(organization)
    other = create_customer(organization)
    assert order(pos, customer, "o-1").status_code == order(pos, other, "o-2").status_code == 200
    block_customer(organization, customer)
    block_card(organization, other, "point")
    before = state(organization)

    answers = [
        answer(pos.post("/webhook/orders/o-1/returns", {"external_id": "x-1"})),
        answer(pos.post("/webhook/orders/o-2/returns", {"external_id": "x-2"})),
    ]

    assert answers == [CUSTOMER_BLOCKED, CARD_BLOCKED]
    assert state(organization) == before


def test_prepaid_credit_of_a_blocked_customer_is_neither_loaded_paid_nor_reversed(
    organization, programs, pos
):
    customer = create_customer(organization)
    load = prepaid(pos, customer, "20.00", "load").json()["data"]
    block_customer(organization, customer)
    before = state(organization)

    answers = [
        answer(prepaid(pos, customer, "5.00", "more")),
        answer(prepaid(pos, customer, "-5.00", "pay")),
        answer(
            pos.post(
                f"/webhook/prepaid-transactions/{load['transaction_id']}/reverse", {"external_id": "undo"}
            )
        ),
    ]

    assert answers == [CUSTOMER_BLOCKED] * 3
    assert state(organization) == before


# Look-ups and organizations --------------------------------------------------------------------


def test_look_ups_answer_for_a_blocked_customer_and_say_so(organization, programs, pos):
    customer = create_customer(organization, points=120, stamps=4)
    block_customer(organization, customer)
    code = customer.customer_code

    found = pos.get("/webhook/customer", {"code": code})
    wallet = pos.get(f"/webhook/customers/{code}/wallet")

    assert answer(found) == (
        200,
        {
            "data": {
                "customer_code": code,
                "masked_email": "c***@example.com",
                "stamp_count": 4,
                "point_balance": 120,
                "status": "blocked",
            }
        },
    )
    assert (wallet.status_code, wallet.json()["data"]["status"], wallet.json()["data"]["points"]) == (
        200,
        "blocked",
        120,
    )


def test_a_block_in_one_organization_does_not_touch_another(
    organization, other_organization, programs, pos, pos_b
):
    create_programs(other_organization)
    customer = create_customer(organization, points=500)
    with tenant_context(other_organization):
        twin = Customer.objects.create(
            pk=customer.pk,
            customer_code=customer.customer_code,
            email=customer.email,
            status=Customer.Status.BLOCKED,
            consent_terms_at="2026-01-01T00:00:00Z",
            consent_privacy_at="2026-01-01T00:00:00Z",
        )

    assert answer(earn(pos, customer)) == (200, {"data": {"stamps": 0, "points": 501}})
    assert answer(redeem(pos, customer)) == (200, {"data": {"stamps": 0, "points": 401}})
    assert pos.get("/webhook/customer", {"code": customer.customer_code}).json()["data"]["status"] == "active"
    assert answer(earn(pos_b, twin)) == CUSTOMER_BLOCKED
    assert balances(organization, customer)["point"] == (401, 401, 3)


# Documentation -------------------------------------------------------------------------------

REFUSING = {
    ("/webhook/pos", "customer_blocked card_blocked"),
    ("/webhook/redeem", "customer_blocked card_blocked"),
    ("/webhook/coupons/redeem", "customer_blocked"),
    ("/webhook/rewards/{reward_id}/receptions", "customer_blocked card_blocked"),
    ("/webhook/reward-receptions/{reception_id}/collect", "customer_blocked"),
    ("/webhook/reward-receptions/{reception_id}/reverse-collection", "customer_blocked"),
    ("/webhook/reward-receptions/{reception_id}/reverse", "customer_blocked card_blocked"),
    ("/webhook/vouchers/{code}/lock", "customer_blocked"),
    ("/webhook/vouchers/{code}/redeem", "customer_blocked"),
    ("/webhook/vouchers/validate", "customer_blocked"),
    ("/webhook/orders", "customer_blocked card_blocked"),
    ("/webhook/orders/{order_external_id}/returns", "customer_blocked card_blocked"),
    ("/webhook/customers/{customer_code}/prepaid/transactions", "customer_blocked"),
    ("/webhook/prepaid-transactions/{transaction_id}/reverse", "customer_blocked"),
    ("/webhook/transactions/{original_external_id}/reverse", "customer_blocked card_blocked"),
}


def test_every_refusing_operation_documents_its_blocked_codes(platform_client):
    schema = yaml.safe_load(platform_client.get("/api/schema/").content)

    documented = {
        (path, " ".join(code for code in ("customer_blocked", "card_blocked") if f"`{code}`" in text))
        for path, item in schema["paths"].items()
        if (text := item.get("post", {}).get("responses", {}).get("422", {}).get("description", ""))
        and "_blocked`" in text.replace("giftcard_blocked`", "")
    }
    customer = schema["components"]["schemas"]["CustomerData"]["properties"]["status"]

    assert documented == REFUSING
    assert "blocked" in customer["description"]
