"""Recording events (docs/decisions/0049-outgoing-webhooks.md). A service calls `event_record`
inside the transaction of its change: the event and one delivery per enabled endpoint that
subscribes to its type are written by one statement, so a committed change always has its
event and a rolled-back one never had it. Nothing is written, and nothing is read but a cached
set, while no endpoint subscribes to the type. After commit a delivery task is queued, at most
one per organization at a time."""

from __future__ import annotations

import functools
import json
import uuid
from datetime import datetime

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.utils import timezone

from loyalty_platform.core.schema_cache import schema_cached
from loyalty_platform.webhooks.events import EVENT_TYPES
from loyalty_platform.webhooks.models import ALL_EVENTS, WebhookEndpoint

SUBSCRIBED_CACHE_KEY = "webhooks:subscribed"

_ENDPOINT_TABLE = WebhookEndpoint._meta.db_table
_TARGETS_SQL = (
    f"SELECT id FROM {_ENDPOINT_TABLE} "  # noqa: S608
    "WHERE is_enabled AND (%(type)s::varchar = ANY(event_types) OR '*' = ANY(event_types))"
)
_DELIVERY_COLUMNS = (
    "event_id, endpoint_id, ordering_key, status, attempts, attempts_total, next_attempt_at, created_at"
)
_RECORD_SQL = (
    f"WITH target AS ({_TARGETS_SQL}), "  # noqa: S608
    "event AS (INSERT INTO webhooks_webhookevent (event_id, type, customer_id, occurred_at, data) "
    "SELECT %(event_id)s::uuid, %(type)s::varchar, %(customer_id)s::bigint, %(at)s::timestamptz, "
    "%(data)s::jsonb "
    "WHERE EXISTS (SELECT 1 FROM target) RETURNING id, customer_id) "
    f"INSERT INTO webhooks_webhookdelivery ({_DELIVERY_COLUMNS}) "
    "SELECT event.id, target.id, event.customer_id, 'pending', 0, 0, %(at)s::timestamptz, "
    "%(at)s::timestamptz FROM event, target"
)
_RECORD_MANY_SQL = (
    f"WITH target AS ({_TARGETS_SQL}), "  # noqa: S608
    "row AS (SELECT * FROM unnest(%(event_ids)s::uuid[], %(customer_ids)s::bigint[], %(data)s::text[]) "
    "AS r(event_id, customer_id, data)), "
    "event AS (INSERT INTO webhooks_webhookevent (event_id, type, customer_id, occurred_at, data) "
    "SELECT row.event_id, %(type)s, row.customer_id, %(at)s, row.data::jsonb FROM row "
    "WHERE EXISTS (SELECT 1 FROM target) RETURNING id, customer_id) "
    f"INSERT INTO webhooks_webhookdelivery ({_DELIVERY_COLUMNS}) "
    "SELECT event.id, target.id, event.customer_id, 'pending', 0, 0, %(at)s, %(at)s FROM event, target"
)


def subscribed_event_types() -> frozenset[str]:
    """The event types some enabled endpoint of this organization receives (ALL_EVENTS among
    them when one receives everything), cached per schema; webhooks.signals forgets it."""

    def load() -> frozenset[str]:
        types: set[str] = set()
        enabled = WebhookEndpoint.objects.filter(is_enabled=True)
        for event_types in enabled.values_list("event_types", flat=True):
            types.update(event_types)
        return frozenset(types)

    return schema_cached(SUBSCRIBED_CACHE_KEY, load)


def is_subscribed(event_type: str) -> bool:
    types = subscribed_event_types()
    return event_type in types or ALL_EVENTS in types


def _json(data: dict) -> str:
    return json.dumps(data, cls=DjangoJSONEncoder, separators=(",", ":"))


def _require_transaction(event_type: str) -> None:
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown webhook event type {event_type!r}")
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("webhook events are recorded inside the transaction of their change")


def event_record(
    event_type: str, *, data: dict, customer_id: int | None = None, occurred_at: datetime | None = None
) -> None:
    """Record one event of the current transaction's change. `data` is the documented payload
    (docs/webhooks.md); Decimals, dates and UUIDs become strings."""
    _require_transaction(event_type)
    if not is_subscribed(event_type):
        return
    # Prepared: it may run on every till's earn (docs/decisions/0024-prepared-hot-statements.md).
    with connection.prepared_cursor() as cursor:
        cursor.execute(
            _RECORD_SQL,
            {
                "type": event_type,
                "event_id": uuid.uuid4(),
                "customer_id": customer_id,
                "at": occurred_at or timezone.now(),
                "data": _json(data),
            },
        )
        if cursor.rowcount:
            deliveries_kick_on_commit()


def events_record_many(
    event_type: str, events: list[tuple[int | None, dict]], *, occurred_at: datetime | None = None
) -> None:
    """Record many events of one type in one statement (a job's chunk): (customer_id, data) each."""
    _require_transaction(event_type)
    if not events or not is_subscribed(event_type):
        return
    with connection.cursor() as cursor:
        cursor.execute(
            _RECORD_MANY_SQL,
            {
                "type": event_type,
                "at": occurred_at or timezone.now(),
                "event_ids": [uuid.uuid4() for _ in events],
                "customer_ids": [customer_id for customer_id, _ in events],
                "data": [_json(data) for _, data in events],
            },
        )
        if cursor.rowcount:
            deliveries_kick_on_commit()


def deliveries_kick_on_commit() -> None:
    """After commit, queue the organization's delivery task unless one is queued already
    (webhooks.delivery.deliveries_kick); once per transaction however many events it holds."""
    schema_name = connection.schema_name
    for _, callback, _ in connection.run_on_commit:
        if getattr(callback, "webhooks_kick_schema", None) == schema_name:
            return

    from loyalty_platform.webhooks.delivery import deliveries_kick  # delivery imports this module

    callback = functools.partial(deliveries_kick, schema_name=schema_name)
    callback.webhooks_kick_schema = schema_name
    transaction.on_commit(callback)
