"""Paths that write in bulk record their events in bulk, in the chunk's transaction: a
campaign's grants, the expiry job, the nightly tier recalculation. One event per card (or
customer), with exact data, and nothing for another organization."""

from datetime import UTC, datetime

import time_machine
from django_tenants.utils import tenant_context

from loyalty_platform.campaigns.grants import grant_to_customers
from loyalty_platform.coupons.models import Coupon
from loyalty_platform.programs.expiry import points_expire
from loyalty_platform.programs.models import LedgerEntry
from loyalty_platform.rewards.models import Reward, RewardReception
from loyalty_platform.tiers.models import CustomerTier, Tier
from loyalty_platform.tiers.services import tiers_recalculate_all
from loyalty_platform.vouchers.models import Promotion, Voucher
from loyalty_platform.vouchers.services import vouchers_generate
from loyalty_platform.webhooks.models import WebhookEvent
from tests.campaigns.runner_fixtures import make_action, make_campaign, make_run
from tests.pos_fixtures import create_customer
from tests.programs.lot_helpers import configure, earn
from tests.webhooks.event_helpers import card_of, deliveries, recorded, subscribe

START = datetime(2026, 1, 10, 9, 0, tzinfo=UTC)
MONTH_LATER = datetime(2026, 2, 10, 9, 0, tzinfo=UTC)


def test_a_point_grant_to_several_customers_records_one_event_each(
    organization, programs, endpoint, other_organization, endpoint_b
):
    first = create_customer(organization, points=40)
    second = create_customer(organization)
    with tenant_context(organization):
        campaign = make_campaign(name="Winter")
        action = make_action(campaign, "grant_points", points=25)
        run = make_run(campaign)
        assert grant_to_customers(run=run, action=action, customer_ids=[second.pk, first.pk]) == 2
        assert grant_to_customers(run=run, action=action, customer_ids=[second.pk, first.pk]) == 0
        entries = {
            entry.card.customer_id: entry
            for entry in LedgerEntry.objects.filter(cause="campaign").select_related("card")
        }

    def event(customer, balance):
        return (
            "points.earned",
            customer.pk,
            {
                "customer": {"customer_code": customer.customer_code},
                "card_number": card_of(organization, customer, "point").card_number,
                "points": 25,
                "balance": balance,
                "ledger_entry_id": entries[customer.pk].pk,
                "external_id": f"campaign-{campaign.pk}-once",
                "shop_id": None,
                "source": "campaign",
                "campaign": {"id": campaign.pk, "name": "Winter"},
            },
        )

    assert sorted(recorded(organization), key=lambda row: row[2]["ledger_entry_id"]) == sorted(
        [event(first, 65), event(second, 25)], key=lambda row: row[2]["ledger_entry_id"]
    )
    assert len(deliveries(organization)) == 2
    assert recorded(other_organization) == []


def test_a_referral_grant_of_stamps_says_referral_and_the_full_card_issues_a_coupon(
    organization, programs, endpoint
):
    customer = create_customer(organization, stamps=8)
    with tenant_context(organization):
        campaign = make_campaign(name="Bring a friend", trigger="referral")
        action = make_action(campaign, "grant_stamps", stamps=3)
        assert grant_to_customers(run=make_run(campaign), action=action, customer_ids=[customer.pk]) == 1
        coupon = Coupon.objects.get(customer=customer)
        grant_entry = LedgerEntry.objects.get(cause="campaign")

    card = card_of(organization, customer, "stamp")
    assert [(kind, customer_id) for kind, customer_id, _ in recorded(organization)] == [
        ("coupon.issued", customer.pk),
        ("stamps.earned", customer.pk),
    ]
    assert recorded(organization)[0][2]["coupon"]["id"] == str(coupon.pk)
    assert recorded(organization)[1][2] == {
        "customer": {"customer_code": customer.customer_code},
        "card_number": card.card_number,
        "stamps": 3,
        "balance": 1,
        "ledger_entry_id": grant_entry.pk,
        "external_id": f"campaign-{campaign.pk}-once",
        "shop_id": None,
        "source": "referral",
        "coupons_issued": 1,
        "campaign": {"id": campaign.pk, "name": "Bring a friend"},
    }


def test_voucher_and_reward_grants_record_coupon_issued_and_reward_received(organization, programs, endpoint):
    first = create_customer(organization)
    second = create_customer(organization)
    with tenant_context(organization):
        promotion = Promotion.objects.create(title="5 off")
        pooled = vouchers_generate(promotion=promotion, count=1)[0]
        reward = Reward.objects.create(name="Mug", required_credits=100)
        campaign = make_campaign(name="Gifts")
        run = make_run(campaign)
        voucher_action = make_action(campaign, "grant_voucher", promotion=promotion)
        reward_action = make_action(campaign, "grant_reward", reward=reward)
        ids = [first.pk, second.pk]
        assert grant_to_customers(run=run, action=voucher_action, customer_ids=ids) == 2
        assert grant_to_customers(run=run, action=reward_action, customer_ids=ids) == 2
        codes = dict(Voucher.objects.values_list("customer_id", "code"))
        receptions = dict(RewardReception.objects.values_list("customer_id", "pk"))
    assert codes[first.pk] == pooled.code  # the pool's voucher first, then a new code

    def voucher(customer):
        return (
            "coupon.issued",
            customer.pk,
            {
                "customer": {"customer_code": customer.customer_code},
                "source": "campaign",
                "campaign": {"id": campaign.pk, "name": "Gifts"},
                "voucher": {"code": codes[customer.pk], "promotion": {"id": promotion.pk, "title": "5 off"}},
            },
        )

    def gift(customer):
        return (
            "reward.received",
            customer.pk,
            {
                "customer": {"customer_code": customer.customer_code},
                "source": "campaign",
                "id": str(receptions[customer.pk]),
                "reward": {"id": reward.pk, "name": "Mug"},
                "points": 0,
                "status": "collectable",
                "balance": None,
                "ledger_entry_id": None,
                "external_id": f"campaign-{campaign.pk}-once",
                "campaign": {"id": campaign.pk, "name": "Gifts"},
            },
        )

    assert recorded(organization) == [voucher(first), voucher(second), gift(first), gift(second)]


def test_an_expiry_run_records_one_points_expired_per_card(organization, programs, endpoint):
    with tenant_context(organization):
        configure(programs["point"], points_expiry="lifetime", points_expiry_months=1)
    first = create_customer(organization)
    second = create_customer(organization)
    with tenant_context(organization), time_machine.travel(START, tick=False):
        earn(first, 100, "f1")
        earn(first, 20, "f2")
        earn(second, 30, "s1")
        WebhookEvent.objects.all().delete()  # the earns' own events

    with tenant_context(organization):
        assert points_expire(now=MONTH_LATER).summary()["cards"] == 2
        assert points_expire(now=MONTH_LATER).summary()["cards"] == 0
        entries = {
            entry.card.customer_id: entry.pk
            for entry in LedgerEntry.objects.filter(cause="expire").select_related("card")
        }

    def expired(customer, points):
        return (
            "points.expired",
            customer.pk,
            {
                "customer": {"customer_code": customer.customer_code},
                "card_number": card_of(organization, customer, "point").card_number,
                "points": points,
                "balance": 0,
                "ledger_entry_id": entries[customer.pk],
            },
        )

    assert sorted(recorded(organization), key=lambda row: row[1]) == sorted(
        [expired(first, 120), expired(second, 30)], key=lambda row: row[1]
    )
    with tenant_context(organization):
        assert set(WebhookEvent.objects.values_list("occurred_at", flat=True)) == {MONTH_LATER}
    assert len(deliveries(organization)) == 2


def test_an_expiry_run_without_a_subscriber_records_nothing(organization, programs):
    subscribe(organization, ["points.earned"])
    with tenant_context(organization):
        configure(programs["point"], points_expiry="lifetime", points_expiry_months=1)
    customer = create_customer(organization)
    with tenant_context(organization), time_machine.travel(START, tick=False):
        earn(customer, 100, "f1")
        WebhookEvent.objects.all().delete()

    with tenant_context(organization):
        assert points_expire(now=MONTH_LATER).summary()["cards"] == 1
    assert recorded(organization) == []


def test_the_nightly_recalculation_records_tier_changed_for_customers_whose_tier_moved(
    organization, programs, other_organization, endpoint, endpoint_b
):
    customer = create_customer(organization)
    steady = create_customer(organization)
    with tenant_context(organization):
        silver = Tier.objects.create(name="Silver", threshold_points=10)
        earn(customer, 50, "e1")
        earn(steady, 5, "e2")
        CustomerTier.objects.filter(customer=customer).update(tier=None)  # as if a day older
        WebhookEvent.objects.all().delete()
        assert tiers_recalculate_all() == 2
    assert recorded(organization) == [
        (
            "tier.changed",
            customer.pk,
            {
                "customer": {"customer_code": customer.customer_code},
                "tier": {"name": silver.name, "points_multiplier": "1.00"},
                "previous_tier": None,
                "qualifying_points": 50,
            },
        )
    ]
    assert recorded(other_organization) == []
