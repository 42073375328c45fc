"""Exactly once with real Celery workers and Redis (not eager mode): two workers given the
same run twice, and a run whose first task died after a chunk."""

import time
from contextlib import ExitStack

from django.utils import timezone
from django_tenants.utils import tenant_context

from loyalty_platform.campaigns import runner
from loyalty_platform.campaigns.models import CampaignGrant, CampaignRun
from loyalty_platform.campaigns.tasks import campaign_run_work, campaigns_tick
from loyalty_platform.customers.models import Customer
from loyalty_platform.programs.models import Card, LedgerEntry
from loyalty_platform.vouchers.models import Promotion, Voucher
from tests.campaigns.runner_fixtures import make_action, make_campaign
from tests.pos_fixtures import committed_organization, create_customer
from tests.processes import celery_worker

CUSTOMERS = 1500  # two grant chunks


def _organization(slug: str):
    organization, created = committed_organization(slug, slug)
    if created:
        with tenant_context(organization):
            Customer.objects.bulk_create(
                Customer(
                    customer_code=100000 + n,
                    email=f"w{n}@example.com",
                    consent_terms_at=timezone.now(),
                    consent_privacy_at=timezone.now(),
                )
                for n in range(CUSTOMERS)
            )
    return organization


def _wait_until_open(run_id: int, seconds: float = 90) -> CampaignRun:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        run = CampaignRun.objects.get(pk=run_id)
        if run.status == "open":
            return run
        time.sleep(0.2)
    raise AssertionError(f"run {run_id} not done within {seconds} s")


def test_two_workers_given_the_same_run_twice_grant_each_customer_once(committed_db):
    organization = _organization("runner-two-workers")
    with tenant_context(organization):
        promotion = Promotion.objects.create(title="Cookie")
        Voucher.objects.bulk_create(
            Voucher(promotion=promotion, code=f"TWO{n:05d}") for n in range(CUSTOMERS // 2)
        )
        campaign = make_campaign(status="running")
        points = make_action(campaign, "grant_points", points=5)
        voucher = make_action(campaign, "grant_voucher", promotion=promotion)
        (run_id,) = runner.tick()
        with ExitStack() as stack:
            stack.enter_context(celery_worker("one"))
            stack.enter_context(celery_worker("two"))
            for _ in range(2):
                campaign_run_work.delay(run_id)
                campaigns_tick.delay()
            _wait_until_open(run_id)
            time.sleep(1)  # let the second copies finish what they do
        grants = CampaignGrant.objects.filter(run_id=run_id)
        assert grants.filter(action=points).count() == CUSTOMERS
        assert grants.filter(action=voucher).count() == CUSTOMERS
        entries = LedgerEntry.objects.filter(external_id=f"campaign-{campaign.pk}-once")
        assert entries.count() == CUSTOMERS
        assert set(Card.objects.filter(program__kind="point").values_list("balance", flat=True)) == {5}
        owned = Voucher.objects.filter(promotion=promotion, customer__isnull=False)
        assert owned.count() == CUSTOMERS
        assert owned.values("customer_id").distinct().count() == CUSTOMERS
        assert CampaignRun.objects.filter(campaign=campaign).count() == 1


def test_a_task_that_died_after_a_chunk_resumes_on_a_worker_without_granting_twice(committed_db):
    organization = _organization("runner-retried")
    with tenant_context(organization):
        campaign = make_campaign(status="running")
        action = make_action(campaign, "grant_points", points=3)
        (run_id,) = runner.tick()
        # The first task granted one chunk and died before moving on; its retry starts over
        # from a cursor it did not see (reset here), and a copy runs in this process meanwhile.
        assert runner.grant_chunk(run_id, size=400) == 400
        CampaignRun.objects.filter(pk=run_id).update(grant_cursor=0)
        with celery_worker("retry"):
            campaign_run_work.delay(run_id)
            runner.run_work(run_id, use_lock=False)
            _wait_until_open(run_id)
            time.sleep(1)
        assert CampaignGrant.objects.filter(run_id=run_id, action=action).count() == CUSTOMERS
        assert LedgerEntry.objects.filter(external_id=f"campaign-{campaign.pk}-once").count() == CUSTOMERS
        create_customer(organization)  # after the run: not granted by a finished run
        assert runner.tick() == []
