"""The hourly point expiry at size: one organization with 100,000 customers, one point card
each, 10 earns per card and so 1,000,000 lots whose date has passed (a program on "a fixed
time after they were earned", 12 months; every earn 13-24 months old). Goal: one worker
expires them all in <= 30 s.

1. Seeds the organization in PostgreSQL itself (INSERT ... SELECT over generate_series, fixed
   random seed; ids follow time, so a card's lots lie apart as a live ledger's do): the earn
   entries with their running balances, a lot per entry, the cards' balances from the entries.
2. Starts one Celery worker (solo pool, as deployed per process), sends
   `loyalty_platform.programs.tasks.expire_points` into the organization's schema (as
   core.tasks.dispatch_to_organizations does) and times it from the send until the job's
   tenants.JobStatus row records its success. Checks afterwards (not timed) that every card's
   balance equals the sum of its entries and of its open lots, that every card got exactly
   one `expire` entry for what its lots held, and that a second run expires nothing.
3. For comparison in the same run, each after the lots are put back as seeded (the table
   reloaded from a copy, so that no run finds the free space another left; VACUUM ANALYZE and
   a CHECKPOINT, as before the worker's run): points_expire() in this process with chunks of
   2,000 cards (the job's EXPIRY_CHUNK_CARDS) and of --chunks others, each checked the same
   way; and the floor: one plain UPDATE emptying the same 1,000,000 lots (no chunks, locks,
   cards or entries), which gives a ratio that does not depend on the machine's speed.

A database of its own (bench_expire_points) is created and dropped; --keep leaves it (lots
put back) and --reuse measures it again without seeding. --explain prints the plans of the
job's statements on the seeded data.

    python -m loyalty_platform.embedded run -- .venv/bin/python bench/expire_points.py
    make bench-expiry BENCH_ARGS="--customers 10000"      # a quick run
"""

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

from bench.common import (  # noqa: E402
    configure_production,
    drop_database,
    drop_indexes,
    recreate_database,
    start_worker,
    stop_worker,
)

DATABASE_NAME = "bench_expire_points"
GOAL_SECONDS = 30.0
TIMEOUT_SECONDS = 600.0
# Once nothing is due any more, the job's success must be recorded within this long.
RECORD_GRACE_SECONDS = 10.0
TASK = "loyalty_platform.programs.tasks.expire_points"


def seed(cursor, *, customers: int, lots_per_card: int) -> None:
    statements = [
        "SELECT setseed(0.15)",
        "INSERT INTO customers_customer (customer_code, email, phone, name, status, consent_terms_at, "
        "consent_privacy_at, points_expiry_warnings, created_at, updated_at) "
        "SELECT 100000 + n, 'bench' || n || '@example.com', '', '', 'active', t, t, true, t, t "
        "FROM (SELECT n, now() - interval '740 days' - random() * interval '60 days' AS t "
        "FROM generate_series(1, %(customers)s) n ORDER BY t) AS joined",
        "INSERT INTO programs_program (kind, name, is_active, earn_points_per_unit, earn_rounding, "
        "redeem_points_per_unit, min_redeem_points, allow_negative_balance, excluded_categories, "
        "tier_period_days, points_expiry, points_expiry_months, expiry_warning_days, stamps_per_card, "
        "reward_name, created_at) VALUES ('point', 'Points', true, 1, 'down', 100, 0, false, '', 365, "
        "'lifetime', 12, 30, 10, '', now() - interval '800 days')",
        "INSERT INTO programs_card (customer_id, program_id, card_number, status, balance, "
        "created_at, updated_at) SELECT c.id, p.id, 'P' || c.id, 'active', 0, c.created_at, c.created_at "
        "FROM customers_customer c CROSS JOIN programs_program p ORDER BY c.id",
        # Earns of 1-60 points 13 to 24 months ago; balance_after is each card's running sum.
        "INSERT INTO programs_ledgerentry (card_id, delta, balance_after, cause, external_id, "
        "api_key_lookup_id, note, created_at) SELECT card_id, delta, "
        "sum(delta) OVER (PARTITION BY card_id ORDER BY t, k), 'earn', 'bench-' || card_id || '-' || k, "
        "'', '', t FROM (SELECT c.id AS card_id, k, 1 + floor(random() * 60)::int AS delta, "
        "now() - interval '400 days' - random() * interval '330 days' AS t "
        "FROM programs_card c CROSS JOIN generate_series(1, %(lots)s) k) AS earns ORDER BY t",
        # A lot per earn, as ledger_post opens them: due 12 months after the earn.
        "INSERT INTO programs_pointlot (card_id, entry_id, points, remaining, expired, earned_at, "
        "expires_at) SELECT card_id, id, delta, delta, 0, created_at, created_at + interval '12 months' "
        "FROM programs_ledgerentry ORDER BY id",
        "UPDATE programs_card c SET balance = s.total, last_visit_at = s.visit FROM (SELECT card_id, "
        "sum(delta) AS total, max(created_at) AS visit FROM programs_ledgerentry GROUP BY card_id) s "
        "WHERE s.card_id = c.id",
    ]
    values = {"customers": str(customers), "lots": str(lots_per_card)}
    indexes = drop_indexes(cursor, ("programs_ledgerentry", "programs_pointlot"))
    for statement in statements:
        # No parameters: the statements' own % operators stay as they are.
        for name, value in values.items():
            statement = statement.replace(f"%({name})s", value)
        cursor.execute(statement)
    for definition in indexes:
        cursor.execute(definition)
    cursor.execute("CREATE TABLE bench_seeded_lots AS SELECT * FROM programs_pointlot ORDER BY id")


def reset(cursor) -> None:
    """The lots, balances and ledger as seeded, the lots' table also physically (reloaded from
    the seeded copy: full pages, as lots written over time leave them), so that every run
    starts from the same state: an UPDATE finds no free space the previous run left."""
    cursor.execute("DELETE FROM programs_ledgerentry WHERE cause = 'expire'")
    cursor.execute("TRUNCATE programs_pointlot, programs_pointlotdraw")
    indexes = drop_indexes(cursor, ("programs_pointlot",))
    cursor.execute("INSERT INTO programs_pointlot SELECT * FROM bench_seeded_lots ORDER BY id")
    for definition in indexes:
        cursor.execute(definition)
    cursor.execute(
        "UPDATE programs_card c SET balance = s.total FROM (SELECT card_id, sum(delta) AS total "
        "FROM programs_ledgerentry GROUP BY card_id) s WHERE s.card_id = c.id AND c.balance <> s.total"
    )


def vacuum(cursor) -> None:
    """As autovacuum would have by the hour the job runs: not during the measurement. Then a
    checkpoint, so that no run pays for the writes of the reset before it, and every run
    writes each page it changes whole into the WAL once, alike."""
    for table in ("programs_pointlot", "programs_ledgerentry", "programs_card"):
        cursor.execute(f"VACUUM ANALYZE {table}")
    cursor.execute("CHECKPOINT")


def due_state(cursor) -> tuple[int, int, int]:
    cursor.execute(
        "SELECT count(*), count(DISTINCT card_id), COALESCE(sum(remaining), 0) FROM programs_pointlot "
        "WHERE remaining > 0 AND expires_at <= now()"
    )
    return cursor.fetchone()


CHECK_SQL = (
    "SELECT count(*), "
    "count(*) FILTER (WHERE c.balance <> COALESCE(e.total, 0)), "
    "count(*) FILTER (WHERE greatest(c.balance, 0) <> COALESCE(l.open, 0)), "
    "count(*) FILTER (WHERE COALESCE(e.expires, 0) <> 1), "
    "count(*) FILTER (WHERE e.expired IS DISTINCT FROM l.expired OR e.expire_after <> c.balance), "
    "COALESCE(sum(l.expired), 0), COALESCE(sum(l.due), 0) "
    "FROM programs_card c "
    "LEFT JOIN (SELECT card_id, sum(delta) AS total, count(*) FILTER (WHERE cause = 'expire') AS expires, "
    "-sum(delta) FILTER (WHERE cause = 'expire') AS expired, "
    "max(balance_after) FILTER (WHERE cause = 'expire') AS expire_after "
    "FROM programs_ledgerentry GROUP BY card_id) e ON e.card_id = c.id "
    "LEFT JOIN (SELECT card_id, sum(remaining) AS open, sum(expired) AS expired, "
    "count(*) FILTER (WHERE remaining > 0 AND expires_at <= now()) AS due "
    "FROM programs_pointlot GROUP BY card_id) l ON l.card_id = c.id"
)


def check(cursor, *, points: int) -> list[str]:
    """What is wrong after one expiry of everything that was due (empty: nothing)."""
    cursor.execute(CHECK_SQL)
    cards, off_ledger, off_lots, not_one, off_expired, expired, due = cursor.fetchone()
    problems = []
    if off_ledger:
        problems.append(f"{off_ledger} cards' balance is not the sum of their entries")
    if off_lots:
        problems.append(f"{off_lots} cards' balance is not the sum of their open lots")
    if not_one:
        problems.append(f"{not_one} of {cards} cards have not exactly one expire entry")
    if off_expired:
        problems.append(f"{off_expired} cards' expire entry is not what their lots lost")
    if expired != points:
        problems.append(f"the lots lost {expired} points, {points} were due")
    if due:
        problems.append(f"{due} lots are still due")
    return problems


def run_on_worker(organization, worker: subprocess.Popen) -> tuple[float, dict]:
    """Sends the job into the organization's schema; the seconds until its JobStatus row
    records success, and the summary it recorded. Stops when the job failed, or did its work
    without recording success (an error the task raised after the job returned)."""
    from django.db import connection
    from django_tenants.utils import tenant_context

    from loyalty_platform.celery import app
    from tenants.models import JobStatus

    JobStatus.objects.filter(job=TASK, organization=organization).delete()
    with tenant_context(organization):
        sent = time.perf_counter()
        app.send_task(TASK)
    deadline = sent + TIMEOUT_SECONDS
    looked, nothing_due_since = sent, None
    while True:
        status = JobStatus.objects.filter(job=TASK, organization=organization).first()
        if status is not None and status.last_succeeded_at is not None:
            return time.perf_counter() - sent, status.last_summary
        if status is not None and status.last_failed_at is not None:
            raise SystemExit(f"the job failed: {status.last_error}")
        if worker.poll() is not None:
            raise SystemExit(f"the worker exited with {worker.returncode}")
        now = time.perf_counter()
        if now > deadline:
            raise SystemExit(f"the job did not finish within {TIMEOUT_SECONDS:.0f} s")
        if now - looked > 5:
            looked = now
            with tenant_context(organization), connection.cursor() as cursor:
                due = due_state(cursor)[0]
            nothing_due_since = None if due else nothing_due_since or now
        if nothing_due_since and now - nothing_due_since > RECORD_GRACE_SECONDS:
            raise SystemExit("nothing is due any more but the job recorded no success (see the worker's log)")
        time.sleep(0.02)


def explain(cursor, program_id: int, chunk_cards: int) -> None:
    """The plans of the job's statements (the due cards; one chunk's locks and expiry),
    rolled back."""
    from django.db import transaction
    from django.utils import timezone

    from loyalty_platform.programs import expiry

    now = timezone.now()
    with transaction.atomic():
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {expiry._DUE_CARDS_SQL}", [now, program_id])
        print("--- due cards\n" + "\n".join(row[0] for row in cursor.fetchall()))
        cursor.execute(expiry._DUE_CARDS_SQL, [now, program_id])
        chunk = [row[0] for row in cursor.fetchall()][:chunk_cards]
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {expiry._LOCK_CARDS_SQL}", [chunk])
        print(f"--- lock {len(chunk)} cards\n" + "\n".join(row[0] for row in cursor.fetchall()))
        params = {"cards": chunk, "now": now, "cause": "expire", "note": "points expired, lots: "}
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {expiry._EXPIRE_SQL}", params)
        print(f"--- expire {len(chunk)} cards\n" + "\n".join(row[0] for row in cursor.fetchall()))
        transaction.set_rollback(True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--lots-per-card", type=int, default=10)
    parser.add_argument(
        "--chunks",
        default="500,5000",
        help="other chunk sizes (cards) to time in-process beside the job's 2000; empty: none",
    )
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--reuse", action="store_true", help="measure the database a --keep run left")
    parser.add_argument("--explain", action="store_true", help="print the plans of the job's statements")
    args = parser.parse_args()

    configure_production(database_name=DATABASE_NAME, redis_namespace=f"bench-expiry-{os.getpid()}")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django_tenants.utils import tenant_context

    from loyalty_platform.programs.expiry import points_expire
    from loyalty_platform.programs.models import Program
    from tenants.models import Organization
    from tenants.services import organization_create

    chunk_sizes = [settings.EXPIRY_CHUNK_CARDS] + [
        int(size) for size in args.chunks.split(",") if size.strip()
    ]
    if not args.reuse:
        recreate_database()
    worker = None
    problems: list[str] = []
    timings: dict[str, float] = {}
    try:
        if args.reuse:
            organization = Organization.objects.get(slug="bench")
        else:
            call_command("migrate_platform", verbosity=0)
            organization = organization_create(slug="bench", name="Bench Café")
        with tenant_context(organization), connection.cursor() as cursor:
            started = time.perf_counter()
            if args.reuse:
                reset(cursor)
            else:
                seed(cursor, customers=args.customers, lots_per_card=args.lots_per_card)
            vacuum(cursor)
            seconds = time.perf_counter() - started
            due_lots, due_cards, due_points = due_state(cursor)
            cursor.execute("SELECT pg_size_pretty(pg_total_relation_size(%s))", ["programs_pointlot"])
            (lot_size,) = cursor.fetchone()
            program_id = Program.objects.get(kind=Program.Kind.POINT).pk
            print(
                f"{'reset' if args.reuse else 'seeded'} in {seconds:.0f} s: {due_lots:,} due lots "
                f"({lot_size}) of {due_cards:,} cards, {due_points:,} points"
            )
            if args.explain:
                explain(cursor, program_id, settings.EXPIRY_CHUNK_CARDS)

        worker = start_worker("bench-expiry")
        print("load average before measuring: {:.1f} {:.1f} {:.1f}".format(*os.getloadavg()))
        timings["worker"], summary = run_on_worker(organization, worker)
        with tenant_context(organization), connection.cursor() as cursor:
            found = check(cursor, points=due_points)
        if summary.get("cards") != due_cards or summary.get("points") != due_points:
            found.append(f"the job's summary says {summary}")
        _again_seconds, again = run_on_worker(organization, worker)
        if again.get("cards") or again.get("points"):
            found.append(f"a second run expired something: {again}")
        problems += [f"worker: {problem}" for problem in found]
        stop_worker(worker)
        worker = None

        with tenant_context(organization):
            for size in chunk_sizes:
                with connection.cursor() as cursor:
                    reset(cursor)
                    vacuum(cursor)
                started = time.perf_counter()
                result = points_expire(chunk_cards=size)
                timings[f"in-process, {size} cards a chunk"] = time.perf_counter() - started
                with connection.cursor() as cursor:
                    found = check(cursor, points=due_points)
                if (result.cards, result.points) != (due_cards, due_points):
                    found.append(f"it said {result.summary()}")
                again = points_expire(chunk_cards=size)
                if again.cards or again.points:
                    found.append(f"a second run expired something: {again.summary()}")
                problems += [f"chunks of {size}: {problem}" for problem in found]
            with connection.cursor() as cursor:
                reset(cursor)
                vacuum(cursor)
                started = time.perf_counter()
                cursor.execute(
                    "UPDATE programs_pointlot SET expired = remaining, remaining = 0 "
                    "WHERE remaining > 0 AND expires_at <= now()"
                )
                timings["plain UPDATE of the lots"] = time.perf_counter() - started
                if args.keep:
                    reset(cursor)
                    vacuum(cursor)
    finally:
        if worker is not None:
            stop_worker(worker)
        if not (args.keep or args.reuse):
            drop_database()

    floor = timings["plain UPDATE of the lots"]
    print(f"expiry of {due_lots:,} lots, {due_cards:,} cards, {due_points:,} points:")
    for label, seconds in timings.items():
        print(
            f"  {label:>32}: {seconds:7.2f} s  {due_lots / seconds:>9,.0f} lots/s  "
            f"{seconds / floor:5.1f}x the plain UPDATE"
        )
    met = timings["worker"] <= GOAL_SECONDS
    print("load average after: {:.1f} {:.1f} {:.1f} ({} cores)".format(*os.getloadavg(), os.cpu_count()))
    for problem in problems:
        print(f"CHECK FAILED: {problem}")
    if not problems:
        print(
            "checked: balances = entries = open lots, one expire entry per card, second runs expire nothing"
        )
    print(
        f"goal: one worker, send to JobStatus success <= {GOAL_SECONDS:.0f} s: "
        + ("met" if met else "NOT met")
    )
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
