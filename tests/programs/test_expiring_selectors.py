"""Points expiring soon (programs.selectors): a customer's points whose lots expire within the
next 30 days and the earliest date, the program-wide figure, and the liability by month of the
program page. Lots are written as ledger_post leaves them: the open lots sum to the balance."""

from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import tenant_context

from loyalty_platform.customers.models import Customer
from loyalty_platform.programs.models import Card, LedgerEntry, PointLot, Program
from loyalty_platform.programs.selectors import (
    NOTHING_EXPIRING,
    ExpiringPoints,
    ExpiryLiability,
    ProgramExpiringPoints,
    points_expiring_soon,
    program_expiry_liability,
    program_points_expiring_soon,
)
from loyalty_platform.programs.services import card_number_candidate
from tests.pos_fixtures import create_programs

NOW = datetime(2026, 6, 10, 12, 0, tzinfo=UTC)


def expiry_rule(program: Program, rule: str = Program.PointsExpiry.LIFETIME) -> Program:
    """The program's rule as it is once the expiry job dated the lots by it."""
    program.points_expiry = rule
    program.save(update_fields=["points_expiry"])  # the cached active programs forget it
    return program


def member(*, pk: int | None = None, code: int | None = None, program: Program | None = None) -> Card:
    """A customer (with the given primary key, to meet another schema's twin) and an empty card
    in the active point program, or in `program`."""
    code = code or 100000 + (pk or Customer.objects.count() + 1) % 900000
    customer = Customer.objects.create(
        pk=pk,
        customer_code=code,
        email=f"lots{code}@example.com",
        consent_terms_at=NOW,
        consent_privacy_at=NOW,
    )
    program = program or Program.objects.get(kind=Program.Kind.POINT, is_active=True)
    return Card.objects.create(customer=customer, program=program, card_number=card_number_candidate())


def lot(
    card: Card, points: int, expires_at: datetime | None, *, spent: int = 0, expired: int = 0
) -> PointLot:
    """A lot of `points` of which `spent` went to a redeem and `expired` to the expiry job,
    with the entries that explain the card's balance."""
    remaining = points - spent - expired
    card.balance += points
    entry = LedgerEntry.objects.create(card=card, delta=points, balance_after=card.balance, cause="earn")
    for delta, cause in ((spent, "redeem"), (expired, "expire")):
        if delta:
            card.balance -= delta
            LedgerEntry.objects.create(card=card, delta=-delta, balance_after=card.balance, cause=cause)
    card.save(update_fields=["balance"])
    return PointLot.objects.create(
        card=card,
        entry=entry,
        points=points,
        remaining=remaining,
        expired=expired,
        earned_at=NOW - timedelta(days=300),
        expires_at=expires_at,
    )


class Statements(CaptureQueriesContext):
    """The SQL statements run inside the block, without django-tenants' `SET search_path`."""

    def __init__(self):
        super().__init__(connection)

    @property
    def sql(self) -> list[str]:
        return [query["sql"] for query in self.captured_queries if not query["sql"].startswith("SET ")]


def test_only_the_customers_open_lots_due_within_30_days_count(organization, other_organization, programs):
    create_programs(other_organization)
    with tenant_context(other_organization):
        expiry_rule(Program.objects.get(kind="point"))
        twin = member(pk=987601)  # the same primary key as `card`'s customer, in another schema
        lot(twin, 500, NOW + timedelta(days=1))
    with tenant_context(organization):
        expiry_rule(programs["point"])
        card, neighbour = member(pk=987601), member()
        lot(card, 10, NOW + timedelta(days=30))  # exactly 30 days: counts
        lot(card, 20, NOW + timedelta(days=30, seconds=1))  # a second later: not yet
        lot(card, 5, NOW - timedelta(minutes=20))  # due, the hourly job has not run yet: counts
        lot(card, 7, NOW - timedelta(days=2), expired=7)  # already expired: gone from the balance
        lot(card, 8, NOW + timedelta(days=3), spent=8)  # spent: gone
        lot(card, 9, NOW + timedelta(days=4), spent=6)  # what is left of it counts
        lot(card, 11, None)  # never
        lot(neighbour, 13, NOW + timedelta(days=1))  # another customer's

        mine = points_expiring_soon(card.customer_id, now=NOW)
        theirs = points_expiring_soon(neighbour.customer_id, now=NOW)
        nobody = points_expiring_soon(card.customer_id + 1000, now=NOW)
        card.refresh_from_db()
        open_points = sum(PointLot.objects.filter(card=card).values_list("remaining", flat=True))
    with tenant_context(other_organization):
        twins = points_expiring_soon(twin.customer_id, now=NOW)

    assert mine == ExpiringPoints(10 + 5 + 3, NOW - timedelta(minutes=20))
    assert mine.as_json() == {"points": 18, "expires_at": "2026-06-10T11:40:00+00:00"}
    assert theirs == ExpiringPoints(13, NOW + timedelta(days=1))
    assert nobody == NOTHING_EXPIRING
    assert NOTHING_EXPIRING.as_json() == {"points": 0, "expires_at": None}
    assert twins == ExpiringPoints(500, NOW + timedelta(days=1))
    assert card.balance == open_points == 10 + 20 + 5 + 3 + 11


def test_the_earliest_date_is_the_first_lot_inside_the_window(in_organization, programs):
    expiry_rule(programs["point"])
    card = member()
    lot(card, 4, NOW + timedelta(days=29))
    lot(card, 6, NOW + timedelta(days=2, hours=3))
    lot(card, 50, NOW + timedelta(days=90))

    assert points_expiring_soon(card.customer_id, now=NOW) == ExpiringPoints(
        10, NOW + timedelta(days=2, hours=3)
    )


def test_a_card_in_another_point_program_does_not_count(in_organization, programs):
    expiry_rule(programs["point"])
    old = Program.objects.create(kind="point", name="Old points", is_active=False, points_expiry="lifetime")
    card = member()
    elsewhere = member(program=old)
    Card.objects.filter(pk=elsewhere.pk).update(customer=card.customer)
    elsewhere.refresh_from_db()
    lot(elsewhere, 30, NOW + timedelta(days=1))

    assert points_expiring_soon(card.customer_id, now=NOW) == NOTHING_EXPIRING
    assert points_expiring_soon(card.customer_id, program=old, now=NOW) == ExpiringPoints(
        30, NOW + timedelta(days=1)
    )


def test_one_query_and_none_at_all_while_the_program_dates_no_lot(in_organization, programs):
    program = programs["point"]
    card, dated = member(), member()
    lot(card, 10, None)
    program.refresh_from_db()

    with Statements() as undated:
        never = points_expiring_soon(card.customer_id, program=program, now=NOW)
        program_wide = program_points_expiring_soon(program, now=NOW)
    # Changed to "never", not re-dated yet: lots may still carry the old rule's dates.
    lot(dated, 15, NOW + timedelta(days=5))
    Program.objects.filter(pk=program.pk).update(points_expiry_since=NOW)
    program.refresh_from_db()
    with Statements() as changed:
        before_redating = points_expiring_soon(dated.customer_id, program=program, now=NOW)

    assert (never, program_wide, undated.sql) == (NOTHING_EXPIRING, ProgramExpiringPoints(0, 0, None), [])
    assert before_redating == ExpiringPoints(15, NOW + timedelta(days=5))
    assert len(changed.sql) == 1 and "programs_pointlot" in changed.sql[0]


def test_the_program_wide_figure_counts_points_and_customers(in_organization, programs):
    expiry_rule(programs["point"])
    first, second, third = member(), member(), member()
    lot(first, 10, NOW + timedelta(days=3))
    lot(first, 5, NOW + timedelta(days=12))
    lot(second, 7, NOW - timedelta(minutes=5))
    lot(second, 100, NOW + timedelta(days=31))
    lot(third, 40, None)
    lot(third, 8, NOW + timedelta(days=1), spent=8)

    assert program_points_expiring_soon(programs["point"], now=NOW) == ProgramExpiringPoints(
        22, 2, NOW - timedelta(minutes=5)
    )


def test_the_liability_by_month_in_the_organizations_time_zone(organization, programs):
    organization.timezone = "Europe/Vilnius"  # UTC+3 in summer, +2 in winter
    with tenant_context(organization):
        expiry_rule(programs["point"])
        other = Program.objects.create(kind="point", name="Old", is_active=False, points_expiry="lifetime")
        card, second = member(), member()
        lot(card, 3, datetime(2026, 5, 20, tzinfo=UTC))  # overdue, not yet expired: this month
        lot(card, 4, datetime(2026, 6, 9, 23, 0, tzinfo=UTC))  # 10 June in Vilnius
        lot(second, 5, datetime(2026, 6, 30, 21, 30, tzinfo=UTC))  # 1 July, 00:30 in Vilnius
        lot(card, 6, datetime(2026, 9, 14, tzinfo=UTC))
        lot(second, 60, datetime(2026, 9, 30, tzinfo=UTC), spent=60)  # spent: not a liability
        lot(card, 7, datetime(2027, 5, 31, 20, 0, tzinfo=UTC))  # 31 May 2027, 23:00: the 12th month
        lot(second, 8, datetime(2027, 5, 31, 21, 30, tzinfo=UTC))  # 1 June 2027 in Vilnius: later
        lot(card, 9, datetime(2031, 1, 1, tzinfo=UTC))  # later
        lot(second, 10, None)
        lot(card, 11, None)
        lot(member(program=other), 1000, datetime(2026, 7, 1, tzinfo=UTC))  # another program's

        with Statements() as statements:
            liability = program_expiry_liability(programs["point"], now=NOW)

    assert liability == ExpiryLiability(
        months=[
            (date(2026, 6, 1), 3 + 4),
            (date(2026, 7, 1), 5),
            (date(2026, 9, 1), 6),
            (date(2027, 5, 1), 7),
        ],
        later=8 + 9,
        never=10 + 11,
    )
    assert (liability.dated, liability.total) == (42, 63)
    assert len(statements.sql) == 1 and "GROUP BY" in statements.sql[0]


@pytest.mark.parametrize("rule", ["never", "lifetime"])
def test_the_liability_of_a_program_without_dated_points_is_empty(in_organization, programs, rule):
    expiry_rule(programs["point"], rule)
    lot(member(), 25, None)

    liability = program_expiry_liability(programs["point"], now=NOW)

    assert liability == ExpiryLiability(months=[], later=0, never=25)
    assert (liability.dated, liability.total) == (0, 25)
