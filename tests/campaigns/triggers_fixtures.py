"""Shared set-up of the triggers' and referrals' tests: running trigger campaigns, eager
Celery for unit tests, purchases that run their on-commit work."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from celery._state import _set_task_join_will_block
from django_tenants.utils import tenant_context

from loyalty_platform.campaigns.models import Campaign, CampaignAction, CampaignGrant
from loyalty_platform.celery import app as celery_app
from loyalty_platform.programs.models import Card
from loyalty_platform.programs.services import customer_earn

CAMPAIGN_START = datetime(2026, 1, 1, tzinfo=UTC)


def trigger_campaign(organization, trigger: str, *, points: int = 50, **fields) -> Campaign:
    """A running campaign of `trigger` that gives `points`, from 1 January 2026 on."""
    with tenant_context(organization):
        defaults = {
            "name": f"{trigger} campaign",
            "status": Campaign.Status.RUNNING,
            "starts_at": CAMPAIGN_START,
        }
        campaign = Campaign.objects.create(trigger=trigger, **(defaults | fields))
        CampaignAction.objects.create(campaign=campaign, kind=CampaignAction.Kind.GRANT_POINTS, points=points)
    return campaign


def points_of(organization, customer) -> int:
    with tenant_context(organization):
        card = Card.objects.filter(customer=customer, program__kind="point").first()
        return card.balance if card else 0


def grants_of(organization, campaign) -> list[tuple[str, int, int]]:
    """(run key, customer id, points) of every grant of the campaign, in a stable order."""
    with tenant_context(organization):
        return list(
            CampaignGrant.objects.filter(run__campaign=campaign)
            .order_by("run__key", "customer_id")
            .values_list("run__key", "customer_id", "points")
        )


@pytest.fixture
def eager_tasks():
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = False
    # An eager task sets a process-wide "a join would block" flag and puts back what it found;
    # two threads applying tasks at once can leave it set, and every later EagerResult.get()
    # in this process would then refuse to run.
    _set_task_join_will_block(False)


def earn(organization, customer, amount: str, external_id: str, capture) -> None:
    """An earn at a till; its on-commit work (the campaign task, eager) runs."""
    with tenant_context(organization), capture(execute=True):
        customer_earn(customer=customer, amount=Decimal(amount), card_type="point", external_id=external_id)
