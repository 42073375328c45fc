"""Tiers follow the points a customer earned within the point program's trailing period:
earns and orders count, returns and reversed earns count against them; redemptions do not
lower a tier."""

from datetime import datetime, timedelta

from django.db.models import Q, Sum
from django.utils import timezone

from loyalty_platform.customers.models import Customer
from loyalty_platform.programs.models import LedgerEntry, Program
from loyalty_platform.programs.selectors import active_program
from loyalty_platform.tiers.models import CustomerTier, Tier
from loyalty_platform.tiers.selectors import tier_for_points, tiers_ascending

QUALIFYING_CAUSES = (LedgerEntry.Cause.EARN, LedgerEntry.Cause.ORDER, LedgerEntry.Cause.RETURN)
_BATCH = 1000


def _window_start(program: Program, now: datetime) -> datetime:
    return now - timedelta(days=program.tier_period_days)


def _qualifying(program: Program, now: datetime) -> Q:
    """Entries that count in the period. A reversed earn (programs.reversals) is cancelled by
    its reversal entry, as long as the earn itself is still in the period."""
    since = _window_start(program, now)
    return Q(created_at__gte=since) & (
        Q(cause__in=QUALIFYING_CAUSES)
        | Q(
            cause=LedgerEntry.Cause.REVERSAL,
            reversed_entry__cause__in=QUALIFYING_CAUSES,
            reversed_entry__created_at__gte=since,
        )
    )


def qualifying_points(*, customer_id: int, program: Program, now: datetime) -> int:
    total = LedgerEntry.objects.filter(
        _qualifying(program, now), card__customer_id=customer_id, card__program=program
    ).aggregate(total=Sum("delta"))["total"]
    return total or 0


def _store(rows: list[CustomerTier]) -> None:
    CustomerTier.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["customer"],
        update_fields=["tier", "qualifying_points", "recalculated_at"],
    )


def customer_tier_recalculate(*, customer_id: int, now: datetime | None = None) -> Tier | None:
    """Recalculate and store the customer's tier; a no-op (None) without tiers or a point
    program. Call it in the transaction that changed the points."""
    tiers = tiers_ascending()
    program = active_program(Program.Kind.POINT)
    if not tiers or program is None:
        return None
    now = now or timezone.now()
    points = qualifying_points(customer_id=customer_id, program=program, now=now)
    tier = tier_for_points(points, tiers)
    _store([CustomerTier(customer_id=customer_id, tier=tier, qualifying_points=points, recalculated_at=now)])
    return tier


def tiers_recalculate_all(*, now: datetime | None = None) -> int:
    """Recalculate every customer's tier (nightly: points age out of the trailing period).
    Returns how many customers were written."""
    tiers = tiers_ascending()
    program = active_program(Program.Kind.POINT)
    if not tiers or program is None:
        return 0
    now = now or timezone.now()
    earned = dict(
        LedgerEntry.objects.filter(_qualifying(program, now), card__program=program)
        .values_list("card__customer_id")
        .annotate(total=Sum("delta"))
        .values_list("card__customer_id", "total")
    )
    customer_ids = set(earned) | set(CustomerTier.objects.values_list("customer_id", flat=True))
    rows = [
        CustomerTier(
            customer_id=customer_id,
            tier=tier_for_points(earned.get(customer_id, 0), tiers),
            qualifying_points=earned.get(customer_id, 0),
            recalculated_at=now,
        )
        for customer_id in sorted(customer_ids)
    ]
    for start in range(0, len(rows), _BATCH):
        _store(rows[start : start + _BATCH])
    return len(rows)


def customer_tier_progress(customer: Customer) -> dict | None:
    """What the profile shows: the current tier, points counted, and the next tier."""
    tiers = tiers_ascending()
    program = active_program(Program.Kind.POINT)
    if not tiers or program is None:
        return None
    points = qualifying_points(customer_id=customer.pk, program=program, now=timezone.now())
    tier = tier_for_points(points, tiers)
    upcoming = next((t for t in tiers if t.threshold_points > points), None)
    return {
        "name": tier.name if tier else None,
        "qualifying_points": points,
        "period_days": program.tier_period_days,
        "next_name": upcoming.name if upcoming else None,
        "points_to_next": upcoming.threshold_points - points if upcoming else None,
    }
