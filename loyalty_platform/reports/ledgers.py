"""What the ledgers themselves say about a span of instants, grouped by local day: the one
place that turns rows into figures, used both to build a day's rollup and for the days that
have none yet (today). How each figure is counted is defined in `reports.selectors`."""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db.models import Count, F, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from loyalty_platform.coupons.models import Coupon
from loyalty_platform.programs.models import Card, LedgerEntry
from loyalty_platform.rewards.models import RewardReception
from loyalty_platform.stored_value.models import MoneyEntry, PrepaidAccount
from loyalty_platform.vouchers.models import VoucherRedemption

Cause = LedgerEntry.Cause
LOOKUP_SPAN = timedelta(days=3)

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


def _looks_up_cards(since: datetime, until: datetime) -> bool:
    """A few days' entries look their cards up one by one (a join would read every card of
    the organization); a longer span joins, which is cheaper there."""
    return until - since <= LOOKUP_SPAN


def program_days(since: datetime, until: datetime) -> list[ProgramDay]:
    if _looks_up_cards(since, until):
        program = Subquery(Card.objects.filter(pk=OuterRef("card_id")).values("program_id")[:1])
    else:
        program = F("card__program_id")
    rows = (
        LedgerEntry.objects.filter(_span("created_at", since, until))
        .annotate(day=_local_day("created_at"), program_id=program)
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
# ledger entry, so they are in the first part already. {card} and {account} are the
# look-ups of the entry's customer (see _looks_up_cards).
_ACTIVE_CUSTOMERS_SQL = (
    "SELECT {card} AS customer_id FROM {ledger} l {card_join}WHERE l.created_at >= %s AND l.created_at < %s "
    "UNION SELECT {account} FROM {money} m {account_join}"
    "WHERE m.prepaid_account_id IS NOT NULL AND m.created_at >= %s AND m.created_at < %s "
    "UNION SELECT customer_id FROM {vouchers} "
    "WHERE customer_id IS NOT NULL AND created_at >= %s AND created_at < %s "
    "UNION SELECT customer_id FROM {coupons} WHERE redeemed_at >= %s AND redeemed_at < %s"
)
_TABLES = {
    "ledger": LedgerEntry._meta.db_table,
    "money": MoneyEntry._meta.db_table,
    "vouchers": VoucherRedemption._meta.db_table,
    "coupons": Coupon._meta.db_table,
}
_CARDS, _ACCOUNTS = Card._meta.db_table, PrepaidAccount._meta.db_table
ACTIVE_CUSTOMERS_LOOKUP_SQL = _ACTIVE_CUSTOMERS_SQL.format(
    card=f"(SELECT c.customer_id FROM {_CARDS} c WHERE c.id = l.card_id)",  # noqa: S608
    card_join="",
    account=f"(SELECT p.customer_id FROM {_ACCOUNTS} p WHERE p.id = m.prepaid_account_id)",  # noqa: S608
    account_join="",
    **_TABLES,
)
ACTIVE_CUSTOMERS_JOIN_SQL = _ACTIVE_CUSTOMERS_SQL.format(
    card="c.customer_id",
    card_join=f"JOIN {_CARDS} c ON c.id = l.card_id ",
    account="p.customer_id",
    account_join=f"JOIN {_ACCOUNTS} p ON p.id = m.prepaid_account_id ",
    **_TABLES,
)


def active_customers_sql(since: datetime, until: datetime) -> str:
    """The query of the customers active in [since, until), taking [since, until] * 4."""
    return ACTIVE_CUSTOMERS_LOOKUP_SQL if _looks_up_cards(since, until) else ACTIVE_CUSTOMERS_JOIN_SQL
