"""The tick and the work of a run: scheduled campaigns start, the current occurrence of each
running one gets its run, its grants and messages go out in chunks by customer id, past-end
runs close and ended campaigns end.

A chunk is one transaction that locks the run row, reads the campaign's status, hands out
the grants (campaigns.grants) or claims the messages (campaigns.messages) and moves the run's
cursor; a killed task resumes after the last committed chunk. A Redis lock per run (its key
carries the schema) keeps a second worker from doing the same chunks meanwhile, but nothing
depends on it: the unique grant and message rows do."""

import secrets
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from loyalty_platform.campaigns import messages
from loyalty_platform.campaigns.grants import GRANT_CHUNK_SIZE, grant_actions
from loyalty_platform.campaigns.models import (
    Campaign,
    CampaignAction,
    CampaignGrant,
    CampaignMessage,
    CampaignRun,
    CampaignRunAudience,
)
from loyalty_platform.campaigns.schedule import occurrence_at
from loyalty_platform.campaigns.segments import segment_customers
from loyalty_platform.campaigns.selectors import organization_zone
from loyalty_platform.campaigns.services import OPEN_RUN_STATUSES, campaign_end, campaign_start
from loyalty_platform.core import redis as lp_redis
from loyalty_platform.customers.models import Customer

WORKING = (CampaignRun.Status.PENDING, CampaignRun.Status.GRANTING)
LOCK_SECONDS = 120


def audience(campaign: Campaign) -> QuerySet[Customer]:
    """Who a campaign is for: its segment's customers, or every active customer."""
    if campaign.segment_id is None:
        return Customer.objects.filter(status=Customer.Status.ACTIVE)
    return segment_customers(campaign.segment)


_AUDIENCE_TABLE = CampaignRunAudience._meta.db_table


def _pass_audience(run: CampaignRun) -> QuerySet[Customer]:
    """Who the run's current pass is for (the run row locked by the caller). A segment is
    evaluated once per pass into CampaignRunAudience, not once per chunk: at a million
    customers one evaluation takes seconds."""
    campaign = run.campaign
    if campaign.segment_id is None:
        return Customer.objects.filter(status=Customer.Status.ACTIVE)
    if run.audience_pass != run.rescans:
        sql, params = segment_customers(campaign.segment).values("pk").query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {_AUDIENCE_TABLE} WHERE run_id = %s", [run.pk])  # noqa: S608
            cursor.execute(
                f"INSERT INTO {_AUDIENCE_TABLE} (run_id, customer_id) "  # noqa: S608
                f"SELECT %s, s.pk FROM ({sql}) AS s ON CONFLICT DO NOTHING",
                [run.pk, *params],
            )
        run.audience_pass = run.rescans
        run.save(update_fields=["audience_pass"])
    members = CampaignRunAudience.objects.filter(run_id=run.pk).values("customer_id")
    return Customer.objects.filter(status=Customer.Status.ACTIVE, pk__in=members)


def _close_run(run_id: int, status: str, now: datetime) -> None:
    with transaction.atomic():
        run = (
            CampaignRun.objects.select_for_update(no_key=True)
            .filter(pk=run_id, status__in=OPEN_RUN_STATUSES)
            .first()
        )
        if run is not None:
            run.status = status
            run.finished_at = now
            run.save(update_fields=["status", "finished_at"])
            CampaignRunAudience.objects.filter(run_id=run.pk).delete()


def tick(now: datetime | None = None) -> list[int]:
    """One beat for the current organization; returns the runs that have grants or messages
    to send (the task queues their work)."""
    now = now or timezone.now()
    for campaign in Campaign.objects.filter(status=Campaign.Status.SCHEDULED, starts_at__lte=now):
        campaign_start(campaign=campaign)
    ending = Campaign.objects.filter(
        status__in=(Campaign.Status.SCHEDULED, Campaign.Status.RUNNING, Campaign.Status.PAUSED),
        ends_at__lte=now,
    )
    for campaign in ending:
        campaign_end(campaign=campaign)
    for run_id in CampaignRun.objects.filter(status__in=OPEN_RUN_STATUSES, ends_at__lte=now).values_list(
        "pk", flat=True
    ):
        _close_run(run_id, CampaignRun.Status.CLOSED, now)
    zone = organization_zone()
    due = []
    # Trigger campaigns get their runs from campaigns.triggers, not from the clock.
    for campaign in Campaign.objects.filter(
        status=Campaign.Status.RUNNING, trigger=Campaign.Trigger.SCHEDULE
    ):
        occurrence = occurrence_at(campaign, now, zone)
        if occurrence is None:
            continue
        run, _ = CampaignRun.objects.get_or_create(
            campaign=campaign,
            key=occurrence.key,
            defaults={"starts_at": occurrence.starts_at, "ends_at": occurrence.ends_at},
        )
        if run.status in WORKING:
            due.append(run.pk)
        elif run.status == CampaignRun.Status.OPEN and _reaches_customers(campaign) and _rescan_due(run.pk):
            _rescan(run.pk)
            due.append(run.pk)
    return due


def _reaches_customers(campaign: Campaign) -> bool:
    """Whether the campaign grants or emails (a boost-only one has nobody to look for)."""
    return campaign.actions.filter(kind__in=(*CampaignAction.GRANTS, CampaignAction.Kind.MESSAGE)).exists()


def _rescan_key(run_id: int) -> str:
    return lp_redis.key("campaign-run-rescan", connection.schema_name, run_id)


def _rescan_due(run_id: int) -> bool:
    """At most once every CAMPAIGN_AUDIENCE_RESCAN_SECONDS per open run, counted from the end
    of its last pass (the Redis key carries the schema)."""
    return bool(
        lp_redis.client().set(_rescan_key(run_id), 1, nx=True, ex=settings.CAMPAIGN_AUDIENCE_RESCAN_SECONDS)
    )


def _rescan(run_id: int) -> None:
    """Customers who entered the audience since the run's grants went out (they enrolled, or
    now meet the segment's rules) get them too: the cursors start again, and the chunks skip
    whoever the run reached before (they hold a grant or message row of the run)."""
    with transaction.atomic():
        run = (
            CampaignRun.objects.select_for_update(no_key=True)
            .filter(pk=run_id, status=CampaignRun.Status.OPEN)
            .first()
        )
        if run is not None:
            run.grant_cursor = run.message_cursor = 0
            run.rescans += 1
            run.status = CampaignRun.Status.GRANTING
            run.save(update_fields=["grant_cursor", "message_cursor", "rescans", "status"])


def _locked_workable_run(run_id: int) -> CampaignRun | None:
    """The run row-locked, when its grants and messages may go on (its campaign running)."""
    run = (
        CampaignRun.objects.select_for_update(of=("self",), no_key=True)
        .select_related("campaign", "campaign__segment")
        .filter(pk=run_id)
        .first()
    )
    if run is None or run.status not in WORKING or run.campaign.status != Campaign.Status.RUNNING:
        return None
    return run


def _actions(run: CampaignRun, kinds) -> list[CampaignAction]:
    return [action for action in run.campaign.actions.order_by("pk") if action.kind in kinds]


def grant_chunk(run_id: int, size: int = GRANT_CHUNK_SIZE) -> int | None:
    """The next chunk of the audience after the run's grant cursor, granted and the cursor
    moved, in one transaction. Returns how many customers it covered (0: grants done), or
    None when the run may not go on (paused, cancelled, closed)."""
    with transaction.atomic():
        run = _locked_workable_run(run_id)
        if run is None:
            return None
        actions = _actions(run, CampaignAction.GRANTS)
        if not actions:
            return 0
        customers = _pass_audience(run).filter(pk__gt=run.grant_cursor)
        if run.rescans:
            customers = customers.exclude(
                Exists(CampaignGrant.objects.filter(run_id=run.pk, customer_id=OuterRef("pk")))
            )
        ids = list(customers.order_by("pk").values_list("pk", flat=True)[:size])
        if not ids:
            return 0
        grant_actions(run=run, actions=actions, customer_ids=ids)
        run.grant_cursor = ids[-1]
        run.status = CampaignRun.Status.GRANTING
        run.save(update_fields=["grant_cursor", "status"])
        return len(ids)


@dataclass(frozen=True)
class MessageBatch:
    customers: int  # 0: messages done
    claimed: list[int]
    retry_in: int | None = None  # seconds, when the organization's rate is used up


def message_batch(run_id: int, size: int = messages.MESSAGE_BATCH_SIZE) -> MessageBatch | None:
    """The next consenting customers after the run's message cursor: their message rows
    claimed (as many as the organization's rate allows now) and the cursor moved, in one
    transaction. The emails go out after it commits (messages.send_claimed)."""
    with transaction.atomic():
        run = _locked_workable_run(run_id)
        if run is None:
            return None
        actions = _actions(run, (CampaignAction.Kind.MESSAGE,))
        if not actions:
            return MessageBatch(customers=0, claimed=[])
        reservation = messages.rate_reserve(size * len(actions))
        allowed = reservation.granted
        if allowed < len(actions):
            messages.rate_release(reservation, allowed)
            return MessageBatch(customers=0, claimed=[], retry_in=reservation.retry_in)
        customers = messages.reachable(_pass_audience(run)).filter(pk__gt=run.message_cursor)
        if run.rescans:
            customers = customers.exclude(
                Exists(CampaignMessage.objects.filter(run_id=run.pk, customer_id=OuterRef("pk")))
            )
        ids = list(customers.order_by("pk").values_list("pk", flat=True)[: allowed // len(actions)])
        claimed = []
        for action in actions:
            claimed += messages.claim(run=run, action=action, customer_ids=ids)
        messages.rate_release(reservation, allowed - len(claimed))
        if ids:
            run.message_cursor = ids[-1]
            run.status = CampaignRun.Status.GRANTING
            run.save(update_fields=["message_cursor", "status"])
        return MessageBatch(customers=len(ids), claimed=claimed)


def _finish(run_id: int) -> None:
    with transaction.atomic():
        run = _locked_workable_run(run_id)
        if run is not None:
            run.status = CampaignRun.Status.OPEN
            run.audience_pass = None  # the next pass takes the audience afresh
            run.save(update_fields=["status", "audience_pass"])
            CampaignRunAudience.objects.filter(run_id=run.pk).delete()
    lp_redis.client().set(_rescan_key(run_id), 1, ex=settings.CAMPAIGN_AUDIENCE_RESCAN_SECONDS)


@dataclass(frozen=True)
class Outcome:
    state: str  # "done", "stopped" (not workable), "busy" (another worker holds it), "later"
    again_in: int | None = None


def _lock_key(run_id: int) -> str:
    return lp_redis.key("campaign-run", connection.schema_name, run_id)


def run_work(run_id: int, *, max_chunks: int | None = None, use_lock: bool = True) -> Outcome:
    """Grants, then messages, chunk after chunk, until the run is done, stops, or the rate
    limit asks to come back later. `max_chunks` bounds the grant chunks (tests stop half-way)."""
    token = secrets.token_hex(8)
    client = lp_redis.client()
    if use_lock and not client.set(_lock_key(run_id), token, nx=True, ex=LOCK_SECONDS):
        return Outcome("busy")
    try:
        left_over = messages.send_left_over(run_id)
        if left_over.retry_in is not None:
            return Outcome("later", again_in=left_over.retry_in)
        chunks = 0
        while True:
            if max_chunks is not None and chunks >= max_chunks:
                return Outcome("later")
            covered = grant_chunk(run_id)
            chunks += 1
            if covered is None:
                return Outcome("stopped")
            if use_lock:
                client.expire(_lock_key(run_id), LOCK_SECONDS)
            if covered == 0:
                break
        while True:
            batch = message_batch(run_id)
            if batch is None:
                return Outcome("stopped")
            messages.send_claimed(batch.claimed)
            if batch.retry_in is not None:
                return Outcome("later", again_in=batch.retry_in)
            if use_lock:
                client.expire(_lock_key(run_id), LOCK_SECONDS)
            if batch.customers == 0:
                break
        _finish(run_id)
        return Outcome("done")
    finally:
        if use_lock and client.get(_lock_key(run_id)) == token.encode():
            client.delete(_lock_key(run_id))
