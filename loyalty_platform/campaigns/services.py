"""A campaign's life: built as a draft, launched, paused and resumed, cancelled; the tick
(campaigns.runner) starts scheduled ones and ends them. Every status change is a save() (the
running-campaign cache forgets on save) and an audit record; a wrong status is refused with
campaign_state_invalid and changes nothing."""

from collections.abc import Iterable
from string import Formatter

from django.db import transaction
from django.utils import timezone

from loyalty_platform.audit.services import audit_record
from loyalty_platform.campaigns.models import Campaign, CampaignAction, CampaignRun, CampaignUnsubscribe
from loyalty_platform.core import errors
from loyalty_platform.core.faults import task_send_on_commit
from loyalty_platform.customers.models import ConsentEvent, Customer
from loyalty_platform.customers.services import customer_updated_record

Kind = CampaignAction.Kind
Status = Campaign.Status
Trigger = Campaign.Trigger

CAMPAIGN_FIELDS = (
    "name",
    "description",
    "trigger",
    "segment",
    "starts_at",
    "ends_at",
    "recurrence_weekdays",
    "daily_start_time",
    "daily_end_time",
    "trigger_days",
    "milestone_visits",
    "milestone_points",
)
ACTION_FIELDS = (
    "kind",
    "applies_to",
    "match_values",
    "multiplier",
    "points",
    "stamps",
    "minimum_spend",
    "promotion",
    "reward",
    "subject",
    "body",
)
MESSAGE_PLACEHOLDERS = frozenset({"name", "points", "stamps", "voucher_code"})
# Actions that move balances: launching them is for staff who may change cards.
BALANCE_ACTIONS = (*CampaignAction.BOOSTS, Kind.GRANT_POINTS, Kind.GRANT_STAMPS)
BALANCES_PERMISSION = "programs.change_card"
# What a run's key is computed from: fixed once the campaign has runs.
RUN_KEY_FIELDS = ("trigger", "starts_at", "recurrence_weekdays", "daily_start_time", "daily_end_time")
# Birthday: days before it (0: on the day); win-back: days without a visit.
TRIGGER_DAYS = {Trigger.BIRTHDAY: range(0, 366), Trigger.WIN_BACK: range(1, 36_501)}
OPEN_RUN_STATUSES = (CampaignRun.Status.PENDING, CampaignRun.Status.GRANTING, CampaignRun.Status.OPEN)


def _schedule_check(campaign: Campaign) -> None:
    if not campaign.name or not campaign.name.strip():
        raise errors.CAMPAIGN_SCHEDULE_INVALID(field="name")
    if campaign.trigger not in Trigger.values:
        raise errors.CAMPAIGN_SCHEDULE_INVALID(field="trigger")
    if campaign.starts_at is None:
        raise errors.CAMPAIGN_SCHEDULE_INVALID(field="starts_at")
    if campaign.ends_at is not None and campaign.ends_at <= campaign.starts_at:
        raise errors.CAMPAIGN_SCHEDULE_INVALID(field="ends_at")
    parts = (
        [part.strip() for part in campaign.recurrence_weekdays.split(",")]
        if campaign.recurrence_weekdays
        else []
    )
    if any(part not in {"0", "1", "2", "3", "4", "5", "6"} for part in parts) or len(set(parts)) != len(
        parts
    ):
        raise errors.CAMPAIGN_SCHEDULE_INVALID(field="recurrence_weekdays")
    start, end = campaign.daily_start_time, campaign.daily_end_time
    if start is not None and end is not None and end <= start:
        raise errors.CAMPAIGN_SCHEDULE_INVALID(field="daily_end_time")
    days_allowed = TRIGGER_DAYS.get(campaign.trigger)
    if days_allowed is not None and campaign.trigger_days not in days_allowed:
        raise errors.CAMPAIGN_SCHEDULE_INVALID(field="trigger_days")
    if campaign.trigger == Trigger.MILESTONE and not (campaign.milestone_visits or campaign.milestone_points):
        raise errors.CAMPAIGN_SCHEDULE_INVALID(field="milestone_visits")


def _placeholders_valid(text: str) -> bool:
    try:
        names = {name for _, name, spec, conversion in Formatter().parse(text) if name is not None}
    except ValueError:  # an unmatched brace
        return False
    return names <= MESSAGE_PLACEHOLDERS


def _action_check(campaign: Campaign, action: CampaignAction) -> None:
    kind = action.kind

    def refuse(field: str) -> errors.DomainError:
        return errors.CAMPAIGN_ACTION_INVALID(field=field, kind=kind)

    if kind not in Kind.values:
        raise refuse("kind")
    if kind in CampaignAction.BOOSTS:
        if campaign.trigger != Trigger.SCHEDULE:
            raise refuse("kind")  # a boost needs a window; trigger campaigns have none
        if action.applies_to in (CampaignAction.AppliesTo.CATEGORY, CampaignAction.AppliesTo.SKU) and not (
            action.match_values or ""
        ).strip(","):
            raise refuse("match_values")
    elif action.applies_to not in ("", CampaignAction.AppliesTo.ALL):
        raise refuse("applies_to")
    if kind == Kind.POINTS_MULTIPLIER and not (action.multiplier and action.multiplier > 1):
        raise refuse("multiplier")
    if kind in (Kind.BONUS_POINTS, Kind.GRANT_POINTS) and not action.points:
        raise refuse("points")
    if kind in (Kind.BONUS_STAMPS, Kind.GRANT_STAMPS) and not action.stamps:
        raise refuse("stamps")
    if kind == Kind.GRANT_VOUCHER and action.promotion_id is None:
        raise refuse("promotion")
    if kind == Kind.GRANT_REWARD and action.reward_id is None:
        raise refuse("reward")
    if kind == Kind.MESSAGE:
        if not action.subject.strip() or not _placeholders_valid(action.subject):
            raise refuse("subject")
        if not action.body.strip() or not _placeholders_valid(action.body):
            raise refuse("body")


def campaign_validate(campaign: Campaign, actions: Iterable[CampaignAction]) -> None:
    """Refuse a campaign whose schedule or actions do not hold together (the first fault, with
    its field). The admin form calls it with unsaved objects; the services before saving."""
    _schedule_check(campaign)
    for action in actions:
        _action_check(campaign, action)


def _action_from(campaign: Campaign, values: dict) -> CampaignAction:
    unknown = set(values) - set(ACTION_FIELDS)
    if unknown:
        raise errors.CAMPAIGN_ACTION_INVALID(field=sorted(unknown)[0], kind=str(values.get("kind", "")))
    return CampaignAction(campaign=campaign, **values)


def _snapshot(campaign: Campaign) -> dict:
    return {"status": campaign.status, "trigger": campaign.trigger, "name": campaign.name}


@transaction.atomic
def campaign_create(*, actor, actions: list[dict], **fields) -> Campaign:
    """A draft campaign with its actions (dicts of CampaignAction fields)."""
    unknown = set(fields) - set(CAMPAIGN_FIELDS)
    if unknown:
        raise errors.CAMPAIGN_SCHEDULE_INVALID(field=sorted(unknown)[0])
    campaign = Campaign(status=Status.DRAFT, created_by=actor, **fields)
    built = [_action_from(campaign, values) for values in actions]
    campaign_validate(campaign, built)
    campaign.save()
    for action in built:
        action.campaign = campaign
        action.save()
    audit_record(
        actor=actor,
        action="campaign.create",
        target=campaign,
        details=_snapshot(campaign) | {"actions": [action.kind for action in built]},
    )
    return campaign


def _locked(campaign_id: int) -> Campaign:
    campaign = Campaign.objects.select_for_update(no_key=True).filter(pk=campaign_id).first()
    if campaign is None:
        raise errors.CAMPAIGN_STATE_INVALID(status="missing")
    return campaign


def _refuse_unless(campaign: Campaign, *allowed: str) -> None:
    if campaign.status not in allowed:
        raise errors.CAMPAIGN_STATE_INVALID(status=campaign.status)


@transaction.atomic
def campaign_update(*, actor, campaign: Campaign, actions: list[dict] | None = None, **fields) -> Campaign:
    """Change a campaign that has not ended; `actions` (when given) replace its actions. Runs
    already granted stay as they are (docs/decisions/0038-campaigns.md)."""
    unknown = set(fields) - set(CAMPAIGN_FIELDS)
    if unknown:
        raise errors.CAMPAIGN_SCHEDULE_INVALID(field=sorted(unknown)[0])
    locked = _locked(campaign.pk)
    _refuse_unless(locked, Status.DRAFT, Status.SCHEDULED, Status.RUNNING, Status.PAUSED)
    changed_schedule = [
        name for name in RUN_KEY_FIELDS if name in fields and fields[name] != getattr(locked, name)
    ]
    if changed_schedule and locked.runs.exists():
        # A new start, weekdays or hours would give the current occurrence a new run key,
        # and everyone the run already reached would get its grants again.
        raise errors.CAMPAIGN_STATE_INVALID(status=locked.status)
    for name, value in fields.items():
        setattr(locked, name, value)
    if actions is None:
        built = list(locked.actions.all())
    else:
        if locked.status != Status.DRAFT and locked.runs.exists():
            # Grants and messages point at the actions; a campaign that ran keeps them.
            raise errors.CAMPAIGN_STATE_INVALID(status=locked.status)
        built = [_action_from(locked, values) for values in actions]
        if locked.status != Status.DRAFT:
            _may_move_balances(actor, built)  # launched already: these go out without a launch
    campaign_validate(locked, built)
    locked.save()
    if actions is not None:
        locked.actions.all().delete()
        for action in built:
            action.save()
    audit_record(
        actor=actor,
        action="campaign.update",
        target=locked,
        details=_snapshot(locked) | {"fields": sorted(fields)},
    )
    return locked


def _set_status(campaign: Campaign, status: str, **fields) -> None:
    campaign.status = status
    for name, value in fields.items():
        setattr(campaign, name, value)
    campaign.save(update_fields=["status", "updated_at", *fields])


def _audit_status(actor, campaign: Campaign, action: str, before: str) -> None:
    audit_record(actor=actor, action=action, target=campaign, details={"from": before, "to": campaign.status})


@transaction.atomic
def campaign_launch(*, actor, campaign: Campaign) -> Campaign:
    """A draft goes live: running when its start has come, else scheduled (the tick starts it).
    It needs at least one action and an end still ahead."""
    locked = _locked(campaign.pk)
    _refuse_unless(locked, Status.DRAFT)
    actions = list(locked.actions.all())
    if not actions:
        raise errors.CAMPAIGN_ACTION_INVALID(field="actions", kind="")
    campaign_validate(locked, actions)
    _may_move_balances(actor, actions)
    now = timezone.now()
    if locked.ends_at is not None and locked.ends_at <= now:
        raise errors.CAMPAIGN_SCHEDULE_INVALID(field="ends_at")
    _set_status(locked, Status.RUNNING if locked.starts_at <= now else Status.SCHEDULED)
    _audit_status(actor, locked, "campaign.launch", Status.DRAFT)
    _tick_soon(locked)
    return locked


def _may_move_balances(actor, actions: Iterable[CampaignAction]) -> None:
    """CAMPAIGN_BALANCES_FORBIDDEN for staff without BALANCES_PERMISSION (a marketing role)
    when an action gives points or stamps. No actor: the platform itself."""
    if actor is None or actor.has_perm(BALANCES_PERMISSION):
        return
    if any(action.kind in BALANCE_ACTIONS for action in actions):
        raise errors.CAMPAIGN_BALANCES_FORBIDDEN()


def _tick_soon(campaign: Campaign) -> None:
    """A campaign that runs now starts its grants and messages once this commits, not at the
    next beat (which would do the same, as the tick is idempotent)."""
    if campaign.status != Status.RUNNING:
        return
    from loyalty_platform.campaigns.tasks import campaigns_tick  # tasks imports this module

    task_send_on_commit(campaigns_tick)


@transaction.atomic
def campaign_pause(*, actor, campaign: Campaign) -> Campaign:
    """Boosts stop at once; grants and messages wait (a chunk under way finishes)."""
    locked = _locked(campaign.pk)
    before = locked.status
    _refuse_unless(locked, Status.SCHEDULED, Status.RUNNING)
    _set_status(locked, Status.PAUSED, paused_at=timezone.now())
    _audit_status(actor, locked, "campaign.pause", before)
    return locked


@transaction.atomic
def campaign_resume(*, actor, campaign: Campaign) -> Campaign:
    """Back to running (scheduled while its start is ahead); the next tick carries on from the
    runs' cursors. A campaign whose end passed while paused ends instead (at the tick)."""
    locked = _locked(campaign.pk)
    _refuse_unless(locked, Status.PAUSED)
    _may_move_balances(actor, locked.actions.all())
    status = Status.RUNNING if locked.starts_at <= timezone.now() else Status.SCHEDULED
    _set_status(locked, status, paused_at=None)
    _audit_status(actor, locked, "campaign.resume", Status.PAUSED)
    _tick_soon(locked)
    return locked


@transaction.atomic
def campaign_cancel(*, actor, campaign: Campaign) -> Campaign:
    """No new grants, messages or boosts; what was granted stays. The open runs are locked and
    cancelled, so a grant chunk under way finishes first and none starts after this commits."""
    locked = _locked(campaign.pk)
    before = locked.status
    _refuse_unless(locked, Status.DRAFT, Status.SCHEDULED, Status.RUNNING, Status.PAUSED)
    now = timezone.now()
    for run in (
        CampaignRun.objects.select_for_update(no_key=True)
        .filter(campaign=locked, status__in=OPEN_RUN_STATUSES)
        .order_by("pk")
    ):
        run.status = CampaignRun.Status.CANCELLED
        run.finished_at = now
        run.save(update_fields=["status", "finished_at"])
    _set_status(locked, Status.CANCELLED, cancelled_at=now)
    _audit_status(actor, locked, "campaign.cancel", before)
    return locked


def campaign_end(*, campaign: Campaign) -> Campaign:
    """The tick's: a running or paused campaign whose end passed; its open runs close."""
    with transaction.atomic():
        locked = _locked(campaign.pk)
        if locked.status not in (Status.RUNNING, Status.PAUSED, Status.SCHEDULED):
            return locked
        now = timezone.now()
        for run in (
            CampaignRun.objects.select_for_update(no_key=True)
            .filter(campaign=locked, status__in=OPEN_RUN_STATUSES)
            .order_by("pk")
        ):
            run.status = CampaignRun.Status.CLOSED
            run.finished_at = now
            run.save(update_fields=["status", "finished_at"])
        before = locked.status
        _set_status(locked, Status.ENDED)
        _audit_status(None, locked, "campaign.end", before)
        return locked


def campaign_start(*, campaign: Campaign) -> Campaign:
    """The tick's: a scheduled campaign whose start came."""
    with transaction.atomic():
        locked = _locked(campaign.pk)
        if locked.status == Status.SCHEDULED and locked.starts_at <= timezone.now():
            _set_status(locked, Status.RUNNING)
            _audit_status(None, locked, "campaign.start", Status.SCHEDULED)
        return locked


def customer_unsubscribe(*, customer_id: int, campaign_id: int | None) -> bool:
    """Withdraw a customer's marketing consent through a campaign email's link, once: True when
    it was withdrawn now, False when it already was (nothing recorded twice)."""
    with transaction.atomic():
        customer = Customer.objects.select_for_update().filter(pk=customer_id).first()
        if customer is None or customer.consent_marketing_at is None:
            return False
        # Campaigns send email: the link withdraws the email channel's consent, SMS stays.
        now = timezone.now()
        customer.consent_marketing_at = None
        customer.save(update_fields=["consent_marketing_at", "updated_at"])
        ConsentEvent.objects.create(
            customer=customer,
            channel=ConsentEvent.Channel.EMAIL,
            given=False,
            source=ConsentEvent.Source.UNSUBSCRIBE,
            created_at=now,
        )
        customer_updated_record(customer, changed=["consent_marketing"])
        campaign = Campaign.objects.filter(pk=campaign_id).first() if campaign_id else None
        CampaignUnsubscribe.objects.create(campaign=campaign, customer=customer)
        audit_record(
            actor=None,
            action="customer.unsubscribe",
            target=customer,
            details={"campaign": campaign.pk if campaign else None},
        )
        return True
