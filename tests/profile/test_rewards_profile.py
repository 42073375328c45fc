"""Rewards in the customer's profile: the catalogue as their balance sees it, taking a reward
with their points (no PIN, once per form), what waits at the till, and the refusals, each of
which changes nothing."""

import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import IntegrityError, connections, transaction
from django.test import Client
from django.utils import timezone
from django_tenants.utils import tenant_context

from loyalty_platform.audit.models import AuditLogEntry
from loyalty_platform.campaigns.models import Campaign, CampaignAction
from loyalty_platform.coupons.models import Coupon
from loyalty_platform.customers.models import Customer
from loyalty_platform.programs.models import Card, LedgerEntry, Program
from loyalty_platform.rewards.models import Reward, RewardReception
from loyalty_platform.rewards.services import reward_reception_collect, reward_take
from loyalty_platform.vouchers.models import Promotion, Voucher
from loyalty_platform.webhooks.models import WebhookEvent
from tests.identification.test_qr_sessions import signed_in
from tests.pos_fixtures import (
    balances,
    committed_organization,
    create_customer,
    refused,
    run_at_once,
    snapshot,
)
from tests.webhooks.event_helpers import recorded, subscribe


@pytest.fixture
def rewards(organization, programs) -> dict[str, Reward]:
    with tenant_context(organization):
        return {
            "croissant": Reward.objects.create(
                name="Croissant",
                description="Any croissant from the counter",
                required_credits=80,
                allow_pre_redeem=True,
                image="rewards/croissant.png",
            ),
            "mug": Reward.objects.create(name="Mug", required_credits=200, allow_pre_redeem=True),
            "cake": Reward.objects.create(name="Cake", required_credits=100),  # only at the till
            "old": Reward.objects.create(name="Old", required_credits=10, is_active=False),
        }


def state(organization) -> dict:
    """What taking a reward may change, to assert that a refusal changed nothing."""
    with tenant_context(organization):
        return {
            **snapshot(organization),
            "receptions": list(RewardReception.objects.order_by("pk").values_list("pk", "status")),
            "audit": AuditLogEntry.objects.count(),
            "events": WebhookEvent.objects.count(),
        }


def take(client, reward: Reward | int | str, key: str | None = None):
    reward_id = reward.pk if isinstance(reward, Reward) else reward
    return client.post("/me/rewards/take", {"reward": reward_id, "key": key or str(uuid.uuid4())})


def form_key(page: str, reward: Reward) -> str:
    form = re.search(
        rf'name="reward" value="{reward.pk}">\s*<input type="hidden" name="key" value="([^"]+)"', page
    )
    return form.group(1)


def test_the_catalogue_says_what_each_reward_costs_and_how_many_points_are_missing(organization, rewards):
    customer = create_customer(organization, points=120)

    page = signed_in(organization, customer).get("/me/").content.decode()

    catalogue = page[page.index('id="rewards-title"') :]
    items = re.findall(r'<li class="reward( affordable)?" data-reward="(\d+)">', catalogue)
    assert items == [
        (" affordable", str(rewards["croissant"].pk)),
        (" affordable", str(rewards["cake"].pk)),
        ("", str(rewards["mug"].pk)),
    ]
    assert "You have 120 points to spend." in catalogue
    assert "Any croissant from the counter" in catalogue and "Costs 80 points" in catalogue
    assert catalogue.count('<img class="reward-image" src="/media/rewards/croissant.png" alt=""') == 1
    assert 'max="200" value="120"' in catalogue and 'max="80" value="80"' in catalogue
    assert "80 more points needed" in catalogue  # the mug
    assert catalogue.count("You have enough points.") == 2
    # A form for the croissant; the cake is handed out at the till only; nothing for the mug.
    assert re.findall(r'name="reward" value="(\d+)"', catalogue) == [str(rewards["croissant"].pk)]
    assert "Take Croissant for 80 points" in catalogue
    assert "Ask for it at the till" in catalogue
    assert "Old" not in catalogue


def test_taking_a_reward_spends_the_points_once_and_it_waits_at_the_till(organization, rewards):
    subscribe(organization)
    customer = create_customer(organization, points=120)
    croissant = rewards["croissant"]
    with tenant_context(organization):
        Program.objects.filter(kind="point").update(reward_collect_days=14)
    with time_machine.travel(datetime(2026, 12, 17, 10, 0, tzinfo=UTC), tick=False):
        client = signed_in(organization, customer)
        key = form_key(client.get("/me/").content.decode(), croissant)
        response = take(client, croissant, key)

    assert (response.status_code, response["Location"]) == (302, "/me/#to-collect-title")
    assert balances(organization, customer)["point"] == (40, 40, 2)
    with tenant_context(organization):
        reception = RewardReception.objects.get()
        entry = LedgerEntry.objects.filter(card__customer=customer).latest("pk")
        audit = AuditLogEntry.objects.get(action="rewards.take")
    assert (reception.customer_id, reception.reward_id, reception.points, reception.status) == (
        customer.pk,
        croissant.pk,
        80,
        "collectable",
    )
    assert (reception.external_id, reception.ledger_entry_id) == (f"profile-{key}", entry.pk)
    assert (entry.delta, entry.balance_after, entry.cause, entry.external_id) == (
        -80,
        40,
        "redeem",
        f"profile-{key}",
    )
    assert (audit.actor_id, audit.target_type, audit.target_id, audit.details) == (
        None,
        "rewards.RewardReception",
        str(reception.pk),
        {
            "by": "customer",
            "reward": {"id": croissant.pk, "name": "Croissant"},
            "points": 80,
            "balance": 40,
            "external_id": f"profile-{key}",
        },
    )
    assert recorded(organization) == [
        (
            "reward.received",
            customer.pk,
            {
                "customer": {"customer_code": customer.customer_code},
                "source": "profile",
                "id": str(reception.pk),
                "reward": {"id": croissant.pk, "name": "Croissant"},
                "points": 80,
                "status": "collectable",
                "balance": 40,
                "ledger_entry_id": entry.pk,
                "external_id": f"profile-{key}",
            },
        )
    ]

    with time_machine.travel(datetime(2026, 12, 17, 10, 5, tzinfo=UTC), tick=False):
        page = client.get("/me/").content.decode()
    waiting = page[page.index('id="to-collect-title"') : page.index('id="rewards-title"')]
    assert "Croissant is yours: show it at the till to collect it." in page
    assert f'data-reception="{reception.pk}"' in waiting
    assert f"/qr.svg?data={reception.pk}&amp;size=160" in waiting
    assert f'<strong class="code reception-code">{reception.pk}</strong>' in waiting
    assert "Valid until 31 December 2026" in waiting
    assert "You have 40 points to spend." in page


def test_the_same_form_sent_again_takes_nothing_more(organization, rewards):
    customer = create_customer(organization, points=300)
    client = signed_in(organization, customer)
    key = str(uuid.uuid4())
    assert take(client, rewards["croissant"], key).status_code == 302
    after_first = state(organization)

    again = take(client, rewards["croissant"], key)
    # A retry naming another reward with the same key is still the first submit's answer.
    other = take(client, rewards["mug"], key)

    assert (again.status_code, other.status_code) == (302, 302)
    assert state(organization) == after_first
    assert balances(organization, customer)["point"] == (220, 220, 2)
    page = client.get("/me/").content.decode()
    assert "You took Croissant already: it is waiting for you at the till." in page
    # Once collected, the same form still takes nothing.
    with tenant_context(organization):
        reward_reception_collect(reception_id=RewardReception.objects.get().pk)
    assert take(client, rewards["croissant"], key).status_code == 302
    assert "You took Croissant already." in client.get("/me/").content.decode()
    assert balances(organization, customer)["point"] == (220, 220, 2)
    # A new form (a new key) takes another one.
    assert take(client, rewards["croissant"]).status_code == 302
    assert balances(organization, customer)["point"] == (140, 140, 3)


@pytest.mark.parametrize(
    ("points", "reward_name", "change", "status", "code", "text"),
    [
        (79, "croissant", {}, 422, "insufficient_balance", "You do not have enough points"),
        (500, "old", {}, 404, "reward_not_found", "not in the catalogue any more"),
        (500, "cake", {}, 422, "pre_redeem_not_allowed", "ask for it at the till"),
        (500, "croissant", {"card": "blocked"}, 422, "card_blocked", "Your card is blocked"),
        (500, "croissant", {"reward_active": False}, 404, "reward_not_found", "not in the catalogue"),
        (500, "croissant", {"program_active": False}, 404, "program_not_found", "no points program"),
    ],
)
def test_a_refused_reward_says_why_and_changes_nothing(
    organization, rewards, points, reward_name, change, status, code, text
):
    subscribe(organization)
    customer = create_customer(organization, points=points)
    client = signed_in(organization, customer)
    with tenant_context(organization):
        if change.get("card"):
            Card.objects.filter(customer=customer).update(status=change["card"])
        if "reward_active" in change:
            Reward.objects.filter(pk=rewards[reward_name].pk).update(is_active=False)
        if "program_active" in change:
            Program.objects.filter(kind="point").update(is_active=False)
    before = state(organization)

    response = take(client, rewards[reward_name])

    body = response.content.decode()
    assert (response.status_code, f'data-error="{code}"' in body, text in body) == (status, True, True)
    assert state(organization) == before


def test_one_reception_per_customer_and_form_key(organization, rewards):
    customer = create_customer(organization, points=500)
    other = create_customer(organization, points=500)
    with tenant_context(organization):
        first = {"reward": rewards["croissant"], "points": 80, "status": "collectable"}
        RewardReception.objects.create(customer=customer, external_id="profile-k", **first)
        RewardReception.objects.create(customer=other, external_id="profile-k", **first)
        RewardReception.objects.create(customer=customer, external_id="till-1", **first)
        RewardReception.objects.create(customer=customer, external_id="till-1", **first)
        with pytest.raises(IntegrityError), transaction.atomic():
            RewardReception.objects.create(customer=customer, external_id="profile-k", **first)


def test_a_blocked_customer_takes_nothing(organization, rewards):
    customer = create_customer(organization, points=500)
    client = signed_in(organization, customer)
    with tenant_context(organization):
        Customer.objects.filter(pk=customer.pk).update(status="blocked")
        customer.refresh_from_db()
    before = state(organization)

    response = take(client, rewards["croissant"])

    # A blocked customer's session no longer opens the profile at all.
    assert (response.status_code, response["Location"]) == (302, "/me/login?next=%2Fme%2Frewards%2Ftake")
    with tenant_context(organization), refused("customer_blocked"):
        reward_take(customer=customer, reward_id=rewards["croissant"].pk, form_key=uuid.uuid4())
    assert state(organization) == before


@pytest.mark.parametrize(
    ("form", "code"),
    [
        ({"reward": "abc", "key": str(uuid.uuid4())}, "reward_invalid"),
        ({"reward": "9" * 19, "key": str(uuid.uuid4())}, "reward_invalid"),
        ({"reward": "١٢", "key": str(uuid.uuid4())}, "reward_invalid"),
        ({"key": str(uuid.uuid4())}, "reward_invalid"),
        ({"reward": "1", "key": "not-a-key"}, "key_invalid"),
        ({"reward": "1"}, "key_invalid"),
    ],
)
def test_a_malformed_form_is_refused_and_changes_nothing(organization, rewards, form, code):
    customer = create_customer(organization, points=500)
    client = signed_in(organization, customer)
    before = state(organization)

    response = client.post("/me/rewards/take", form)

    assert (response.status_code, f'data-error="{code}"' in response.content.decode()) == (422, True)
    assert state(organization) == before


def test_taking_needs_a_session_a_post_and_the_csrf_token(organization, rewards):
    customer = create_customer(organization, points=500)
    before = state(organization)

    anonymous = Client(HTTP_HOST="test-a.localhost").post(
        "/me/rewards/take", {"reward": 1, "key": uuid.uuid4()}
    )
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/me/login")
    assert signed_in(organization, customer).get("/me/rewards/take").status_code == 405
    strict = signed_in(organization, customer)
    strict.handler.enforce_csrf_checks = True
    assert take(strict, rewards["croissant"]).status_code == 403
    assert state(organization) == before


def test_another_organizations_reward_and_session_take_nothing(organization, other_organization, rewards):
    with tenant_context(other_organization):
        Program.objects.create(kind="point", name="B points", redeem_points_per_unit=100)
        theirs = Reward.objects.create(name="B treat", required_credits=5, allow_pre_redeem=True)
        while theirs.pk in {reward.pk for reward in rewards.values()}:
            theirs = Reward.objects.create(name="B treat", required_credits=5, allow_pre_redeem=True)
    customer = create_customer(organization, points=500)
    client = signed_in(organization, customer)
    before_a, before_b = state(organization), state(other_organization)

    response = take(client, theirs.pk)
    # A's session cookie on B's host names no session there.
    client_on_b = signed_in(organization, customer)
    client_on_b.defaults["HTTP_HOST"] = "test-b.localhost"
    on_b = take(client_on_b, theirs.pk)

    assert (response.status_code, 'data-error="reward_not_found"' in response.content.decode()) == (404, True)
    assert (on_b.status_code, on_b["Location"].startswith("/me/login")) == (302, True)
    assert (state(organization), state(other_organization)) == (before_a, before_b)


def test_coupons_and_vouchers_show_their_code_and_expiry_and_offers_of_running_campaigns(
    organization, programs
):
    customer = create_customer(organization)
    with tenant_context(organization):
        coupon = Coupon.objects.create(
            customer=customer,
            program=programs["stamp"],
            name="Free Coffee",
            qr_token="cq_test-token-1",
            expires_at=datetime(2026, 12, 31, 20, 0, tzinfo=UTC),
        )
        promotion = Promotion.objects.create(
            title="5 off", valid_until=datetime(2027, 1, 15, 12, 0, tzinfo=UTC)
        )
        Voucher.objects.create(promotion=promotion, code="GIFT-0001", customer=customer)
        campaign = Campaign.objects.create(
            name="Double points week",
            description="Twice the points on everything",
            status="running",
            starts_at=timezone.now() - timedelta(days=1),
            ends_at=datetime(2027, 2, 1, 12, 0, tzinfo=UTC),
        )
        CampaignAction.objects.create(campaign=campaign, kind="points_multiplier", multiplier=2)

    with time_machine.travel(datetime(2026, 12, 20, 10, 0, tzinfo=UTC), tick=False):
        page = signed_in(organization, customer).get("/me/").content.decode()

    coupons = page[page.index('id="coupons-title"') : page.index('id="vouchers-title"')]
    assert f'data-coupon="{coupon.pk}"' in coupons
    assert '<strong class="code coupon-code">cq_test-token-1</strong>' in coupons
    assert "/qr.svg?data=cq_test-token-1&amp;size=160" in coupons
    assert "Valid until 31 December 2026" in coupons
    vouchers = page[page.index('id="vouchers-title"') :]
    assert '<strong class="code voucher-code">GIFT-0001</strong>' in vouchers
    assert "Valid until 15 January 2027" in vouchers
    offers = page[page.index('id="offers-title"') :]
    assert "Double points week" in offers and "Twice the points on everything" in offers
    assert "2x points on everything" in offers and "Until 1 February 2027" in offers


# --- Submits of one form at once -------------------------------------------------------------


@pytest.fixture(scope="module")
def rewards_organization(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        organization, _ = committed_organization("test-profile-rewards", "Reward Bakery")
        connections.close_all()
    return organization


@pytest.mark.usefixtures("committed_db")
def test_submits_of_one_form_at_once_take_the_points_once(rewards_organization):
    organization = rewards_organization
    customer = create_customer(organization, email=f"{uuid.uuid4().hex}@example.com", points=300)
    with tenant_context(organization):
        reward = Reward.objects.create(name="Croissant", required_credits=80, allow_pre_redeem=True)
    key = str(uuid.uuid4())
    clients = [signed_in(organization, customer) for _ in range(4)]

    answers = run_at_once(4, lambda index: take(clients[index], reward, key).status_code)

    assert answers == [302, 302, 302, 302]
    assert balances(organization, customer)["point"] == (220, 220, 2)
    with tenant_context(organization):
        receptions = list(
            RewardReception.objects.filter(customer=customer).values_list("external_id", "status")
        )
        audits = AuditLogEntry.objects.filter(
            action="rewards.take", details__external_id=f"profile-{key}"
        ).count()
    assert (receptions, audits) == ([(f"profile-{key}", "collectable")], 1)


@pytest.mark.usefixtures("committed_db")
def test_submits_of_different_forms_at_once_never_overdraw(rewards_organization):
    organization = rewards_organization
    customer = create_customer(organization, email=f"{uuid.uuid4().hex}@example.com", points=200)
    with tenant_context(organization):
        reward = Reward.objects.create(name="Mug", required_credits=80, allow_pre_redeem=True)
    clients = [signed_in(organization, customer) for _ in range(4)]

    answers = run_at_once(4, lambda index: take(clients[index], reward).status_code)

    assert sorted(answers) == [302, 302, 422, 422]
    assert balances(organization, customer)["point"] == (40, 40, 3)
    with tenant_context(organization):
        assert RewardReception.objects.filter(customer=customer).count() == 2


def test_the_rewards_api_serves_the_catalogue_and_what_waits_at_the_till(organization, rewards):
    customer = create_customer(organization, points=120)
    with tenant_context(organization):
        Program.objects.filter(kind="point").update(reward_collect_days=10)
    with time_machine.travel(datetime(2026, 12, 20, 9, 0, tzinfo=UTC), tick=False):
        client = signed_in(organization, customer)
        take(client, rewards["croissant"])
        answer = client.get("/me/api/rewards")
    with tenant_context(organization):
        reception = RewardReception.objects.get()

    assert (answer.status_code, answer["Cache-Control"]) == (200, "no-store")
    data = answer.json()["data"]
    assert data["points"] == 40
    assert [(r["name"], r["affordable"], r["points_needed"], r["can_take"]) for r in data["catalogue"]] == [
        ("Croissant", False, 40, True),
        ("Cake", False, 60, False),
        ("Mug", False, 160, True),
    ]
    assert data["catalogue"][0]["image"] == "/media/rewards/croissant.png"
    assert data["to_collect"] == [
        {
            "id": str(reception.pk),
            "reward": {"id": rewards["croissant"].pk, "name": "Croissant"},
            "points": 80,
            "created_at": "2026-12-20T09:00:00+00:00",
            "valid_until": "2026-12-30",
        }
    ]
    assert Client(HTTP_HOST="test-a.localhost").get("/me/api/rewards").status_code == 401


def test_a_suspended_organizations_customer_takes_nothing(organization, rewards):
    customer = create_customer(organization, points=500)
    client = signed_in(organization, customer)
    before = state(organization)
    organization.status = "suspended"
    organization.save(update_fields=["status"])

    with tenant_context(organization), refused("organization_suspended"):
        reward_take(customer=customer, reward_id=rewards["croissant"].pk, form_key=uuid.uuid4())
    response = take(client, rewards["croissant"])

    assert (response.status_code, "The programme is paused for now" in response.content.decode()) == (
        403,
        True,
    )
    assert state(organization) == before


def test_the_profiles_external_ids_are_not_a_tills_to_use(organization, rewards, pos):
    customer = create_customer(organization, points=500)
    before = state(organization)
    body = {
        "customer_code": customer.customer_code,
        "external_id": f"profile-{uuid.uuid4()}",
        "pre_redeem": True,
    }

    response = pos.post(f"/webhook/rewards/{rewards['croissant'].pk}/receptions", body)

    assert (response.status_code, response.json()) == (
        422,
        {"error": "external_id_invalid", "field": "external_id"},
    )
    assert state(organization) == before
