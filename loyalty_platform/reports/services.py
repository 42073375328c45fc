"""Building the daily rollups. A day's rollup is recomputed from the ledgers and replaces
what was there, so building a day twice, or two workers building at once, leaves the same
rows as building it once."""

from datetime import date, timedelta

from django.db import connection, transaction
from django.utils import timezone

from loyalty_platform.reports import ledgers
from loyalty_platform.reports.models import (
    DailyActiveCustomer,
    DailyActiveGap,
    DailyProgramRollup,
    DailyRewardRollup,
    DailyRollup,
)
from loyalty_platform.reports.periods import days_bounds, local_today

_ROLLUP = DailyRollup._meta.db_table
_ACTIVE = DailyActiveCustomer._meta.db_table
_GAP = DailyActiveGap._meta.db_table

_CLAIM_DAY_SQL = (
    f"INSERT INTO {_ROLLUP} (day, coupons_redeemed, voucher_redemptions, voucher_reversals, built_at) "  # noqa: S608
    "VALUES (%s, 0, 0, 0, %s) ON CONFLICT (day) DO UPDATE SET built_at = EXCLUDED.built_at RETURNING id"
)
_ACTIVE_INSERT_SQL = (
    f"INSERT INTO {_ACTIVE} (day, customer_id) "  # noqa: S608
    f"SELECT %s, customer_id FROM ({ledgers.ACTIVE_CUSTOMERS_LOOKUP_SQL}) AS active "
    "WHERE customer_id IS NOT NULL"
)
# Each active customer of the day by the days since their previous rolled active day.
_GAP_INSERT_SQL = (
    f"INSERT INTO {_GAP} (day, gap, customers) SELECT %(day)s, COALESCE(%(day)s - ("  # noqa: S608
    f"SELECT max(p.day) FROM {_ACTIVE} p WHERE p.customer_id = a.customer_id AND p.day < %(day)s"
    f"), {DailyActiveGap.FIRST_TIME}), count(*) FROM {_ACTIVE} a WHERE a.day = %(day)s GROUP BY 2"
)
# The next rolled active day after %s of each of the customers: their gaps there change.
_NEXT_DAYS_SQL = (
    f"SELECT DISTINCT (SELECT min(p.day) FROM {_ACTIVE} p WHERE p.customer_id = t.id AND p.day > %s) "  # noqa: S608
    "FROM unnest(%s::bigint[]) AS t(id)"
)


class DayNotOver(ValueError):
    """Only finished local days are rolled up; today's figures always come from the ledgers."""


def _lock_organization_rollups() -> None:
    # One builder at a time per organization: a day's gaps depend on the days before it.
    # Advisory locks are database-wide, so the key carries the schema.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(hashtext(%s))", [f"reports.rollups:{connection.schema_name}"]
        )


def _gaps_rebuild(day: date) -> None:
    DailyActiveGap.objects.filter(day=day).delete()
    with connection.cursor() as cursor:
        cursor.execute(_GAP_INSERT_SQL, {"day": day})


def _active_ids(day: date) -> set[int]:
    return set(DailyActiveCustomer.objects.filter(day=day).values_list("customer_id", flat=True))


@transaction.atomic
def rollup_build(*, day: date, later_gaps: bool = True) -> DailyRollup:
    """Replace the rollup of one finished local day with the ledgers' figures of that day.
    The gaps of later days whose customers' previous active day this changes are rebuilt
    too, unless the caller rebuilds those days itself (`later_gaps=False`)."""
    if day >= local_today():
        raise DayNotOver(day)
    _lock_organization_rollups()
    since, until = days_bounds(day, day)
    with connection.cursor() as cursor:
        cursor.execute(_CLAIM_DAY_SQL, [day, timezone.now()])
        (rollup_id,) = cursor.fetchone()
    before = _active_ids(day) if later_gaps else set()
    for model in (DailyProgramRollup, DailyRewardRollup, DailyActiveCustomer):
        model.objects.filter(day=day).delete()

    rollup = DailyRollup.objects.get(pk=rollup_id)
    organization = ledgers.organization_days(since, until)
    figures = organization[0] if organization else ledgers.OrganizationDay(day, 0, 0, 0)
    rollup.coupons_redeemed = figures.coupons_redeemed
    rollup.voucher_redemptions = figures.voucher_redemptions
    rollup.voucher_reversals = figures.voucher_reversals
    rollup.save(update_fields=["coupons_redeemed", "voucher_redemptions", "voucher_reversals"])
    DailyProgramRollup.objects.bulk_create(
        DailyProgramRollup(
            day=day, program_id=row.program_id, issued=row.issued, redeemed=row.redeemed, expired=row.expired
        )
        for row in ledgers.program_days(since, until)
    )
    DailyRewardRollup.objects.bulk_create(
        DailyRewardRollup(
            day=day, reward_id=row.reward_id, receptions=row.receptions, reversals=row.reversals
        )
        for row in ledgers.reward_days(since, until)
    )
    with connection.cursor() as cursor:
        cursor.execute(_ACTIVE_INSERT_SQL, [day, *([since, until] * 4)])
    _gaps_rebuild(day)
    if later_gaps:
        touched = sorted(before | _active_ids(day))
        with connection.cursor() as cursor:
            cursor.execute(_NEXT_DAYS_SQL, [day, touched])
            later = sorted(next_day for (next_day,) in cursor.fetchall() if next_day is not None)
        for next_day in later:
            _gaps_rebuild(next_day)
    return rollup


@transaction.atomic
def rollups_rebuild(*, days: int) -> list[date]:
    """Rebuild the rollups of the last `days` finished days, oldest first, in one transaction
    (the dashboard sees the old rollups until it commits). Returns the days, newest first."""
    yesterday = local_today() - timedelta(days=1)
    rebuilt = [yesterday - timedelta(days=offset) for offset in range(max(days, 0))]
    for day in reversed(rebuilt):
        # Every later day is rebuilt after this one, up to yesterday; today has no rollup.
        rollup_build(day=day, later_gaps=False)
    return rebuilt
