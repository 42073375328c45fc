"""A referral is rewarded once under real concurrency: two first purchases committed by two
threads at once, and the reward task run twice at once, each grant both customers once."""

import uuid
from collections.abc import Iterator
from decimal import Decimal

import pytest
from django_tenants.utils import tenant_context

from loyalty_platform.campaigns.models import Campaign, CampaignGrant, Referral
from loyalty_platform.campaigns.referrals import referral_link_for, referral_record
from loyalty_platform.campaigns.triggers import trigger_referral
from loyalty_platform.programs.services import customer_earn
from tests.campaigns.triggers_fixtures import eager_tasks, points_of, trigger_campaign  # noqa: F401
from tests.pos_fixtures import committed_organization, create_customer, run_at_once

pytestmark = pytest.mark.usefixtures("committed_db")


@pytest.fixture
def shop():
    organization, _ = committed_organization("test-triggers", "Trigger Café")
    return organization


@pytest.fixture
def referral(shop) -> Iterator[tuple[Campaign, Referral]]:
    """A running referral campaign (ended afterwards) and a fresh referral, committed."""
    campaign = trigger_campaign(
        shop, Campaign.Trigger.REFERRAL, points=100, name=f"ref {uuid.uuid4().hex[:8]}"
    )
    referrer = create_customer(shop)
    friend = create_customer(shop)
    with tenant_context(shop):
        made = referral_record(
            code=referral_link_for(customer=referrer).code, friend=friend, friend_is_new=True
        )
    yield campaign, made
    with tenant_context(shop):
        campaign.status = Campaign.Status.ENDED
        campaign.save()


def grants(shop, campaign) -> list[tuple[int, int]]:
    with tenant_context(shop):
        return sorted(
            CampaignGrant.objects.filter(run__campaign=campaign).values_list("customer_id", "points")
        )


def status(shop, referral: Referral) -> str:
    with tenant_context(shop):
        return Referral.objects.get(pk=referral.pk).status


@pytest.mark.usefixtures("eager_tasks")
def test_two_first_purchases_at_once_reward_the_referral_once(shop, referral):
    campaign, made = referral

    def purchase(index: int) -> None:
        # Committed for real; its on-commit task (eager here) runs in this thread right after.
        with tenant_context(shop):
            customer_earn(
                customer=made.friend,
                amount=Decimal("5"),
                card_type="point",
                external_id=f"{made.pk.hex[:8]}-{index}",
            )

    run_at_once(2, purchase)
    assert grants(shop, campaign) == sorted([(made.referrer_id, 100), (made.friend_id, 100)])
    assert status(shop, made) == "rewarded"
    assert points_of(shop, made.referrer_id) == 100
    assert points_of(shop, made.friend_id) == 5 + 5 + 100


def test_the_reward_task_run_twice_at_once_grants_once(shop, referral):
    campaign, made = referral

    def reward(index: int) -> int:
        with tenant_context(shop):
            return trigger_referral(customer_id=made.friend_id)

    assert sorted(run_at_once(2, reward)) == [0, 2]
    assert grants(shop, campaign) == sorted([(made.referrer_id, 100), (made.friend_id, 100)])
    assert (points_of(shop, made.referrer_id), points_of(shop, made.friend_id)) == (100, 100)
