"""The expiry of points (programs.expiry): exact entries, never early, a changed rule's notice,
inactivity, a till racing the job, and real Celery workers: two at once, and one killed
half-way whose job runs again. After each: balance = sum of entries = the open lots."""

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection, connections, transaction
from django.db.models import Count
from django_tenants.utils import tenant_context

from loyalty_platform.audit.models import AuditLogEntry
from loyalty_platform.core.errors import DomainError
from loyalty_platform.programs.expiry import points_expire
from loyalty_platform.programs.models import Card, LedgerEntry, PointLot, Program
from loyalty_platform.programs.services import customer_redeem, program_expiry_rule_changed
from loyalty_platform.programs.tasks import expire_points
from tenants.models import JobStatus
from tests.pos_fixtures import committed_organization, create_customer
from tests.processes import HELPER_APPLICATION_NAME, celery_worker
from tests.programs.lot_helpers import assert_lots_consistent, configure, earn

START = datetime(2026, 1, 10, 9, 0, tzinfo=UTC)
MONTH_LATER = datetime(2026, 2, 10, 9, 0, tzinfo=UTC)


def expire_entries(customer) -> list[tuple[int, int, datetime]]:
    return list(
        LedgerEntry.objects.filter(card__customer=customer, cause="expire")
        .order_by("pk")
        .values_list("delta", "balance_after", "created_at")
    )


def test_points_expire_at_their_date_not_a_second_before_one_entry_per_card_and_run(lifetime, organization):
    customer = create_customer(organization)
    with time_machine.travel(START, tick=False) as clock:
        earn(customer, 100, "e1")
        earn(customer, 20, "e2")
        clock.shift(timedelta(days=10))
        earn(customer, 50, "e3")
    assert points_expire(now=MONTH_LATER - timedelta(seconds=1)).summary() == {
        "cards": 0,
        "points": 0,
        "redated_cards": 0,
    }
    assert expire_entries(customer) == []

    assert points_expire(now=MONTH_LATER).summary() == {"cards": 1, "points": 120, "redated_cards": 0}
    assert points_expire(now=MONTH_LATER).summary()["cards"] == 0  # again: nothing left to expire
    assert expire_entries(customer) == [(-120, 50, MONTH_LATER)]
    assert list(PointLot.objects.order_by("pk").values_list("remaining", "expired")) == [
        (0, 100),
        (0, 20),
        (50, 0),
    ]
    points_expire(now=MONTH_LATER + timedelta(days=10))
    assert [entry[:2] for entry in expire_entries(customer)] == [(-120, 50), (-50, 0)]
    assert_lots_consistent(list(Card.objects.filter(customer=customer)))


def test_spent_points_do_not_expire_and_the_oldest_are_spent_first(lifetime, organization):
    customer = create_customer(organization)
    with time_machine.travel(START, tick=False) as clock:
        earn(customer, 100, "e1")
        clock.shift(timedelta(days=10))
        earn(customer, 100, "e2")
        customer_redeem(customer=customer, value=150, card_type="point", external_id="r1")
    points_expire(now=MONTH_LATER)
    assert expire_entries(customer) == []  # the first lot was spent whole
    points_expire(now=MONTH_LATER + timedelta(days=10))
    assert [entry[:2] for entry in expire_entries(customer)] == [(-50, 0)]


def test_a_program_that_never_expires_expires_nothing(in_organization, programs, organization):
    customer = create_customer(organization)
    with time_machine.travel(START, tick=False):
        earn(customer, 100, "e1")
    assert points_expire(now=START + timedelta(days=3650)).summary()["points"] == 0
    assert PointLot.objects.get().expires_at is None


def test_inactivity_expires_everything_only_after_months_without_a_transaction(
    in_organization, programs, organization
):
    program = configure(programs["point"], points_expiry="inactivity", points_expiry_months=2)
    customer = create_customer(organization)
    with time_machine.travel(START, tick=False) as clock:
        earn(customer, 100, "e1")
        clock.shift(timedelta(days=50))
        earn(customer, 30, "e2")
    assert points_expire(now=START + timedelta(days=70)).summary()["points"] == 0
    due = datetime(2026, 5, 1, 9, tzinfo=UTC)  # two months after the earn on 1 March
    assert set(PointLot.objects.values_list("expires_at", flat=True)) == {due}
    assert points_expire(now=due).summary() == {"cards": 1, "points": 130, "redated_cards": 0}
    assert [entry[:2] for entry in expire_entries(customer)] == [(-130, 0)]
    assert program.points_expiry == "inactivity"


def test_a_new_rule_dates_the_lots_again_and_gives_points_already_earned_the_notice(
    in_organization, programs, organization
):
    program = programs["point"]
    customer = create_customer(organization)
    with time_machine.travel(START, tick=False):
        earn(customer, 100, "e1")
    changed = START + timedelta(days=400)
    with time_machine.travel(changed, tick=False), transaction.atomic():
        configure(program, points_expiry="lifetime", points_expiry_months=12)
        program_expiry_rule_changed(program=program, staff_user=None, previous={"points_expiry": "never"})
    # Earned 400 days ago, so past its 12 months: it still gets 30 days from the change.
    run = points_expire(now=changed + timedelta(days=1))
    assert run.summary() == {
        "cards": 0,
        "points": 0,
        "redated_cards": Card.objects.filter(program=program).count(),
    }
    assert PointLot.objects.get().expires_at == changed + timedelta(days=30)
    program.refresh_from_db()
    assert program.lots_redated_for == program.points_expiry_since == changed
    assert points_expire(now=changed + timedelta(days=30)).summary()["points"] == 100
    audit = AuditLogEntry.objects.get(action="programs.expiry_rule")
    assert audit.details["points_expiry"] == "lifetime"


def test_another_organizations_points_are_not_touched(lifetime, organization, other_organization):
    customer = create_customer(organization)
    with time_machine.travel(START, tick=False):
        earn(customer, 100, "e1")
    with tenant_context(other_organization):
        from tests.pos_fixtures import create_programs

        other_program = create_programs(other_organization)["point"]
        configure(other_program, points_expiry="lifetime", points_expiry_months=1)
    other = create_customer(other_organization)
    with tenant_context(other_organization), time_machine.travel(START, tick=False):
        earn(other, 70, "e1")
    points_expire(now=MONTH_LATER)
    assert expire_entries(customer) == [(-100, 0, MONTH_LATER)]
    with tenant_context(other_organization):
        assert LedgerEntry.objects.filter(cause="expire").count() == 0
        assert PointLot.objects.get().remaining == 70


# --- Committed data: tills, threads and real workers ------------------------------------------

CUSTOMERS = 300


def _organization_with_due_points(slug: str):
    """An organization whose CUSTOMERS customers each hold two lots earned 13 months ago on a
    12-month lifetime (due) and one earned a month ago (not due)."""
    organization, created = committed_organization(slug, slug)
    with tenant_context(organization):
        program = Program.objects.get(kind="point", is_active=True)
        if created:
            configure(program, points_expiry="lifetime", points_expiry_months=12, min_redeem_points=0)
            now = datetime.now(UTC)
            customers = [create_customer(organization) for _ in range(CUSTOMERS)]
            with time_machine.travel(now - timedelta(days=400), tick=False):
                for customer in customers:
                    earn(customer, 30, f"old-a-{customer.pk}")
                    earn(customer, 12, f"old-b-{customer.pk}")
            with time_machine.travel(now - timedelta(days=30), tick=False):
                for customer in customers:
                    earn(customer, 5, f"new-{customer.pk}")
        cards = list(Card.objects.filter(program=program).order_by("pk"))
    return organization, cards


def _assert_expired_once(organization, cards) -> None:
    with tenant_context(organization):
        per_card = dict(
            LedgerEntry.objects.filter(cause="expire").values_list("card").annotate(count=Count("id"))
        )
        assert per_card == {card.pk: 1 for card in cards}
        assert set(LedgerEntry.objects.filter(cause="expire").values_list("delta", flat=True)) == {-42}
        assert set(Card.objects.filter(pk__in=[c.pk for c in cards]).values_list("balance", flat=True)) == {5}
        assert_lots_consistent(cards)


def _wait_for_success(organization, since: datetime, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        status = JobStatus.objects.filter(
            job="loyalty_platform.programs.tasks.expire_points", organization=organization
        ).first()
        if status is not None and status.last_succeeded_at and status.last_succeeded_at >= since:
            return
        time.sleep(0.2)
    raise AssertionError("the expiry job did not succeed in time")


def _helpers_waiting_on_locks(application_name: str | None = HELPER_APPLICATION_NAME) -> int:
    """Sessions waiting on a lock: the helper processes' (workers, each named
    <application_name>-<n>), or with None any other."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid() "
            "AND (%s::text IS NULL OR application_name LIKE %s)",
            [application_name, f"{application_name}-%"],
        )
        return cursor.fetchone()[0]


class _CardLock:
    """A card row-locked by a connection of its own, until released."""

    def __init__(self, organization, card_id: int) -> None:
        self.connection = connections.create_connection("default")
        self.connection.set_schema(organization.schema_name)
        self.connection.set_autocommit(False)
        with self.connection.cursor() as cursor:
            cursor.execute("SELECT id FROM programs_card WHERE id = %s FOR UPDATE", [card_id])

    def release(self) -> None:
        self.connection.rollback()
        self.connection.close()


def _until(condition, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.05)


@pytest.mark.usefixtures("committed_db")
def test_a_till_redeeming_while_the_job_runs_loses_nothing_and_doubles_nothing():
    organization, cards = _organization_with_due_points("expiry-till-race")
    card = cards[0]
    outcome = {}

    def job():
        with tenant_context(organization):
            outcome["job"] = points_expire(chunk_cards=50).summary()
        connections.close_all()

    def till():
        with tenant_context(organization):
            try:
                customer_redeem(customer=card.customer, value=40, card_type="point", external_id="till-race")
                outcome["till"] = "redeemed"
            except DomainError as error:
                outcome["till"] = error.code
        connections.close_all()

    # Both wait on the card's lock, then run in whichever order PostgreSQL grants it.
    lock = _CardLock(organization, card.pk)
    threads = [threading.Thread(target=job), threading.Thread(target=till)]
    for thread in threads:
        thread.start()
    _until(lambda: _helpers_waiting_on_locks(application_name=None) >= 2)
    lock.release()
    for thread in threads:
        thread.join(timeout=60)
    with tenant_context(organization):
        card.refresh_from_db()
        # Redeemed first: 40 of the 42 due points spent, 2 expire. Expired first: 42 expire
        # and the redeem finds 5 points (insufficient_balance). Both end at the 5 not yet due.
        assert card.balance == 5
        expired = list(LedgerEntry.objects.filter(card=card, cause="expire").values_list("delta", flat=True))
        assert expired == ([-2] if outcome["till"] == "redeemed" else [-42])
        assert outcome["till"] in ("redeemed", "insufficient_balance")
        assert_lots_consistent(cards)
    assert outcome["job"]["cards"] == CUSTOMERS


@pytest.mark.usefixtures("committed_db")
def test_two_workers_running_the_job_at_once_expire_each_card_once():
    organization, cards = _organization_with_due_points("expiry-two-workers")
    started = datetime.now(UTC)
    with (
        celery_worker("expiry-one", EXPIRY_CHUNK_CARDS="100"),
        celery_worker("expiry-two", EXPIRY_CHUNK_CARDS="100"),
    ):
        # Both copies wait on the first card, so that they run through the chunks together.
        lock = _CardLock(organization, cards[0].pk)
        with tenant_context(organization):
            expire_points.delay()
            expire_points.delay()
        _until(lambda: _helpers_waiting_on_locks() >= 2)
        lock.release()
        _wait_for_success(organization, started)
        time.sleep(1)  # the second copy finishes what it does
        _until(lambda: _helpers_waiting_on_locks() == 0)
    _assert_expired_once(organization, cards)


@pytest.mark.usefixtures("committed_db")
def test_a_worker_killed_half_way_leaves_committed_chunks_and_the_next_run_does_the_rest():
    organization, cards = _organization_with_due_points("expiry-killed")
    with celery_worker("expiry-killed", EXPIRY_CHUNK_CARDS="50") as worker:
        # The job stops on a card of the fourth chunk: the first three have committed.
        lock = _CardLock(organization, cards[150].pk)
        with tenant_context(organization):
            expire_points.delay()
        _until(lambda: _helpers_waiting_on_locks() >= 1)
        with tenant_context(organization):
            assert LedgerEntry.objects.filter(cause="expire").count() == 150
        worker.kill()
        worker.wait()
        lock.release()
    with tenant_context(organization):
        assert LedgerEntry.objects.filter(cause="expire").count() == 150
        assert_lots_consistent(cards)
    started = datetime.now(UTC)
    with celery_worker("expiry-again", EXPIRY_CHUNK_CARDS="50"):
        with tenant_context(organization):
            expire_points.delay()
        _wait_for_success(organization, started)
    _assert_expired_once(organization, cards)


def test_a_blocked_card_or_customer_keeps_its_points_until_unblocked(lifetime, organization):
    blocked_card, blocked_customer = create_customer(organization), create_customer(organization)
    with time_machine.travel(START, tick=False):
        earn(blocked_card, 100, "e1")
        earn(blocked_customer, 60, "e2")
    Card.objects.filter(customer=blocked_card).update(status="blocked")
    blocked_customer.status = "blocked"
    blocked_customer.save(update_fields=["status"])
    assert points_expire(now=MONTH_LATER).summary()["cards"] == 0
    Card.objects.filter(customer=blocked_card).update(status="active")
    assert points_expire(now=MONTH_LATER).summary() == {"cards": 1, "points": 100, "redated_cards": 0}
    assert expire_entries(blocked_customer) == []


def test_a_rule_change_is_applied_only_once_every_process_has_seen_it(
    in_organization, programs, organization
):
    program = programs["point"]
    customer = create_customer(organization)
    changed = START + timedelta(days=400)
    with time_machine.travel(changed, tick=False), transaction.atomic():
        configure(program, points_expiry="lifetime", points_expiry_months=1)
        program_expiry_rule_changed(program=program, staff_user=None)
    with time_machine.travel(changed + timedelta(seconds=5), tick=False):
        # A till whose cached program still says "never" opens a lot without a date...
        earn(customer, 40, "stale-till")
        PointLot.objects.filter(card__customer=customer).update(expires_at=None)
        run = points_expire()
    assert run.stopped == "rule_settling"
    program.refresh_from_db()
    assert program.lots_redated_for is None
    # ...which the next run, after the cache's lifetime, dates by the new rule.
    points_expire(now=changed + timedelta(minutes=5))
    program.refresh_from_db()
    assert program.lots_redated_for == changed
    assert PointLot.objects.get(card__customer=customer).expires_at == changed + timedelta(days=30)


def test_a_spent_lot_is_dated_again_too_so_points_put_back_expire_by_the_new_rule(
    in_organization, programs, organization
):
    program = configure(programs["point"], min_redeem_points=0)
    customer = create_customer(organization)
    with time_machine.travel(START, tick=False):
        earn(customer, 100, "e1")
        customer_redeem(customer=customer, value=100, card_type="point", external_id="r1")
    changed = START + timedelta(days=10)
    with time_machine.travel(changed, tick=False), transaction.atomic():
        configure(program, points_expiry="lifetime", points_expiry_months=1)
        program_expiry_rule_changed(program=program, staff_user=None)
    points_expire(now=changed + timedelta(minutes=5))
    from loyalty_platform.programs.reversals import loyalty_transaction_reverse

    with time_machine.travel(changed + timedelta(days=1), tick=False):
        loyalty_transaction_reverse(original_external_id="r1", external_id="void-r1")
    lot = PointLot.objects.get(card__customer=customer)
    assert (lot.remaining, lot.expires_at) == (100, changed + timedelta(days=30))
