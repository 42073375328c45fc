"""What reaches the broker: an enrollment queues the welcome task (on commit) only while a
welcome campaign runs, and a real worker grants it; a purchase queues nothing without a
milestone or referral campaign. Counted with Celery's after_task_publish signal, which fires
once a message is written to Redis."""

import time
import uuid
from decimal import Decimal

import pytest
from celery.signals import after_task_publish
from django_tenants.utils import tenant_context

from loyalty_platform.campaigns.models import Campaign, CampaignGrant
from loyalty_platform.customers.services import customer_enroll
from loyalty_platform.programs.services import customer_earn
from tests.campaigns.triggers_fixtures import points_of, trigger_campaign
from tests.pos_fixtures import committed_organization
from tests.processes import celery_worker

pytestmark = pytest.mark.usefixtures("committed_db")

CAMPAIGN_TASKS = {
    "loyalty_platform.campaigns.tasks.campaign_welcome",
    "loyalty_platform.campaigns.tasks.campaign_purchase",
}


@pytest.fixture
def published():
    sent: list[str] = []

    def record(sender=None, **kwargs) -> None:
        if sender in CAMPAIGN_TASKS:
            sent.append(sender)

    after_task_publish.connect(record, weak=False)
    yield sent
    after_task_publish.disconnect(record)


def enroll(organization):
    with tenant_context(organization):
        customer, _ = customer_enroll(
            email=f"{uuid.uuid4().hex[:12]}@example.com", consent_terms=True, consent_privacy=True
        )
    return customer


def test_welcome_reaches_the_broker_only_while_a_welcome_campaign_runs(published):
    organization, _ = committed_organization("test-triggers", "Trigger Café")
    without = enroll(organization)
    with tenant_context(organization):
        customer_earn(customer=without, amount=Decimal("2"), card_type="point", external_id=uuid.uuid4().hex)
    assert published == []

    campaign = trigger_campaign(
        organization, Campaign.Trigger.WELCOME, points=15, name=f"w {uuid.uuid4().hex[:8]}"
    )
    try:
        welcomed = enroll(organization)
        assert published == ["loyalty_platform.campaigns.tasks.campaign_welcome"]
        with celery_worker():
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and points_of(organization, welcomed) == 0:
                time.sleep(0.2)
        assert points_of(organization, welcomed) == 15
        with tenant_context(organization):
            assert list(
                CampaignGrant.objects.filter(run__campaign=campaign).values_list("customer_id", flat=True)
            ) == [welcomed.pk]
    finally:
        with tenant_context(organization):
            campaign.status = Campaign.Status.ENDED
            campaign.save()
    assert points_of(organization, without) == 2
