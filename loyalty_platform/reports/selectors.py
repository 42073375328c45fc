"""The merchant dashboard's figures for a period of local days (see reports.periods).

Finished days are read from the daily rollups; days without a rollup (always today, and any
day the nightly task has not built yet) are read from the ledgers through the same code that
builds the rollups (reports.ledgers), so the two parts cannot count differently.

Definitions, for the days start..end inclusive:

- members_total: customers not deleted who joined by the end of the period;
  members_new: those of them who joined within it.
- active_customers: distinct customers with a points or stamps ledger entry, a prepaid money
  entry, a voucher redemption or a coupon redemption in the period.
- points_* (point programs) and stamps_issued (stamp programs), from LedgerEntry:
  issued = sum of the deltas of earn, order, return and adjust entries, plus reversals that
  take points back (an earn undone, negative);
  redeemed = minus the sum of redeem, refund and reward entries and of reversals that give
  points back (a redeem or reward reception undone, positive);
  expired = minus the sum of expire entries.
  Every cause is in exactly one group, so issued - redeemed - expired equals the change of
  the balances over the period. A reversal counts on the day it was made, so a period may
  show a negative figure when it holds the reversal but not what was reversed.
- redemption_rate: points redeemed / points issued in the period (None when none were
  issued), a fraction rounded half up to 4 decimals; it can exceed 1.
- coupons_redeemed: coupons with redeemed_at in the period. vouchers_redeemed: voucher
  redemptions made in the period minus redemptions reversed in the period.
- top_rewards: rewards by receptions made in the period minus receptions reversed in it,
  the five highest above zero.
- Liability, now (not for the period): open_points = positive balances of the active point
  program's cards; points_liability = open_points / the program's redeem_points_per_unit
  (what the customers' wallet shows as the points' worth); giftcard and prepaid liability =
  the sum of positive balances in the organization's currency. Money is exact Decimal,
  rounded to the currency's decimals (half even, as the wallet's money text).
- tier_distribution: customers not deleted per current tier (CustomerTier), and without one.
- daily: per day of the period, points issued and redeemed (the same definitions).
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from django.db import connection, connections, transaction
from django.db.models import Count, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from loyalty_platform.core.money import currency_exponent
from loyalty_platform.core.replica import read_alias
from loyalty_platform.customers.models import Customer
from loyalty_platform.programs.models import Card, Program
from loyalty_platform.reports import ledgers
from loyalty_platform.reports.models import (
    DailyActiveCustomer,
    DailyActiveGap,
    DailyProgramRollup,
    DailyRewardRollup,
    DailyRollup,
)
from loyalty_platform.reports.periods import day_ranges, days_bounds, each_day, local_today
from loyalty_platform.rewards.models import Reward
from loyalty_platform.stored_value.models import Giftcard, PrepaidAccount
from loyalty_platform.tiers.models import CustomerTier, Tier

TOP_REWARDS = 5


@dataclass(frozen=True)
class RewardFigure:
    reward_id: int
    name: str
    receptions: int


@dataclass(frozen=True)
class TierFigure:
    tier_id: int | None
    name: str
    customers: int


@dataclass(frozen=True)
class DayFigure:
    day: date
    points_issued: int
    points_redeemed: int


@dataclass(frozen=True)
class DashboardFigures:
    start: date
    end: date
    currency: str
    members_total: int
    members_new: int
    active_customers: int
    points_issued: int
    points_redeemed: int
    points_expired: int
    stamps_issued: int
    coupons_redeemed: int
    vouchers_redeemed: int
    redemption_rate: Decimal | None
    open_points: int
    points_liability: Decimal
    giftcard_liability: Decimal
    prepaid_liability: Decimal
    top_rewards: tuple[RewardFigure, ...]
    tier_distribution: tuple[TierFigure, ...]
    daily: tuple[DayFigure, ...]
    # How the period was read: days from rollups and days from the ledgers.
    rolled_days: int
    live_days: int

    @property
    def total_liability(self) -> Decimal:
        return self.points_liability + self.giftcard_liability + self.prepaid_liability


def _money(amount: Decimal, currency: str) -> Decimal:
    return amount.quantize(Decimal(1).scaleb(-currency_exponent(currency)))


def _active_customers(start: date, end: date, live: list[tuple[date, date]]) -> int:
    """Customers active on a rolled day of the period (each counted on their first one, by
    the gaps), plus those active only on its days without a rollup."""
    rolled = (
        f"(SELECT COALESCE(SUM(customers), 0) FROM {DailyActiveGap._meta.db_table} "  # noqa: S608
        "WHERE day BETWEEN %s AND %s AND gap > day - %s)"
    )
    params: list = [start, end, start]
    if live:
        union = " UNION ".join(
            ledgers.active_customers_sql(*days_bounds(first, last)) for first, last in live
        )
        rolled += (
            f" + (SELECT COUNT(*) FROM ({union}) AS live WHERE NOT EXISTS (SELECT 1 FROM "  # noqa: S608
            f"{DailyActiveCustomer._meta.db_table} a WHERE a.customer_id = live.customer_id "
            "AND a.day BETWEEN %s AND %s))"
        )
        for first, last in live:
            params.extend(days_bounds(first, last) * 4)
        params.extend([start, end])
    with connections[read_alias()].cursor() as cursor:
        cursor.execute(f"SELECT {rolled}", params)
        return cursor.fetchone()[0]


def _liability(currency: str, point_programs: dict[int, int]) -> tuple[int, Decimal, Decimal, Decimal]:
    """`point_programs`: the active point programs' redeem_points_per_unit by id."""
    open_points = 0
    worth = Decimal(0)
    rows = (
        Card.objects.filter(program_id__in=point_programs, balance__gt=0)
        .order_by()
        .values("program_id")
        .annotate(points=Sum("balance"))
    )
    for row in rows:
        open_points += row["points"]
        if point_programs[row["program_id"]]:
            worth += Decimal(row["points"]) / point_programs[row["program_id"]]
    giftcards = Giftcard.objects.filter(currency=currency, balance__gt=0).aggregate(total=Sum("balance"))
    prepaid = PrepaidAccount.objects.filter(currency=currency, balance__gt=0).aggregate(total=Sum("balance"))
    return (
        open_points,
        _money(worth, currency),
        _money(giftcards["total"] or Decimal(0), currency),
        _money(prepaid["total"] or Decimal(0), currency),
    )


def _members_and_tiers(start: date, end: date) -> tuple[int, int, tuple[TierFigure, ...]]:
    """Members by the end of the period, new in it, and every member now by current tier."""
    since, until = days_bounds(start, end)
    # Every customer less the deleted ones: index-only counts of the join dates, where a
    # filter on the status would read every customer's row.
    deleted = Customer.objects.filter(status=Customer.Status.DELETED)
    joined = {"created_at__gte": since, "created_at__lt": until}
    members_now = Customer.objects.count() - deleted.count()
    new = Customer.objects.filter(**joined).count() - deleted.filter(**joined).count()
    if until > timezone.now():
        # A customer's created_at is the moment of its insert: nobody joined after now.
        total = members_now
    else:
        total = (
            Customer.objects.filter(created_at__lt=until).count()
            - deleted.filter(created_at__lt=until).count()
        )
    # Counted without a join over every customer: all tiers, less the few deleted customers'.
    by_tier = defaultdict(int)
    for tier_id, count in (
        CustomerTier.objects.filter(tier__isnull=False)
        .order_by()
        .values_list("tier_id")
        .annotate(count=Count("*"))
    ):
        by_tier[tier_id] += count
    for tier_id, count in (
        CustomerTier.objects.filter(tier__isnull=False, customer__status=Customer.Status.DELETED)
        .order_by()
        .values_list("tier_id")
        .annotate(count=Count("*"))
    ):
        by_tier[tier_id] -= count
    tiers = [TierFigure(tier.pk, tier.name, by_tier.get(tier.pk, 0)) for tier in Tier.objects.all()]
    untiered = members_now - sum(tier.customers for tier in tiers)
    return total, new, (TierFigure(None, _("No tier"), untiered), *tiers)


def dashboard_figures(*, start: date, end: date) -> DashboardFigures:
    """The figures of the days start..end (inclusive, local days), as the module defines them.
    Call it inside the organization's schema. Its reads share one snapshot (a transaction in
    REPEATABLE READ when the caller has none): a rollup committed between two of them would
    otherwise count its day both live and rolled up. Inside replica_reads() it reads from the
    replica when one is configured."""
    if start > end:
        raise ValueError("start after end")
    alias = read_alias()
    if connections[alias].in_atomic_block:
        return _figures(start, end)
    with transaction.atomic(using=alias):
        with connections[alias].cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        return _figures(start, end)


def _figures(start: date, end: date) -> DashboardFigures:
    currency = connection.tenant.currency
    today = local_today()
    rolled = set(DailyRollup.objects.filter(day__range=(start, end)).values_list("day", flat=True))
    live = day_ranges([day for day in each_day(start, min(end, today)) if day not in rolled])

    programs = list(Program.objects.values_list("pk", "kind", "is_active", "redeem_points_per_unit"))
    kinds = {pk: kind for pk, kind, _active, _per_unit in programs}
    active_points = {
        pk: per_unit for pk, kind, active, per_unit in programs if active and kind == Program.Kind.POINT
    }
    program_rows: list = list(
        DailyProgramRollup.objects.filter(day__range=(start, end)).only(
            "day", "program_id", "issued", "redeemed", "expired"
        )
    )
    reward_counts: dict[int, int] = defaultdict(int)
    for row in (
        DailyRewardRollup.objects.filter(day__range=(start, end))
        .order_by()
        .values("reward_id")
        .annotate(receptions=Sum("receptions"), reversals=Sum("reversals"))
    ):
        reward_counts[row["reward_id"]] += row["receptions"] - row["reversals"]
    organization = DailyRollup.objects.filter(day__range=(start, end)).aggregate(
        coupons=Sum("coupons_redeemed"), used=Sum("voucher_redemptions"), reversed=Sum("voucher_reversals")
    )
    coupons = organization["coupons"] or 0
    vouchers = (organization["used"] or 0) - (organization["reversed"] or 0)
    for first, last in live:
        since, until = days_bounds(first, last)
        program_rows.extend(ledgers.program_days(since, until))
        for reward in ledgers.reward_days(since, until):
            reward_counts[reward.reward_id] += reward.receptions - reward.reversals
        for day in ledgers.organization_days(since, until):
            coupons += day.coupons_redeemed
            vouchers += day.voucher_redemptions - day.voucher_reversals

    totals = {kind: [0, 0, 0] for kind in Program.Kind.values}
    daily = {day: [0, 0] for day in each_day(start, end)}
    for row in program_rows:
        kind = kinds.get(row.program_id)
        if kind is None:
            continue
        total = totals[kind]
        total[0] += row.issued
        total[1] += row.redeemed
        total[2] += row.expired
        if kind == Program.Kind.POINT and row.day in daily:
            daily[row.day][0] += row.issued
            daily[row.day][1] += row.redeemed
    points_issued, points_redeemed, points_expired = totals[Program.Kind.POINT]

    received = {reward_id: count for reward_id, count in reward_counts.items() if count > 0}
    names = dict(Reward.objects.filter(pk__in=received).values_list("pk", "name"))
    top_rewards = sorted(
        (RewardFigure(reward_id, names.get(reward_id, ""), count) for reward_id, count in received.items()),
        key=lambda figure: (-figure.receptions, figure.name, figure.reward_id),
    )[:TOP_REWARDS]

    members_total, members_new, tier_distribution = _members_and_tiers(start, end)
    open_points, points_liability, giftcard_liability, prepaid_liability = _liability(currency, active_points)
    rate = None
    if points_issued > 0:
        rate = (Decimal(points_redeemed) / Decimal(points_issued)).quantize(
            Decimal("0.0001"), rounding=ROUND_HALF_UP
        )
    return DashboardFigures(
        start=start,
        end=end,
        currency=currency,
        members_total=members_total,
        members_new=members_new,
        active_customers=_active_customers(start, end, live),
        points_issued=points_issued,
        points_redeemed=points_redeemed,
        points_expired=points_expired,
        stamps_issued=totals[Program.Kind.STAMP][0],
        coupons_redeemed=coupons,
        vouchers_redeemed=vouchers,
        redemption_rate=rate,
        open_points=open_points,
        points_liability=points_liability,
        giftcard_liability=giftcard_liability,
        prepaid_liability=prepaid_liability,
        top_rewards=tuple(top_rewards),
        tier_distribution=tier_distribution,
        daily=tuple(DayFigure(day, issued, redeemed) for day, (issued, redeemed) in daily.items()),
        rolled_days=len(rolled),
        live_days=sum((last - first).days + 1 for first, last in live),
    )
