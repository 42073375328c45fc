"""The campaign lifecycle services: validation codes, each state change audited, wrong states
refused with nothing changed."""

from datetime import time, timedelta

import pytest
from celery.signals import after_task_publish
from django.utils import timezone

from loyalty_platform.audit.models import AuditLogEntry
from loyalty_platform.campaigns.models import Campaign, CampaignAction, CampaignRun
from loyalty_platform.campaigns.services import (
    campaign_cancel,
    campaign_create,
    campaign_launch,
    campaign_pause,
    campaign_resume,
    campaign_update,
)
from loyalty_platform.vouchers.models import Promotion
from tests.pos_fixtures import refused

NOW = timezone.now


def _create(**fields):
    defaults = {
        "name": "Weekend",
        "starts_at": NOW() - timedelta(minutes=5),
        "actions": [{"kind": "grant_points", "points": 10}],
    }
    return campaign_create(actor=None, **(defaults | fields))


@pytest.mark.parametrize(
    ("fields", "code", "field"),
    [
        ({"name": " "}, "campaign_schedule_invalid", "name"),
        ({"ends_at": "start"}, "campaign_schedule_invalid", "ends_at"),
        ({"recurrence_weekdays": "5,7"}, "campaign_schedule_invalid", "recurrence_weekdays"),
        ({"recurrence_weekdays": "5,5"}, "campaign_schedule_invalid", "recurrence_weekdays"),
        (
            {"daily_start_time": time(17), "daily_end_time": time(9)},
            "campaign_schedule_invalid",
            "daily_end_time",
        ),
        ({"trigger": "birthday"}, "campaign_schedule_invalid", "trigger_days"),
        ({"trigger": "birthday", "trigger_days": 366}, "campaign_schedule_invalid", "trigger_days"),
        ({"trigger": "win_back"}, "campaign_schedule_invalid", "trigger_days"),
        ({"trigger": "win_back", "trigger_days": 0}, "campaign_schedule_invalid", "trigger_days"),
        ({"trigger": "win_back", "trigger_days": 2_000_000_000}, "campaign_schedule_invalid", "trigger_days"),
        ({"trigger": "milestone"}, "campaign_schedule_invalid", "milestone_visits"),
        ({"colour": "red"}, "campaign_schedule_invalid", "colour"),
        ({"actions": [{"kind": "grant_voucher"}]}, "campaign_action_invalid", "promotion"),
        ({"actions": [{"kind": "grant_reward"}]}, "campaign_action_invalid", "reward"),
        ({"actions": [{"kind": "grant_points", "points": 0}]}, "campaign_action_invalid", "points"),
        (
            {"actions": [{"kind": "points_multiplier", "multiplier": 1}]},
            "campaign_action_invalid",
            "multiplier",
        ),
        (
            {"trigger": "welcome", "actions": [{"kind": "bonus_points", "points": 5}]},
            "campaign_action_invalid",
            "kind",
        ),
        (
            {"actions": [{"kind": "bonus_points", "points": 5, "applies_to": "sku"}]},
            "campaign_action_invalid",
            "match_values",
        ),
        (
            {"actions": [{"kind": "message", "subject": "Hi", "body": "Hello {name.__class__}"}]},
            "campaign_action_invalid",
            "body",
        ),
        (
            {"actions": [{"kind": "message", "subject": "", "body": "x"}]},
            "campaign_action_invalid",
            "subject",
        ),
        ({"actions": [{"kind": "teleport"}]}, "campaign_action_invalid", "kind"),
    ],
)
def test_create_refuses_what_does_not_hold_together(in_organization, fields, code, field):
    if fields.get("ends_at") == "start":
        fields["ends_at"] = NOW() - timedelta(minutes=5)
        fields["starts_at"] = fields["ends_at"]
    with refused(code) as caught:
        _create(**fields)
    assert caught.value.extra["field"] == field
    assert Campaign.objects.count() == 0
    assert CampaignAction.objects.count() == 0
    assert AuditLogEntry.objects.filter(action__startswith="campaign.").count() == 0


def test_a_birthday_campaign_may_grant_on_the_day_itself(in_organization):
    """trigger_days 0 is the birthday itself (it used to be refused as missing)."""
    campaign = _create(trigger="birthday", trigger_days=0)
    assert Campaign.objects.get(pk=campaign.pk).trigger_days == 0


def test_a_draft_launches_running_when_its_start_came_and_scheduled_before(in_organization):
    promotion = Promotion.objects.create(title="Cookie")
    now_one = _create(actions=[{"kind": "grant_voucher", "promotion": promotion}])
    later = _create(starts_at=NOW() + timedelta(days=1))
    assert campaign_launch(actor=None, campaign=now_one).status == "running"
    assert campaign_launch(actor=None, campaign=later).status == "scheduled"
    with refused("campaign_state_invalid") as caught:
        campaign_launch(actor=None, campaign=now_one)
    assert caught.value.extra == {"status": "running"}
    assert list(
        AuditLogEntry.objects.filter(action="campaign.launch")
        .order_by("pk")
        .values_list("details", flat=True)
    ) == [{"from": "draft", "to": "running"}, {"from": "draft", "to": "scheduled"}]


def test_launch_needs_an_action_and_an_end_ahead(in_organization):
    empty = _create(actions=[])
    with refused("campaign_action_invalid"):
        campaign_launch(actor=None, campaign=empty)
    past = _create(starts_at=NOW() - timedelta(days=2), ends_at=NOW() - timedelta(days=1))
    with refused("campaign_schedule_invalid"):
        campaign_launch(actor=None, campaign=past)
    assert set(Campaign.objects.values_list("status", flat=True)) == {"draft"}


def test_pause_resume_cancel_move_only_from_their_states(in_organization):
    campaign = _create()
    for service in (campaign_pause, campaign_resume):
        with refused("campaign_state_invalid"):
            service(actor=None, campaign=campaign)
    campaign_launch(actor=None, campaign=campaign)
    paused = campaign_pause(actor=None, campaign=campaign)
    assert (paused.status, paused.paused_at is not None) == ("paused", True)
    with refused("campaign_state_invalid"):
        campaign_pause(actor=None, campaign=campaign)
    resumed = campaign_resume(actor=None, campaign=campaign)
    assert (resumed.status, resumed.paused_at) == ("running", None)
    run = CampaignRun.objects.create(campaign=campaign, key="once", starts_at=campaign.starts_at)
    cancelled = campaign_cancel(actor=None, campaign=campaign)
    assert cancelled.status == "cancelled"
    assert CampaignRun.objects.get(pk=run.pk).status == "cancelled"
    for service in (campaign_pause, campaign_resume, campaign_cancel, campaign_launch):
        with refused("campaign_state_invalid") as caught:
            service(actor=None, campaign=campaign)
        assert caught.value.extra == {"status": "cancelled"}
    assert list(
        AuditLogEntry.objects.filter(target_id=str(campaign.pk))
        .order_by("pk")
        .values_list("action", flat=True)
    ) == [
        "campaign.create",
        "campaign.launch",
        "campaign.pause",
        "campaign.resume",
        "campaign.cancel",
    ]


def test_update_changes_fields_and_refuses_ended_campaigns(in_organization):
    campaign = _create()
    updated = campaign_update(
        actor=None, campaign=campaign, name="Long weekend", actions=[{"kind": "grant_stamps", "stamps": 2}]
    )
    assert updated.name == "Long weekend"
    assert list(updated.actions.values_list("kind", "stamps")) == [("grant_stamps", 2)]
    with refused("campaign_schedule_invalid"):
        campaign_update(actor=None, campaign=campaign, recurrence_weekdays="9")
    assert Campaign.objects.get(pk=campaign.pk).recurrence_weekdays == ""
    Campaign.objects.filter(pk=campaign.pk).update(status="ended")
    with refused("campaign_state_invalid"):
        campaign_update(actor=None, campaign=campaign, name="x")
    assert Campaign.objects.get(pk=campaign.pk).name == "Long weekend"


def test_launching_or_resuming_a_running_campaign_queues_the_tick_on_commit_and_a_scheduled_one_waits(
    in_organization, django_capture_on_commit_callbacks
):
    published = []

    def record(sender=None, headers=None, **kwargs) -> None:
        published.append((sender, headers.get("_schema_name")))

    after_task_publish.connect(record, weak=False)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            running = campaign_launch(actor=None, campaign=_create())
            campaign_launch(actor=None, campaign=_create(starts_at=NOW() + timedelta(days=1)))
        with django_capture_on_commit_callbacks(execute=True):
            campaign_pause(actor=None, campaign=running)
        assert published == [("loyalty_platform.campaigns.tasks.campaigns_tick", in_organization.schema_name)]
        with django_capture_on_commit_callbacks(execute=True):
            campaign_resume(actor=None, campaign=running)
        assert len(published) == 2
    finally:
        after_task_publish.disconnect(record)
