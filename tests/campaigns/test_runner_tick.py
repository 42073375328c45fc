"""The tick and a run's chunks, called directly (the Celery tests are test_runner_workers.py):
start, resume from the cursor, a retried chunk, pause and cancel, the end."""

from datetime import timedelta

from django.core import mail
from django.utils import timezone
from django_tenants.utils import tenant_context

from loyalty_platform.audit.models import AuditLogEntry
from loyalty_platform.campaigns import runner
from loyalty_platform.campaigns.models import (
    Campaign,
    CampaignGrant,
    CampaignRun,
    Segment,
    SegmentListMember,
    SegmentRule,
)
from loyalty_platform.campaigns.models import CampaignRunAudience as RunAudience
from loyalty_platform.campaigns.services import campaign_cancel, campaign_pause, campaign_resume
from loyalty_platform.customers.models import Customer
from loyalty_platform.programs.models import LedgerEntry
from tests.campaigns.runner_fixtures import make_action, make_campaign
from tests.pos_fixtures import create_customer


def _customers(organization, count):
    return [create_customer(organization) for _ in range(count)]


def test_the_tick_starts_a_scheduled_campaign_and_its_run_grants_everyone_active(organization, programs):
    customers = _customers(organization, 5)
    with tenant_context(organization):
        Customer.objects.filter(pk=customers[0].pk).update(status="deleted")
        campaign = make_campaign(status="scheduled")
        make_action(campaign, "grant_points", points=3)
        due = runner.tick()
        campaign.refresh_from_db()
        assert campaign.status == "running"
        run = CampaignRun.objects.get(campaign=campaign)
        assert (due, run.key, run.status) == ([run.pk], "once", "pending")
        assert runner.tick() == [run.pk]  # the same run, not a second one
        assert runner.run_work(run.pk).state == "done"
        run.refresh_from_db()
        assert (run.status, run.grant_cursor) == ("open", max(c.pk for c in customers))
        assert set(CampaignGrant.objects.filter(run=run).values_list("customer_id", flat=True)) == {
            c.pk for c in customers[1:]
        }
        assert runner.tick() == []
        assert AuditLogEntry.objects.filter(action="campaign.start", target_id=str(campaign.pk)).count() == 1


def test_a_run_killed_half_way_resumes_after_its_cursor_and_a_retried_chunk_grants_nothing(
    organization, programs
):
    customers = _customers(organization, 7)
    with tenant_context(organization):
        campaign = make_campaign(status="running")
        make_action(campaign, "grant_points", points=2)
        (run_id,) = runner.tick()
        assert runner.grant_chunk(run_id, size=3) == 3  # the task "dies" after this chunk
        run = CampaignRun.objects.get(pk=run_id)
        assert (run.status, run.grant_cursor) == ("granting", customers[2].pk)
        # The same chunk again (a retry that did not see the cursor): the rows stop it.
        CampaignRun.objects.filter(pk=run_id).update(grant_cursor=0)
        assert runner.grant_chunk(run_id, size=3) == 3
        assert CampaignGrant.objects.filter(run_id=run_id).count() == 3
        assert runner.run_work(run_id).state == "done"
        assert CampaignGrant.objects.filter(run_id=run_id).count() == 7
        assert LedgerEntry.objects.filter(cause="campaign").count() == 7


def test_a_paused_campaign_grants_nothing_until_resumed(organization, programs):
    _customers(organization, 4)
    with tenant_context(organization):
        campaign = make_campaign(status="running")
        make_action(campaign, "grant_points", points=2)
        (run_id,) = runner.tick()
        assert runner.grant_chunk(run_id, size=2) == 2
        campaign_pause(actor=None, campaign=campaign)
        assert runner.tick() == []
        assert runner.run_work(run_id).state == "stopped"
        assert CampaignGrant.objects.filter(run_id=run_id).count() == 2
        campaign_resume(actor=None, campaign=campaign)
        assert runner.tick() == [run_id]
        assert runner.run_work(run_id).state == "done"
        assert CampaignGrant.objects.filter(run_id=run_id).count() == 4


def test_cancelling_stops_new_grants_and_keeps_the_old_ones(organization, programs):
    customers = _customers(organization, 4)
    with tenant_context(organization):
        campaign = make_campaign(status="running")
        make_action(campaign, "grant_points", points=2)
        (run_id,) = runner.tick()
        assert runner.grant_chunk(run_id, size=2) == 2
        campaign_cancel(actor=None, campaign=campaign)
        assert runner.grant_chunk(run_id) is None
        assert runner.run_work(run_id).state == "stopped"
        assert runner.tick() == []
        assert set(CampaignGrant.objects.filter(run_id=run_id).values_list("customer_id", flat=True)) == {
            customers[0].pk,
            customers[1].pk,
        }
        assert LedgerEntry.objects.filter(cause="campaign").count() == 2
        assert CampaignRun.objects.get(pk=run_id).status == "cancelled"


def test_past_end_runs_close_and_ended_campaigns_end(organization, programs):
    with tenant_context(organization):
        now = timezone.now()
        campaign = make_campaign(
            status="running", starts_at=now - timedelta(days=3), recurrence_weekdays="0,1,2,3,4,5,6"
        )
        make_action(campaign, "bonus_points", points=1)
        old = CampaignRun.objects.create(
            campaign=campaign,
            key="x",
            starts_at=now - timedelta(days=2),
            ends_at=now - timedelta(days=1),
            status="open",
        )
        runner.tick()
        assert CampaignRun.objects.get(pk=old.pk).status == "closed"
        current = CampaignRun.objects.exclude(pk=old.pk).get(campaign=campaign)
        assert runner.run_work(current.pk).state == "done"  # boosts only: nothing to hand out
        assert CampaignRun.objects.get(pk=current.pk).status == "open"
        Campaign.objects.filter(pk=campaign.pk).update(ends_at=now - timedelta(minutes=1))
        runner.tick()
        assert Campaign.objects.get(pk=campaign.pk).status == "ended"
        assert CampaignRun.objects.get(pk=current.pk).status == "closed"


def test_trigger_campaigns_get_no_run_from_the_tick(organization, programs):
    _customers(organization, 2)
    with tenant_context(organization):
        campaign = make_campaign(status="running", trigger="welcome")
        make_action(campaign, "grant_points", points=2)
        assert runner.tick() == []
        assert CampaignRun.objects.filter(campaign=campaign).count() == 0


def test_a_segment_campaign_reaches_only_its_segment(organization, programs):
    customers = _customers(organization, 4)
    with tenant_context(organization):
        segment = Segment.objects.create(name="Listed")
        SegmentRule.objects.create(segment=segment, kind="static_list")
        for customer in customers[1:3]:
            SegmentListMember.objects.create(segment=segment, customer=customer)
        campaign = make_campaign(status="running", segment=segment)
        make_action(campaign, "grant_points", points=2)
        (run_id,) = runner.tick()
        runner.run_work(run_id)
        assert set(CampaignGrant.objects.filter(run_id=run_id).values_list("customer_id", flat=True)) == {
            customers[1].pk,
            customers[2].pk,
        }
    assert mail.outbox == []


def test_an_open_run_grants_customers_who_entered_its_audience_later_and_nobody_twice(organization, programs):
    first = _customers(organization, 2)
    with tenant_context(organization):
        campaign = make_campaign(status="running")
        make_action(campaign, "grant_points", points=4)
        (run_id,) = runner.tick()
        assert runner.run_work(run_id).state == "done"
        assert runner.tick() == []  # the next pass waits CAMPAIGN_AUDIENCE_RESCAN_SECONDS
    late = create_customer(organization)
    with tenant_context(organization):
        runner.lp_redis.client().delete(runner._rescan_key(run_id))  # that time has passed
        assert runner.tick() == [run_id]
        assert runner.run_work(run_id).state == "done"
        granted = CampaignGrant.objects.filter(run_id=run_id)
        assert sorted(granted.values_list("customer_id", flat=True)) == sorted(c.pk for c in [*first, late])
        assert LedgerEntry.objects.filter(cause="campaign").count() == 3
        assert CampaignRun.objects.get(pk=run_id).rescans == 1
        assert runner.tick() == []


def test_an_open_run_that_only_boosts_is_not_scanned_again(organization, programs):
    """Boosts apply at the till; a rescan of their run looked for nobody to give anything to."""
    _customers(organization, 2)
    with tenant_context(organization):
        campaign = make_campaign(status="running")
        make_action(campaign, "points_multiplier", multiplier=2)
        (run_id,) = runner.tick()
        assert runner.run_work(run_id).state == "done"
        runner.lp_redis.client().delete(runner._rescan_key(run_id))
        assert runner.tick() == []
        run = CampaignRun.objects.get(pk=run_id)
        assert (run.status, run.rescans) == ("open", 0)


def test_a_pass_takes_its_segment_audience_once_and_the_next_pass_takes_it_afresh(organization, programs):
    """Each chunk used to evaluate the segment again (seconds each at a million customers):
    now the pass's first chunk lists it, and the later chunks read that list."""
    listed = _customers(organization, 3)
    with tenant_context(organization):
        segment = Segment.objects.create(name="Listed")
        SegmentRule.objects.create(segment=segment, kind="static_list")
        for customer in listed:
            SegmentListMember.objects.create(segment=segment, customer=customer)
        campaign = make_campaign(status="running", segment=segment)
        make_action(campaign, "grant_points", points=2)
        (run_id,) = runner.tick()
        assert runner.grant_chunk(run_id, size=1) == 1
        assert sorted(
            RunAudience.objects.filter(run_id=run_id).values_list("customer_id", flat=True)
        ) == sorted(c.pk for c in listed)
        # Left the list during the pass: this pass still has them.
        SegmentListMember.objects.filter(customer=listed[2]).delete()
        late = create_customer(organization)
        SegmentListMember.objects.create(segment=segment, customer=late)
        assert runner.run_work(run_id).state == "done"
        granted = CampaignGrant.objects.filter(run_id=run_id)
        assert sorted(granted.values_list("customer_id", flat=True)) == sorted(c.pk for c in listed)
        assert not RunAudience.objects.filter(run_id=run_id).exists()  # dropped when the pass ended
        # The next pass takes the list as it is now.
        runner.lp_redis.client().delete(runner._rescan_key(run_id))
        assert runner.tick() == [run_id]
        assert runner.run_work(run_id).state == "done"
        assert sorted(granted.values_list("customer_id", flat=True)) == sorted(c.pk for c in [*listed, late])
