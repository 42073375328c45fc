"""Points expiring within 30 days at the till: always in the wallet (ours), in the customer
look-up only when there are some (the contract pins the body without them; decision 47)."""

from datetime import timedelta

import time_machine
import yaml
from django_tenants.utils import tenant_context

from loyalty_platform.customers.selectors import masked_email
from loyalty_platform.programs.models import Program
from tests.pos_fixtures import create_programs
from tests.programs.test_expiring_selectors import NOW, expiry_rule, lot, member

SOON = NOW + timedelta(days=12, hours=3)


def test_the_look_up_carries_points_expiring_only_when_some_do(organization, programs, pos):
    with tenant_context(organization):
        expiry_rule(programs["point"])
        expiring, calm = member(), member()
        lot(expiring, 40, SOON)
        lot(expiring, 25, NOW + timedelta(days=29))
        lot(expiring, 100, NOW + timedelta(days=200))
        lot(calm, 70, NOW + timedelta(days=31))
        lot(calm, 5, None)

    with time_machine.travel(NOW, tick=False):
        found = pos.get("/webhook/customer", {"code": expiring.customer.customer_code})
        plain = pos.get("/webhook/customer", {"code": calm.customer.customer_code})

    assert (found.status_code, found.json()) == (
        200,
        {
            "data": {
                "customer_code": expiring.customer.customer_code,
                "masked_email": masked_email(expiring.customer.email),
                "stamp_count": 0,
                "point_balance": 165,
                "status": "active",
                "points_expiring": {"points": 65, "expires_at": "2026-06-22T15:00:00+00:00"},
            }
        },
    )
    assert (plain.status_code, plain.json()) == (
        200,
        {
            "data": {
                "customer_code": calm.customer.customer_code,
                "masked_email": masked_email(calm.customer.email),
                "stamp_count": 0,
                "point_balance": 75,
                "status": "active",
            }
        },
    )
    assert b"points_expiring" not in plain.content


def test_the_wallet_always_says_what_expires_soon(organization, programs, pos):
    with tenant_context(organization):
        expiry_rule(programs["point"])
        expiring, calm = member(), member()
        lot(expiring, 40, SOON)
        lot(expiring, 160, None)
        lot(calm, 30, NOW + timedelta(days=45))

    with time_machine.travel(NOW, tick=False):
        wallet = pos.get(f"/webhook/customers/{expiring.customer.customer_code}/wallet")
        calm_wallet = pos.get(f"/webhook/customers/{calm.customer.customer_code}/wallet").json()["data"]

    assert (wallet.status_code, wallet.json()) == (
        200,
        {
            "data": {
                "customer_code": expiring.customer.customer_code,
                "status": "active",
                "points": 200,
                "points_worth": "2.00",
                "currency": "EUR",
                "points_expiring": {"points": 40, "expires_at": "2026-06-22T15:00:00+00:00"},
                "stamps": 0,
                "tier": None,
                "coupons": [],
                "vouchers": [],
                "collectable_rewards": [],
                "affordable_rewards": [],
                "campaigns": [],
            }
        },
    )
    assert (calm_wallet["points"], calm_wallet["points_expiring"]) == (30, {"points": 0, "expires_at": None})


def test_a_program_that_never_expires_points_shows_nothing_expiring(organization, programs, pos):
    with tenant_context(organization):
        card = member()
        lot(card, 80, None)

    found = pos.get("/webhook/customer", {"code": card.customer.customer_code}).json()["data"]
    wallet = pos.get(f"/webhook/customers/{card.customer.customer_code}/wallet").json()["data"]

    assert "points_expiring" not in found
    assert wallet["points_expiring"] == {"points": 0, "expires_at": None}


def test_another_organizations_lots_never_show(organization, other_organization, programs, pos, pos_b):
    """Primary keys repeat across schemas: a customer of B with the same key as one of A."""
    create_programs(other_organization)
    with tenant_context(other_organization):
        expiry_rule(Program.objects.get(kind="point"))
        twin = member(pk=987611, code=611611)
        lot(twin, 90, SOON)
    with tenant_context(organization):
        expiry_rule(programs["point"])
        mine = member(pk=987611, code=611612)
        lot(mine, 10, None)

    with time_machine.travel(NOW, tick=False):
        found = pos.get("/webhook/customer", {"code": mine.customer.customer_code}).json()["data"]
        wallet = pos.get(f"/webhook/customers/{mine.customer.customer_code}/wallet").json()["data"]
        theirs = pos_b.get("/webhook/customer", {"code": twin.customer.customer_code}).json()["data"]
        across = pos_b.get(f"/webhook/customers/{mine.customer.customer_code}/wallet")

    assert ("points_expiring" in found, wallet["points_expiring"]) == (
        False,
        {"points": 0, "expires_at": None},
    )
    assert theirs["points_expiring"] == {"points": 90, "expires_at": "2026-06-22T15:00:00+00:00"}
    assert (across.status_code, across.json()) == (404, {"error": "customer_not_found"})


def test_the_schema_documents_the_key_required_in_the_wallet_and_optional_in_the_look_up(platform_client):
    schema = yaml.safe_load(platform_client.get("/api/schema/").content)
    components = schema["components"]["schemas"]

    expiring = components["ExpiringPointsData"]
    assert set(expiring["properties"]) == {"points", "expires_at"}
    assert "points_expiring" in components["WalletData"]["required"]
    assert "points_expiring" in components["CustomerData"]["properties"]
    assert "points_expiring" not in components["CustomerData"]["required"]
