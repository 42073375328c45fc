"""What organizations used (tenants.models.UsageDay), for the operator's console and the
owner's plan page, and the tasks that fill it: the flush of the Redis counters
(core.metering) and the daily measurement of customers and storage."""

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db import DatabaseError, connection, transaction
from django.db.models import Max, Sum
from django.utils import timezone

from loyalty_platform.core import redis as lp_redis
from loyalty_platform.core.metering import KEEP_SECONDS, METRICS, usage_day, usage_key
from loyalty_platform.customers.models import Customer
from tenants.models import Organization, UsageDay

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class MonthUsage:
    api_calls: int = 0
    messages: int = 0
    # The latest measurement in the month (None when nothing was measured yet).
    customers: int | None = None
    storage_bytes: int | None = None


def month_start(day: date) -> date:
    return day.replace(day=1)


def usage_this_month(*, organization_ids: list[int], today: date) -> dict[int, MonthUsage]:
    """Each organization's calls and messages from the first of `today`'s month, with its
    latest customer and storage measurement; organizations without rows are left out."""
    rows = (
        UsageDay.objects.filter(
            organization_id__in=organization_ids, day__gte=month_start(today), day__lte=today
        )
        .values("organization_id")
        .annotate(api_calls=Sum("api_calls"), messages=Sum("messages"), last_day=Max("day"))
    )
    totals = {row["organization_id"]: row for row in rows}
    measured = {
        row["organization_id"]: row
        for row in UsageDay.objects.filter(
            organization_id__in=list(totals), day__gte=month_start(today), day__lte=today
        )
        .exclude(customers__isnull=True)
        .order_by("organization_id", "-day")
        .distinct("organization_id")
        .values("organization_id", "customers", "storage_bytes")
    }
    return {
        organization_id: MonthUsage(
            api_calls=row["api_calls"] or 0,
            messages=row["messages"] or 0,
            customers=measured.get(organization_id, {}).get("customers"),
            storage_bytes=measured.get(organization_id, {}).get("storage_bytes"),
        )
        for organization_id, row in totals.items()
    }


# --- Moving the Redis counters into UsageDay ----------------------------------------------------

# Counters of today and of every earlier day Redis still keeps are taken, so a day's last
# minutes are flushed after midnight too, and a flush that could not run for a week catches up.
FLUSH_DAYS = KEEP_SECONDS // (24 * 3600)
FLUSH_CHUNK = 500  # organizations per transaction

_ADD_COUNTS = f"""
INSERT INTO {UsageDay._meta.db_table} (organization_id, day, api_calls, messages)
VALUES (%s, %s, %s, %s)
ON CONFLICT (organization_id, day) DO UPDATE SET
    api_calls = {UsageDay._meta.db_table}.api_calls + EXCLUDED.api_calls,
    messages = {UsageDay._meta.db_table}.messages + EXCLUDED.messages
"""  # noqa: S608 (the table name is the model's)


@dataclass(frozen=True)
class _Taken:
    organization_id: int
    day: date
    metric: str
    key: str
    amount: int


def _take(organizations: list[tuple[int, str]], days: list[date]) -> list[_Taken]:
    """Read and delete the chunk's counters at once (GETDEL): a call counted after this
    lands in a new counter, for the next flush."""
    wanted = [
        (organization_id, day, metric, usage_key(schema_name, day, metric))
        for organization_id, schema_name in organizations
        for day in days
        for metric in METRICS
    ]
    pipeline = lp_redis.client().pipeline(transaction=True)
    for *_, key in wanted:
        pipeline.getdel(key)
    values = pipeline.execute()
    return [
        _Taken(organization_id, day, metric, key, int(value))
        for (organization_id, day, metric, key), value in zip(wanted, values, strict=True)
        if value is not None and int(value) != 0
    ]


def _give_back(taken: list[_Taken]) -> None:
    """After the database refused them: the counts go back into Redis, added to whatever
    was counted meanwhile, for the next flush."""
    pipeline = lp_redis.client().pipeline(transaction=True)
    for item in taken:
        pipeline.incrby(item.key, item.amount)
        pipeline.expire(item.key, KEEP_SECONDS)
    pipeline.execute()


def _store(taken: list[_Taken], now: datetime) -> None:
    rows: dict[tuple[int, date], dict[str, int]] = {}
    for item in taken:
        rows.setdefault((item.organization_id, item.day), dict.fromkeys(METRICS, 0))[item.metric] = (
            item.amount
        )
    with transaction.atomic(), connection.cursor() as cursor:
        for (organization_id, day), counts in sorted(rows.items()):
            cursor.execute(_ADD_COUNTS, [organization_id, day, counts["api_calls"], counts["messages"]])
        active = sorted({item.organization_id for item in taken})
        Organization.objects.filter(pk__in=active).update(last_activity_at=now)


def usage_flush(*, now: datetime | None = None) -> int:
    """Add every organization's Redis counters (API calls, messages) of the last FLUSH_DAYS
    days to its UsageDay rows and empty them; returns how many counters moved.

    Each chunk is taken from Redis and added in one database transaction; if the database
    refuses it, the chunk's counts go back into Redis and the error is raised, so a count is
    never lost or added twice (short of the process dying between the two steps)."""
    now = now or timezone.now()
    today = usage_day(now)
    days = [today - timedelta(days=back) for back in range(FLUSH_DAYS)]
    organizations = list(Organization.objects.order_by("pk").values_list("pk", "schema_name"))
    moved = 0
    for start in range(0, len(organizations), FLUSH_CHUNK):
        taken = _take(organizations[start : start + FLUSH_CHUNK], days)
        if not taken:
            continue
        try:
            _store(taken, now)
        except DatabaseError:
            _give_back(taken)
            raise
        moved += len(taken)
    return moved  # the flush_usage job logs the count


_MEASURE = f"""
INSERT INTO {UsageDay._meta.db_table} (organization_id, day, api_calls, messages, customers, storage_bytes)
VALUES (%s, %s, 0, 0, %s, %s)
ON CONFLICT (organization_id, day) DO UPDATE SET
    customers = EXCLUDED.customers, storage_bytes = EXCLUDED.storage_bytes
"""  # noqa: S608 (the table name is the model's)

_SCHEMA_BYTES = """
SELECT COALESCE(SUM(pg_total_relation_size(c.oid)), 0)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = %s AND c.relkind IN ('r', 'm', 'p')
"""


def usage_measure(*, organization: Organization, now: datetime | None = None) -> UsageDay:
    """Measure the organization's members and the bytes of its schema's tables (with their
    indexes and TOAST) into today's UsageDay row; run in its schema. Measuring again the same
    day replaces the measurement."""
    if connection.schema_name != organization.schema_name:
        raise RuntimeError("usage_measure runs in the organization's own schema")
    day = usage_day(now or timezone.now())
    customers = Customer.objects.exclude(status=Customer.Status.DELETED).count()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_SCHEMA_BYTES, [organization.schema_name])
        storage_bytes = int(cursor.fetchone()[0])
        cursor.execute(_MEASURE, [organization.pk, day, customers, storage_bytes])
    return UsageDay.objects.get(organization=organization, day=day)
