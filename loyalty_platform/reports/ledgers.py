"""What the ledgers themselves say about a span of instants, grouped by local day: the one
place that turns rows into figures, used both to build a day's rollup and for the days that
have none yet (today). How each figure is counted is defined in `reports.selectors`."""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime

from django.db.models import Count, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from loyalty_platform.coupons.models import Coupon
from loyalty_platform.programs.models import Card, LedgerEntry
from loyalty_platform.rewards.models import RewardReception
from loyalty_platform.stored_value.models import MoneyEntry, PrepaidAccount
from loyalty_platform.vouchers.models import VoucherRedemption

Cause = LedgerEntry.Cause

# Every cause falls in exactly one of the three, so issued - redeemed - expired is the change
# of the cards' balances. A reversal that takes points back undoes an earn; one that gives
# points back undoes a redeem or a reward reception.
ISSUED = Q(cause__in=[Cause.EARN, Cause.ORDER, Cause.RETURN, Cause.ADJUST]) | Q(
    cause=Cause.REVERSAL, delta__lt=0
)
REDEEMED = Q(cause__in=[Cause.REDEEM, Cause.REFUND, Cause.REWARD]) | Q(cause=Cause.REVERSAL, delta__gt=0)
EXPIRED = Q(cause=Cause.EXPIRE)


@dataclass(frozen=True)
class ProgramDay:
    day: date
    program_id: int
    issued: int
    redeemed: int
    expired: int


@dataclass(frozen=True)
class RewardDay:
    day: date
    reward_id: int
    receptions: int
    reversals: int


@dataclass(frozen=True)
class OrganizationDay:
    day: date
    coupons_redeemed: int
    voucher_redemptions: int
    voucher_reversals: int


def _local_day(field: str) -> TruncDate:
    return TruncDate(field, tzinfo=timezone.get_default_timezone())


def _span(field: str, since: datetime, until: datetime) -> Q:
    return Q(**{f"{field}__gte": since, f"{field}__lt": until})


def program_days(since: datetime, until: datetime) -> list[ProgramDay]:
    rows = (
        LedgerEntry.objects.filter(_span("created_at", since, until))
        # The card's program looked up per entry: a day holds a few thousand entries, and a
        # join would read every card of the organization.
        .annotate(
            day=_local_day("created_at"),
            program_id=Subquery(Card.objects.filter(pk=OuterRef("card_id")).values("program_id")[:1]),
        )
        .order_by()
        .values("day", "program_id")
        .annotate(
            issued=Coalesce(Sum("delta", filter=ISSUED), Value(0)),
            redeemed=Coalesce(-Sum("delta", filter=REDEEMED), Value(0)),
            expired=Coalesce(-Sum("delta", filter=EXPIRED), Value(0)),
        )
    )
    return [ProgramDay(**row) for row in rows]


def _counts_by_day(queryset, field: str, since: datetime, until: datetime, *keys: str) -> Iterator[dict]:
    return (
        queryset.filter(_span(field, since, until))
        .annotate(day=_local_day(field))
        .order_by()
        .values("day", *keys)
        .annotate(count=Count("*"))
    )


def reward_days(since: datetime, until: datetime) -> list[RewardDay]:
    days: dict[tuple[date, int], list[int]] = {}
    for index, field in enumerate(("created_at", "reversed_at")):
        for row in _counts_by_day(RewardReception.objects, field, since, until, "reward_id"):
            days.setdefault((row["day"], row["reward_id"]), [0, 0])[index] = row["count"]
    return [RewardDay(day, reward_id, *counts) for (day, reward_id), counts in sorted(days.items())]


def organization_days(since: datetime, until: datetime) -> list[OrganizationDay]:
    days: dict[date, list[int]] = {}
    sources = (
        (Coupon.objects, "redeemed_at"),
        (VoucherRedemption.objects, "created_at"),
        (VoucherRedemption.objects, "reversed_at"),
    )
    for index, (queryset, field) in enumerate(sources):
        for row in _counts_by_day(queryset, field, since, until):
            days.setdefault(row["day"], [0, 0, 0])[index] = row["count"]
    return [OrganizationDay(day, *counts) for day, counts in sorted(days.items())]


# Customers who made a transaction: a points or stamps entry, a prepaid entry (giftcards are
# anonymous), a voucher used by a known customer, a coupon redeemed. Reward receptions post a
# ledger entry, so they are in the first part already.
ACTIVE_CUSTOMERS_SQL = (
    f"SELECT (SELECT c.customer_id FROM {Card._meta.db_table} c WHERE c.id = l.card_id) AS customer_id "  # noqa: S608
    f"FROM {LedgerEntry._meta.db_table} l WHERE l.created_at >= %s AND l.created_at < %s "
    f"UNION SELECT (SELECT p.customer_id FROM {PrepaidAccount._meta.db_table} p "
    "WHERE p.id = m.prepaid_account_id) "
    f"FROM {MoneyEntry._meta.db_table} m "
    "WHERE m.prepaid_account_id IS NOT NULL AND m.created_at >= %s AND m.created_at < %s "
    f"UNION SELECT customer_id FROM {VoucherRedemption._meta.db_table} "
    "WHERE customer_id IS NOT NULL AND created_at >= %s AND created_at < %s "
    f"UNION SELECT customer_id FROM {Coupon._meta.db_table} WHERE redeemed_at >= %s AND redeemed_at < %s"
)
