"""Delivering the outbox (docs/decisions/0049-outgoing-webhooks.md).

A run (`deliveries_deliver`, the organization's Celery task) takes due deliveries in short
transactions and sends them on a thread pool; the threads only sign and send, the run's own
thread reads and writes the database.

- **Claiming.** Due rows (pending, next_attempt_at passed, no live lease, endpoint enabled)
  are locked with SKIP LOCKED, so workers running at once take different rows. A claimed row
  gets a lease (claimed_until, WEBHOOK_LEASE_SECONDS): no one else takes it until then. Rows
  are taken as threads free up, never more than a thread can start at once, so a lease only
  has to cover one send; at most WEBHOOK_ENDPOINT_IN_FLIGHT per endpoint, so a slow endpoint
  cannot hold every thread.
- **Order per customer.** Deliveries to one endpoint with the same ordering_key (the
  customer) form a chain sent one at a time in id order: only the earliest pending row of a
  chain is sent. A later one met while its head is pending is parked: its next_attempt_at
  moves to when the head is tried next, so it is not read on every look. When the head
  finishes (success or final failure) the next row of its chain is due at once.
- **Recording.** Outcomes are written in small groups, each row on condition that it still
  carries this attempt's number (attempts_total): a worker that was presumed dead cannot
  overwrite a newer attempt. A row whose lease passed without an outcome (its worker died
  between sending and recording) gets a "lost" entry in the log when it is taken again, and
  is sent again with the same webhook-id: at most one extra send per crash.
- **Failures.** After a failed attempt the next one waits WEBHOOK_RETRY_DELAYS[attempt - 1];
  after the last, the delivery has failed. An endpoint failing for
  WEBHOOK_DISABLE_AFTER_FAILING_DAYS is disabled and its owners emailed (webhooks.
  notifications). PostgreSQL and Redis faults propagate (core.jobs retries the run); a
  failing receiver is only a failed attempt.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django_tenants.utils import schema_context

from loyalty_platform.audit.services import audit_record
from loyalty_platform.core import redis as lp_redis
from loyalty_platform.core.faults import REDIS_FAULTS, BrokerError
from loyalty_platform.webhooks import notifications, sender
from loyalty_platform.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent
from loyalty_platform.webhooks.outbox import deliveries_kick_on_commit
from loyalty_platform.webhooks.signing import event_body, signed_headers, signing_secrets_by_endpoint

logger = logging.getLogger(__name__)

DELIVER_TASK = "loyalty_platform.webhooks.tasks.send_webhooks"
# A queued or running delivery task of the organization holds this key. A run deletes it
# before the look that may be its last, so an event committed after that look queues a task
# again.
KICK_SECONDS = 120
# Outcomes are written once this many are waiting, or this long after the last write.
RECORD_EVERY = 50
RECORD_SECONDS = 0.2

DISABLED_REASON = "failing_too_long"
# Failures this far apart do not make one failing streak: twice the longest retry delay.
FAILING_GAP_SECONDS = 2 * max(settings.WEBHOOK_RETRY_DELAYS)

_DELIVERY = WebhookDelivery._meta.db_table
_ENDPOINT = WebhookEndpoint._meta.db_table

_DUE_CONDITION = (
    "d.status = 'pending' AND d.next_attempt_at <= %(now)s "
    "AND (d.claimed_until IS NULL OR d.claimed_until < %(now)s) AND e.is_enabled"
)
_DUE_SQL = (
    "SELECT d.id, d.event_id, d.endpoint_id, d.ordering_key, d.claimed_until, d.attempts_total, "  # noqa: S608
    f"d.last_attempt_at FROM {_DELIVERY} d JOIN {_ENDPOINT} e ON e.id = d.endpoint_id "
    f"WHERE {_DUE_CONDITION} AND NOT (d.endpoint_id = ANY(%(busy)s)) AND NOT (d.id = ANY(%(mine)s)) "
    "ORDER BY d.next_attempt_at, d.id LIMIT %(limit)s FOR UPDATE OF d SKIP LOCKED"
)
_ANY_DUE_SQL = (
    f"SELECT EXISTS (SELECT 1 FROM {_DELIVERY} d JOIN {_ENDPOINT} e ON e.id = d.endpoint_id "  # noqa: S608
    f"WHERE {_DUE_CONDITION})"
)
# The earliest pending delivery of each (endpoint, ordering_key): one probe of
# webhook_delivery_chain_idx per chain.
_HEADS_SQL = (
    "SELECT p.endpoint_id, p.ordering_key, h.id, h.next_attempt_at, h.claimed_until "  # noqa: S608
    "FROM unnest(%(endpoints)s::bigint[], %(keys)s::bigint[]) AS p(endpoint_id, ordering_key) "
    f"CROSS JOIN LATERAL (SELECT id, next_attempt_at, claimed_until FROM {_DELIVERY} "
    "WHERE status = 'pending' AND endpoint_id = p.endpoint_id AND ordering_key = p.ordering_key "
    "ORDER BY id LIMIT 1) AS h"
)
_CLAIM_SQL = (
    f"UPDATE {_DELIVERY} SET claimed_until = %(lease)s, attempts = attempts + 1, "  # noqa: S608
    "attempts_total = attempts_total + 1, last_attempt_at = %(now)s "
    "WHERE id = ANY(%(ids)s) RETURNING id, attempts, attempts_total"
)
_PARK_SQL = (
    f"UPDATE {_DELIVERY} AS d SET next_attempt_at = p.at "  # noqa: S608
    "FROM unnest(%(ids)s::bigint[], %(ats)s::timestamptz[]) AS p(id, at) WHERE d.id = p.id"
)
# After a head's failed attempt: the rest of its chain waits for its retry.
_PARK_CHAINS_SQL = (
    f"UPDATE {_DELIVERY} AS d SET next_attempt_at = p.at "  # noqa: S608
    "FROM unnest(%(endpoints)s::bigint[], %(keys)s::bigint[], %(heads)s::bigint[], "
    "%(ats)s::timestamptz[]) AS p(endpoint_id, ordering_key, head, at) "
    "WHERE d.status = 'pending' AND d.endpoint_id = p.endpoint_id "
    "AND d.ordering_key = p.ordering_key AND d.id <> p.head AND d.next_attempt_at < p.at"
)
# After a head finished: the chain's next row is due now. (Only that one: the rest wake at
# the time they were parked to and are parked again behind the new head, instead of the
# whole chain being read after every delivery.)
_UNPARK_CHAINS_SQL = (
    f"UPDATE {_DELIVERY} AS d SET next_attempt_at = %(now)s FROM ("  # noqa: S608
    "SELECT h.id FROM unnest(%(endpoints)s::bigint[], %(keys)s::bigint[]) AS p(endpoint_id, ordering_key) "
    f"CROSS JOIN LATERAL (SELECT id FROM {_DELIVERY} WHERE status = 'pending' "
    "AND endpoint_id = p.endpoint_id AND ordering_key = p.ordering_key ORDER BY id LIMIT 1) AS h"
    ") AS n WHERE d.id = n.id AND d.next_attempt_at > %(now)s"
)
# A group's outcomes in one statement; a row no longer carrying this attempt's number (taken
# again after its lease) is left alone and missing from what it returns.
_RECORD_SQL = (
    f"UPDATE {_DELIVERY} AS d SET "  # noqa: S608
    "status = CASE p.kind WHEN 'retry' THEN 'pending' ELSE p.kind END, "
    "succeeded_at = CASE WHEN p.kind = 'succeeded' THEN %(now)s ELSE d.succeeded_at END, "
    "next_attempt_at = CASE WHEN p.kind = 'retry' THEN p.retry_at ELSE d.next_attempt_at END, "
    "claimed_until = NULL, last_response_status = p.status "
    "FROM unnest(%(ids)s::bigint[], %(numbers)s::bigint[], %(kinds)s::varchar[], "
    "%(statuses)s::integer[], %(retry_ats)s::timestamptz[]) AS p(id, number, kind, status, retry_at) "
    "WHERE d.id = p.id AND d.attempts_total = p.number AND d.status = 'pending' RETURNING d.id"
)


def kick_key(schema_name: str) -> str:
    return lp_redis.key("webhooks-kick", schema_name)


def deliveries_kick(*, schema_name: str) -> None:
    """Queue the organization's delivery task unless one holds the kick key. With Redis
    unreachable nothing is queued: the minute's sweep (beat "deliver-webhooks") delivers."""
    from loyalty_platform.celery import app

    try:
        if not lp_redis.client().set(kick_key(schema_name), b"1", nx=True, ex=KICK_SECONDS):
            return
        with schema_context(schema_name):
            app.send_task(DELIVER_TASK)
    except (BrokerError, *REDIS_FAULTS) as error:
        logger.warning("webhook deliveries of %s not queued (%s): the sweep sends them", schema_name, error)
        # No task holds the key: the next commit may try again.
        _kick_key_release(schema_name)


def _kick_key_release(schema_name: str) -> None:
    try:
        lp_redis.client().delete(kick_key(schema_name))
    except REDIS_FAULTS as error:
        # It expires by itself (KICK_SECONDS); the sweep delivers meanwhile.
        logger.warning("webhook kick key of %s not released (%s)", schema_name, error)


def lease_seconds() -> float:
    return settings.WEBHOOK_LEASE_SECONDS


def deliveries_redeliver(deliveries: QuerySet[WebhookDelivery], *, now: datetime | None = None) -> int:
    """Send these deliveries again from a new round of attempts (the portal's "redeliver"):
    delivered and failed ones, and pending ones not being sent right now (those are tried at
    once). Same event, same webhook-id; the log keeps numbering. A redelivered event is sent
    on its own, not in its customer's order (it would hold up the customer's newer events).
    Call it in the staff action's transaction; the delivery task is queued on commit. The
    number of deliveries reset."""
    now = now or timezone.now()
    chosen = deliveries.filter(
        Q(status__in=[WebhookDelivery.Status.SUCCEEDED, WebhookDelivery.Status.FAILED])
        | Q(status=WebhookDelivery.Status.PENDING, claimed_until__isnull=True)
        # A lease that passed: its worker died. Kept, so the next claim logs the lost attempt.
        | Q(status=WebhookDelivery.Status.PENDING, claimed_until__lt=now)
    )
    # A pending one may head its customer's chain: leaving it, it lets the next one go now.
    chains = set(
        chosen.filter(status=WebhookDelivery.Status.PENDING, ordering_key__isnull=False).values_list(
            "endpoint_id", "ordering_key"
        )
    )
    reset = chosen.update(
        status=WebhookDelivery.Status.PENDING,
        attempts=0,
        next_attempt_at=now,
        ordering_key=None,
        succeeded_at=None,
    )
    if chains:
        with connection.cursor() as cursor:
            cursor.execute(
                _UNPARK_CHAINS_SQL,
                {
                    "endpoints": [chain[0] for chain in chains],
                    "keys": [chain[1] for chain in chains],
                    "now": now,
                },
            )
    if reset:
        deliveries_kick_on_commit()
    return reset


@dataclass(frozen=True)
class _Claimed:
    id: int
    endpoint_id: int
    ordering_key: int | None
    attempts: int
    number: int  # attempts_total after the claim: this attempt's row in the log
    url: str
    secrets: list[str]
    event_public_id: str
    body: bytes


@dataclass(frozen=True)
class _Sent:
    claimed: _Claimed
    started_at: datetime
    headers: dict[str, str]
    outcome: sender.Outcome


def _attempt(claimed: _Claimed) -> _Sent:
    """On a sending thread: sign at this moment and send. No database here."""
    started_at = timezone.now()
    headers = signed_headers(
        event_public_id=claimed.event_public_id, body=claimed.body, secrets=claimed.secrets, at=started_at
    )
    outcome = sender.send(claimed.url, headers, claimed.body)
    return _Sent(claimed=claimed, started_at=started_at, headers=headers, outcome=outcome)


def _log_text(data: bytes) -> str:
    # PostgreSQL's text holds no NUL: a receiver's binary answer must not fail the record.
    return data.decode("utf-8", errors="replace").replace("\x00", "\ufffd")


class _Run:
    def __init__(self, *, budget_seconds: float) -> None:
        self.schema_name = connection.schema_name
        self.organization = connection.tenant
        self.deadline = time.monotonic() + budget_seconds
        self.threads = max(1, settings.WEBHOOK_SEND_THREADS)
        self.endpoint_cap = max(1, settings.WEBHOOK_ENDPOINT_IN_FLIGHT)
        self.in_flight: dict[Future, _Claimed] = {}
        self.per_endpoint: Counter[int] = Counter()
        self.finished: list[_Sent] = []
        self.recorded_at = time.monotonic()
        self.counts = Counter(sent=0, succeeded=0, retried=0, failed=0, lost=0, parked=0, stale=0, disabled=0)

    # --- claiming -------------------------------------------------------------------------

    def _look(self, free: int) -> list[_Claimed]:
        """Take up to `free` due deliveries, parking the ones that wait for their chain."""
        now = timezone.now()
        lease_until = now + timedelta(seconds=lease_seconds())
        busy = [endpoint for endpoint, count in self.per_endpoint.items() if count >= self.endpoint_cap]
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                _DUE_SQL,
                {
                    "now": now,
                    "busy": busy,
                    # Its own sends still running past their lease are not taken again.
                    "mine": [item.id for item in self.in_flight.values()],
                    "limit": min(free, settings.WEBHOOK_BATCH_SIZE),
                },
            )
            rows = cursor.fetchall()
            if not rows:
                return []
            chains = {(row[2], row[3]) for row in rows if row[3] is not None}
            heads = {}
            if chains:
                cursor.execute(
                    _HEADS_SQL,
                    {"endpoints": [chain[0] for chain in chains], "keys": [chain[1] for chain in chains]},
                )
                heads = {
                    (endpoint, key): (head, at, until) for endpoint, key, head, at, until in cursor.fetchall()
                }
            kept, parked = [], []
            taken: Counter[int] = Counter()
            for row in rows:
                delivery_id, _event, endpoint_id, key = row[:4]
                if key is not None and heads[(endpoint_id, key)][0] != delivery_id:
                    parked.append((delivery_id, (endpoint_id, key)))
                    continue
                if self.per_endpoint[endpoint_id] + taken[endpoint_id] >= self.endpoint_cap:
                    continue  # left as it is: the next look takes it
                taken[endpoint_id] += 1
                kept.append(row)
            kept_chains = {(row[2], row[3]) for row in kept if row[3] is not None}
            park_ids, park_ats = [], []
            for delivery_id, chain in parked:
                _head, head_at, head_until = heads[chain]
                if chain in kept_chains:
                    at = lease_until
                elif head_until is not None and head_until > now:
                    at = head_until
                else:
                    at = head_at
                park_ids.append(delivery_id)
                park_ats.append(at)
            if park_ids:
                cursor.execute(_PARK_SQL, {"ids": park_ids, "ats": park_ats})
                self.counts["parked"] += len(park_ids)
            if not kept:
                return []
            cursor.execute(_CLAIM_SQL, {"ids": [row[0] for row in kept], "lease": lease_until, "now": now})
            claimed_numbers = {
                delivery_id: (attempts, total) for delivery_id, attempts, total in cursor.fetchall()
            }
            claimed = self._prepare(kept, claimed_numbers, now)
            self._log_lost(kept, claimed, now)
        return claimed

    def _prepare(self, rows: list, numbers: dict[int, tuple[int, int]], now: datetime) -> list[_Claimed]:
        endpoint_ids = {row[2] for row in rows}
        urls = dict(WebhookEndpoint.objects.filter(pk__in=endpoint_ids).values_list("pk", "url"))
        secrets = signing_secrets_by_endpoint(endpoint_ids, now=now)
        events = WebhookEvent.objects.in_bulk({row[1] for row in rows})
        slug = self.organization.slug
        claimed = []
        for delivery_id, event_id, endpoint_id, key, *_rest in rows:
            attempts, number = numbers[delivery_id]
            event = events[event_id]
            claimed.append(
                _Claimed(
                    id=delivery_id,
                    endpoint_id=endpoint_id,
                    ordering_key=key,
                    attempts=attempts,
                    number=number,
                    url=urls[endpoint_id],
                    secrets=secrets.get(endpoint_id, []),
                    event_public_id=event.public_id,
                    body=event_body(event, slug),
                )
            )
        return claimed

    def _log_lost(self, rows: list, claimed: list[_Claimed], now: datetime) -> None:
        """A row taken after its lease passed: the attempt before had no recorded outcome."""
        by_id = {item.id: item for item in claimed}
        lost = [
            WebhookAttempt(
                delivery_id=delivery_id,
                number=previous_number,
                started_at=last_attempt_at or now,
                outcome=WebhookAttempt.Outcome.LOST,
                request_url=by_id[delivery_id].url,
                request_body=_log_text(by_id[delivery_id].body),
            )
            for delivery_id, _event, _endpoint, _key, claimed_until, previous_number, last_attempt_at in rows
            if claimed_until is not None
        ]
        if lost:
            WebhookAttempt.objects.bulk_create(lost)
            self.counts["lost"] += len(lost)

    # --- recording ------------------------------------------------------------------------

    def _record(self, *, force: bool = False) -> None:
        if not self.finished:
            return
        if (
            not force
            and len(self.finished) < RECORD_EVERY
            and time.monotonic() - self.recorded_at < RECORD_SECONDS
        ):
            return
        group, self.finished = self.finished, []
        self.recorded_at = time.monotonic()
        with transaction.atomic():
            self._record_group(group)

    def _record_group(self, group: list[_Sent]) -> None:
        now = timezone.now()
        delays = settings.WEBHOOK_RETRY_DELAYS
        log, unpark, park = [], [], []
        # Per endpoint, in the order the outcomes came: did the last one succeed, and was
        # there a success in this group at all.
        last_succeeded: dict[int, bool] = {}
        any_success: set[int] = set()
        kinds: list[str] = []
        retry_ats: list[datetime | None] = []
        for sent in group:
            claimed, outcome = sent.claimed, sent.outcome
            if outcome.succeeded:
                kinds.append("succeeded")
                retry_ats.append(None)
            elif claimed.attempts < 1 + len(delays):
                kinds.append("retry")
                retry_ats.append(now + timedelta(seconds=delays[claimed.attempts - 1]))
            else:
                kinds.append("failed")
                retry_ats.append(None)
        with connection.cursor() as cursor:
            cursor.execute(
                _RECORD_SQL,
                {
                    "now": now,
                    "ids": [sent.claimed.id for sent in group],
                    "numbers": [sent.claimed.number for sent in group],
                    "kinds": kinds,
                    "statuses": [sent.outcome.status for sent in group],
                    "retry_ats": retry_ats,
                },
            )
            recorded = {row[0] for row in cursor.fetchall()}
            for sent, kind, retry_at in zip(group, kinds, retry_ats, strict=True):
                claimed, outcome = sent.claimed, sent.outcome
                if claimed.id not in recorded:
                    # Taken again after its lease (this worker was presumed dead): that
                    # attempt's outcome is the one kept.
                    self.counts["stale"] += 1
                    continue
                self.counts["retried" if kind == "retry" else kind] += 1
                log.append(self._log_row(sent))
                chain = (claimed.endpoint_id, claimed.ordering_key)
                if claimed.ordering_key is not None:
                    if kind == "retry":
                        park.append((*chain, claimed.id, retry_at))
                    else:
                        unpark.append(chain)
                last_succeeded[claimed.endpoint_id] = outcome.succeeded
                if outcome.succeeded:
                    any_success.add(claimed.endpoint_id)
            if park:
                cursor.execute(
                    _PARK_CHAINS_SQL,
                    {
                        "endpoints": [item[0] for item in park],
                        "keys": [item[1] for item in park],
                        "heads": [item[2] for item in park],
                        "ats": [item[3] for item in park],
                    },
                )
            if unpark:
                cursor.execute(
                    _UNPARK_CHAINS_SQL,
                    {
                        "endpoints": [chain[0] for chain in unpark],
                        "keys": [chain[1] for chain in unpark],
                        "now": now,
                    },
                )
        WebhookAttempt.objects.bulk_create(log)
        self._endpoints_update(last_succeeded, any_success, now)

    def _log_row(self, sent: _Sent) -> WebhookAttempt:
        outcome = sent.outcome
        return WebhookAttempt(
            delivery_id=sent.claimed.id,
            number=sent.claimed.number,
            started_at=sent.started_at,
            duration_ms=outcome.duration_ms,
            outcome=WebhookAttempt.Outcome.SUCCEEDED if outcome.succeeded else WebhookAttempt.Outcome.FAILED,
            request_url=sent.claimed.url,
            request_headers=sent.headers,
            request_body=_log_text(sent.claimed.body),
            response_status=outcome.status,
            response_body=_log_text(outcome.response_head),
            error=outcome.error,
        )

    def _endpoints_update(
        self, last_succeeded: dict[int, bool], any_success: set[int], now: datetime
    ) -> None:
        recovered = [endpoint for endpoint, succeeded in last_succeeded.items() if succeeded]
        failing = [endpoint for endpoint, succeeded in last_succeeded.items() if not succeeded]
        endpoints = WebhookEndpoint.objects.filter(pk__in=failing)
        if recovered:
            WebhookEndpoint.objects.filter(pk__in=recovered, failing_since__isnull=False).update(
                failing_since=None
            )
        if not failing:
            return
        # Failing again after a success in this group, or after a quiet spell longer than any
        # retry waits (nothing was tried, so nothing failed): failing from now.
        quiet_since = now - timedelta(seconds=FAILING_GAP_SECONDS)
        endpoints.filter(
            Q(pk__in=any_success)
            | Q(failing_since__isnull=True)
            | Q(last_failed_at__isnull=True)
            | Q(last_failed_at__lt=quiet_since)
        ).update(failing_since=now)
        endpoints.update(last_failed_at=now)
        too_long = now - timedelta(days=settings.WEBHOOK_DISABLE_AFTER_FAILING_DAYS)
        for endpoint in endpoints.filter(is_enabled=True, failing_since__lte=too_long).select_for_update():
            self._disable(endpoint, now)

    def _disable(self, endpoint: WebhookEndpoint, now: datetime) -> None:
        endpoint.is_enabled = False
        endpoint.disabled_at = now
        endpoint.disabled_reason = DISABLED_REASON
        # save(), not update(): the signal forgets the cached set of subscribed types.
        endpoint.save(update_fields=["is_enabled", "disabled_at", "disabled_reason"])
        audit_record(
            actor=None,
            action="webhooks.endpoint_disable",
            target=endpoint,
            details={"reason": DISABLED_REASON, "failing_since": endpoint.failing_since.isoformat()},
        )
        organization, endpoint_id = self.organization, endpoint.pk
        transaction.on_commit(
            lambda: notifications.endpoint_disabled_notify(organization=organization, endpoint_id=endpoint_id)
        )
        self.counts["disabled"] += 1
        logger.warning(
            "webhook endpoint %s of %s disabled: failing since %s",
            endpoint.pk,
            self.schema_name,
            endpoint.failing_since,
        )

    # --- the loop -------------------------------------------------------------------------

    def _collect(self, timeout: float) -> None:
        if not self.in_flight:
            return
        done, _pending = wait(list(self.in_flight), timeout=timeout, return_when=FIRST_COMPLETED)
        for future in done:
            claimed = self.in_flight.pop(future)
            self.per_endpoint[claimed.endpoint_id] -= 1
            self.finished.append(future.result())

    def _any_due(self) -> bool:
        with connection.cursor() as cursor:
            cursor.execute(_ANY_DUE_SQL, {"now": timezone.now()})
            return cursor.fetchone()[0]

    def run(self) -> dict[str, int]:
        # Take rows once this many threads are free (or none is busy): fewer, larger looks.
        bunch = max(1, self.threads // 4)
        last_look = False
        out_of_time = False
        with ThreadPoolExecutor(self.threads, thread_name_prefix=f"webhooks-{self.schema_name}") as pool:
            while True:
                self._collect(timeout=0)
                self._record()
                if time.monotonic() >= self.deadline:
                    out_of_time = True
                    break
                free = self.threads - len(self.in_flight)
                claimed = self._look(free) if free >= bunch or not self.in_flight else []
                for item in claimed:
                    self.in_flight[pool.submit(_attempt, item)] = item
                    self.per_endpoint[item.endpoint_id] += 1
                self.counts["sent"] += len(claimed)
                if claimed:
                    last_look = False
                    continue
                if self.in_flight:
                    self._collect(timeout=RECORD_SECONDS)
                    continue
                self._record(force=True)
                if last_look:
                    break
                # Nothing due and nothing in flight: one more look after giving up the kick
                # key, so that an event committed from here on queues a task again.
                _kick_key_release(self.schema_name)
                last_look = True
            while self.in_flight:
                self._collect(timeout=RECORD_SECONDS)
                self._record()
            self._record(force=True)
        if out_of_time:
            _kick_key_release(self.schema_name)
            if self._any_due():
                deliveries_kick(schema_name=self.schema_name)
        return dict(self.counts)


def deliveries_deliver(*, budget_seconds: float | None = None) -> dict[str, int]:
    """Send what is due in the current organization's schema until nothing is, or for about
    WEBHOOK_RUN_SECONDS (then the task is queued again); counts of what happened."""
    if budget_seconds is None:
        budget_seconds = settings.WEBHOOK_RUN_SECONDS
    return _Run(budget_seconds=budget_seconds).run()
