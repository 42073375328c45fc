"""Building the daily rollups. A day's rollup is recomputed from the ledgers and replaces
what was there, so building a day twice, or two workers building it at once, leaves the
same rows as building it once."""

from datetime import date, timedelta

from django.db import connection, transaction
from django.utils import timezone

from loyalty_platform.reports import ledgers
from loyalty_platform.reports.models import (
    DailyActiveCustomer,
    DailyProgramRollup,
    DailyRewardRollup,
    DailyRollup,
)
from loyalty_platform.reports.periods import days_bounds, local_today

# Claims the day's row (a second builder of the same day waits here until the first commits).
_CLAIM_DAY_SQL = (
    f"INSERT INTO {DailyRollup._meta.db_table} "  # noqa: S608
    "(day, coupons_redeemed, voucher_redemptions, voucher_reversals, built_at) VALUES (%s, 0, 0, 0, %s) "
    "ON CONFLICT (day) DO UPDATE SET built_at = EXCLUDED.built_at RETURNING id"
)
_ACTIVE_INSERT_SQL = (
    f"INSERT INTO {DailyActiveCustomer._meta.db_table} (day, customer_id) "  # noqa: S608
    f"SELECT %s, customer_id FROM ({ledgers.ACTIVE_CUSTOMERS_SQL}) AS active"
)


class DayNotOver(ValueError):
    """Only finished local days are rolled up; today's figures always come from the ledgers."""


@transaction.atomic
def rollup_build(*, day: date) -> DailyRollup:
    """Replace the rollup of one finished local day with the ledgers' figures of that day."""
    if day >= local_today():
        raise DayNotOver(day)
    since, until = days_bounds(day, day)
    with connection.cursor() as cursor:
        cursor.execute(_CLAIM_DAY_SQL, [day, timezone.now()])
        (rollup_id,) = cursor.fetchone()
    for model in (DailyProgramRollup, DailyRewardRollup, DailyActiveCustomer):
        model.objects.filter(day=day).delete()

    organization = ledgers.organization_days(since, until)
    rollup = DailyRollup.objects.get(pk=rollup_id)
    if organization:
        (figures,) = organization
        rollup.coupons_redeemed = figures.coupons_redeemed
        rollup.voucher_redemptions = figures.voucher_redemptions
        rollup.voucher_reversals = figures.voucher_reversals
    else:
        rollup.coupons_redeemed = rollup.voucher_redemptions = rollup.voucher_reversals = 0
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
    return rollup


def rollups_rebuild(*, days: int) -> list[date]:
    """Rebuild the rollups of the last `days` finished days (yesterday first), each in its
    own transaction. Returns the days rebuilt."""
    yesterday = local_today() - timedelta(days=1)
    rebuilt = [yesterday - timedelta(days=offset) for offset in range(max(days, 0))]
    for day in rebuilt:
        rollup_build(day=day)
    return rebuilt
