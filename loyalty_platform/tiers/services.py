"""Tiers follow the points a customer earned within the point program's trailing period:
earns and orders count, returns and reversed earns count against them; redemptions do not
lower a tier."""

from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import Q, Sum
from django.utils import timezone

from loyalty_platform.customers.models import Customer
from loyalty_platform.programs.models import LedgerEntry, Program
from loyalty_platform.programs.selectors import active_program
from loyalty_platform.tiers.models import CustomerTier, Tier
from loyalty_platform.tiers.selectors import tier_for_points, tiers_ascending
from loyalty_platform.webhooks import outbox, payloads

QUALIFYING_CAUSES = (LedgerEntry.Cause.EARN, LedgerEntry.Cause.ORDER, LedgerEntry.Cause.RETURN)
_BATCH = 1000

_TIER_TABLE = CustomerTier._meta.db_table
# The upsert of _store for one customer, also returning the tier it replaced (whether there
# was a row, and its tier) and the customer's code: what tier.changed needs, in the statement
# that writes the tier anyway.
_STORE_RETURNING_OLD_SQL = (
    f"WITH old AS (SELECT tier_id FROM {_TIER_TABLE} WHERE customer_id = %(customer)s) "  # noqa: S608
    f"INSERT INTO {_TIER_TABLE} (customer_id, tier_id, qualifying_points, recalculated_at) "
    "VALUES (%(customer)s, %(tier)s, %(points)s, %(now)s) ON CONFLICT (customer_id) DO UPDATE SET "
    "tier_id = EXCLUDED.tier_id, qualifying_points = EXCLUDED.qualifying_points, "
    "recalculated_at = EXCLUDED.recalculated_at "
    "RETURNING EXISTS (SELECT 1 FROM old), (SELECT tier_id FROM old), "
    f"(SELECT customer_code FROM {Customer._meta.db_table} WHERE id = %(customer)s)"
)


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
    if not outbox.is_subscribed("tier.changed"):
        row = CustomerTier(customer_id=customer_id, tier=tier, qualifying_points=points, recalculated_at=now)
        _store([row])
        return tier
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        cursor.execute(
            _STORE_RETURNING_OLD_SQL,
            {"customer": customer_id, "tier": tier.pk if tier else None, "points": points, "now": now},
        )
        had_row, old_tier_id, customer_code = cursor.fetchone()
        new_tier_id = tier.pk if tier else None
        if (old_tier_id if had_row else None) != new_tier_id:
            outbox.event_record(
                "tier.changed",
                customer_id=customer_id,
                data=payloads.tier_changed(
                    customer_code=customer_code,
                    tier=tier,
                    previous_tier=_tier_by_id(tiers, old_tier_id),
                    qualifying_points=points,
                ),
            )
    return tier


def _tier_by_id(tiers: list[Tier], tier_id: int | None) -> Tier | None:
    return next((tier for tier in tiers if tier.pk == tier_id), None)


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
    stored = dict(CustomerTier.objects.values_list("customer_id", "tier_id"))
    customer_ids = set(earned) | set(stored)
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
        batch = rows[start : start + _BATCH]
        with transaction.atomic():
            before = stored
            if outbox.is_subscribed("tier.changed"):
                # What the rows hold now, locked: a till's earn may have moved a tier since the
                # run began, and the event must describe what this batch changes.
                before = dict(
                    CustomerTier.objects.select_for_update()
                    .filter(customer_id__in=[row.customer_id for row in batch])
                    .values_list("customer_id", "tier_id")
                )
            _store(batch)
            _tiers_changed_record(batch, before, tiers)
    return len(rows)


def _tiers_changed_record(rows: list[CustomerTier], stored: dict[int, int | None], tiers: list[Tier]) -> None:
    """tier.changed for the batch's customers whose tier moved (a customer without a row
    before had no tier), in the batch's transaction."""
    if not outbox.is_subscribed("tier.changed"):
        return
    changed = [row for row in rows if stored.get(row.customer_id) != row.tier_id]
    if not changed:
        return
    changed_ids = [row.customer_id for row in changed]
    codes = dict(Customer.objects.filter(pk__in=changed_ids).values_list("pk", "customer_code"))
    outbox.events_record_many(
        "tier.changed",
        [
            (
                row.customer_id,
                payloads.tier_changed(
                    customer_code=codes[row.customer_id],
                    tier=row.tier,
                    previous_tier=_tier_by_id(tiers, stored.get(row.customer_id)),
                    qualifying_points=row.qualifying_points,
                ),
            )
            for row in changed
        ],
    )


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
