import uuid
from collections import Counter

import pytest
from django_tenants.utils import tenant_context

from loyalty_platform.rewards.models import Reward, RewardReception
from loyalty_platform.verification.services import open_pins_for_customer
from tests.pos_fixtures import PosClient, balances, create_customer, run_at_once, snapshot


def rewards(organization, *specs) -> list[Reward]:
    with tenant_context(organization):
        return [
            Reward.objects.create(name=name, required_credits=credits, allow_pre_redeem=pre)
            for name, credits, pre in specs
        ]


def receive(pos, reward, customer, external_id="rx-1", **fields):
    return pos.post(
        f"/webhook/rewards/{reward.pk}/receptions",
        {"customer_code": customer.customer_code, "external_id": external_id, **fields},
    )


def test_catalog_is_ordered_with_affordability(organization, programs, pos):
    rewards(organization, ("Cake", 500, False), ("Coffee", 100, False), ("Mug", 300, True))
    customer = create_customer(organization, points=320)

    data = pos.get(f"/webhook/customers/{customer.customer_code}/rewards").json()["data"]

    assert [(r["name"], r["required_credits"], r["affordable"], r["points_needed"]) for r in data] == [
        ("Coffee", 100, True, 0),
        ("Mug", 300, True, 0),
        ("Cake", 500, False, 180),
    ]
    assert data[1]["pre_redeem_allowed"] is True and data[0]["attributes"] == {}


def test_reception_spends_points_and_reversal_gives_them_back_once(organization, programs, pos):
    (coffee,) = rewards(organization, ("Coffee", 100, False))
    customer = create_customer(organization, points=250)

    received = receive(pos, coffee, customer).json()["data"]
    assert (received["status"], received["points"], received["point_balance"]) == ("spent", 100, 150)
    assert received["reward"]["name"] == "Coffee"

    reverse = pos.post(f"/webhook/reward-receptions/{received['id']}/reverse", {"external_id": "rv-1"})
    again = pos.post(f"/webhook/reward-receptions/{received['id']}/reverse", {"external_id": "rv-2"})

    assert (reverse.json()["data"]["status"], reverse.json()["data"]["point_balance"]) == ("reversed", 250)
    assert (again.status_code, again.json()) == (409, {"error": "reception_not_reversible"})
    assert balances(organization, customer)["point"] == (250, 250, 3)


def test_pre_redeem_collect_and_reverse_collection(organization, programs, pos):
    (mug,) = rewards(organization, ("Mug", 300, True))
    customer = create_customer(organization, points=300)
    reception = receive(pos, mug, customer, pre_redeem=True).json()["data"]
    assert reception["status"] == "collectable"
    base = f"/webhook/reward-receptions/{reception['id']}"

    assert pos.post(f"{base}/collect", {}).json()["data"]["status"] == "collected"
    assert pos.post(f"{base}/collect", {}).json() == {"error": "reception_not_collectable"}
    assert pos.post(f"{base}/reverse", {"external_id": "r"}).json() == {"error": "reception_not_reversible"}
    assert pos.post(f"{base}/reverse-collection", {}).json()["data"]["status"] == "collectable"
    assert pos.post(f"{base}/reverse-collection", {}).json() == {"error": "reception_not_collected"}
    wallet = pos.get(f"/webhook/customers/{customer.customer_code}/wallet").json()["data"]
    assert [r["id"] for r in wallet["collectable_rewards"]] == [reception["id"]]
    assert (wallet["points"], wallet["points_worth"], wallet["tier"]) == (0, "0.00", None)


@pytest.mark.parametrize(
    ("fields", "status", "code"),
    [
        ({}, 422, "insufficient_balance"),
        ({"pre_redeem": True}, 422, "pre_redeem_not_allowed"),
        ({"pre_redeem": "yes"}, 422, "pre_redeem_invalid"),
        ({"external_id": ""}, 422, "external_id_required"),
        ({"customer_code": 999995}, 404, "customer_not_found"),
        ({"bonus": 1}, 422, "unknown_field"),
    ],
)
def test_reception_refusals_change_nothing(organization, programs, pos, fields, status, code):
    (cake,) = rewards(organization, ("Cake", 500, False))
    customer = create_customer(organization, points=100)
    before = snapshot(organization)

    response = receive(pos, cake, customer, **fields)

    assert (response.status_code, response.json()["error"]) == (status, code)
    assert snapshot(organization) == before
    with tenant_context(organization):
        assert not RewardReception.objects.exists()


def test_unknown_inactive_and_foreign_rewards(organization, other_organization, programs, pos, pos_b):
    (coffee,) = rewards(organization, ("Coffee", 100, False))
    customer = create_customer(organization, points=500)
    with tenant_context(organization):
        hidden = Reward.objects.create(name="Old", required_credits=10, is_active=False)

    assert receive(pos, hidden, customer).json() == {"error": "reward_not_found"}
    unknown = pos.post(
        "/webhook/rewards/999999/receptions", {"customer_code": customer.customer_code, "external_id": "x"}
    )
    assert (unknown.status_code, unknown.json()) == (404, {"error": "reward_not_found"})
    assert receive(pos_b, coffee, customer).json() == {"error": "reward_not_found"}
    assert pos.post("/webhook/reward-receptions/not-a-uuid/reverse", {"external_id": "x"}).json() == {
        "error": "reception_not_found"
    }
    assert balances(organization, customer)["point"] == (500, 500, 1)


def test_spending_points_on_a_reward_asks_the_pin_under_balanced(organization, programs, pos):
    organization.verification_preset = "balanced"
    organization.save()
    (coffee,) = rewards(organization, ("Coffee", 100, False))
    customer = create_customer(organization, points=100)

    prompt = receive(pos, coffee, customer)
    assert (prompt.status_code, prompt.json()["error"]) == (412, "pin_required")
    with tenant_context(organization):
        pin = open_pins_for_customer(customer=customer)[0]["pin"]
    assert receive(pos, coffee, customer, verification_pin=pin).json()["data"]["point_balance"] == 0


def test_reception_is_idempotent(organization, programs, pos):
    (coffee,) = rewards(organization, ("Coffee", 100, False))
    customer = create_customer(organization, points=250)
    first, again = receive(pos, coffee, customer, "same"), receive(pos, coffee, customer, "same")
    assert again.content == first.content
    assert balances(organization, customer)["point"] == (150, 150, 2)


@pytest.mark.usefixtures("committed_db")
def test_two_receptions_racing_for_the_last_points_never_overdraw(busy):
    organization, key = busy
    with tenant_context(organization):
        reward = Reward.objects.create(name=f"Race {uuid.uuid4().hex[:6]}", required_credits=100)
    customer = create_customer(organization, email=f"{uuid.uuid4().hex}@example.com", points=150)

    def call(index):
        response = PosClient("test-concurrency.localhost", key).post(
            f"/webhook/rewards/{reward.pk}/receptions",
            {"customer_code": customer.customer_code, "external_id": f"race-{uuid.uuid4().hex}"},
        )
        return response.status_code, response.json().get("error")

    results = Counter(run_at_once(10, call))

    assert results == {(200, None): 1, (422, "insufficient_balance"): 9}
    assert balances(organization, customer)["point"] == (50, 50, 2)
