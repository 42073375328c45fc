"""One big organization: the calls a till, a member and the staff make, on an organization of
1,000,000 customers and 10,000,000 ledger entries beside the same calls on one of 1,000
customers in the same run (same server, same moment), and the ratio big / small per call.
Goal: every ratio <= 1.2 (a call costs the same whatever the organization's size).

1. Two organizations (schemas) in a database of its own (bench_scale, created and dropped):
   "small" with 1,000 customers and "big" with --customers. Each customer has a point card,
   one in three a stamp card, and 10 ledger entries (7 points and 3 stamps for the ones with
   both), over the last 365 days in ten rounds, so that ids follow time as a live ledger's do,
   and a point lot for each positive point entry (what is left of it as spending leaves it).
   Filled with COPY (psycopg), the tables' plain indexes and foreign keys dropped meanwhile
   and built (checked) again afterwards, as pg_restore does; then VACUUM ANALYZE, as
   autovacuum would have by the time anyone calls. Seed time and the tables' sizes
   (pg_total_relation_size per customer, card, ledger entry and lot) are printed.
2. Each call --requests times on each organization, alternating small and big, every call on
   another customer, through Django's handler (test Client: middleware, session, tenant
   routing, DRF, templates) on the real database with production settings (DEBUG off):
   earn, redeem, look-up by code, email, phone and card number, the wallet (POS API, with an
   API key); the member's history (/me/api/history, signed in); the staff's history page of
   a customer and the portal's customer search (signed in as staff). Median and p95 per call.

The customer codes have six digits (900,000 of them): customers past the 900,000th get seven
digit codes no till can send; the measured customers are drawn from the first 900,000.

    python -m loyalty_platform.embedded run -- .venv/bin/python bench/scale.py
    make bench-scale BENCH_ARGS="--customers 50000"     # a quick run
"""

import argparse
import os
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

from bench.common import (  # noqa: E402
    configure_production,
    drop_database,
    drop_foreign_keys,
    drop_indexes,
    percentile,
    recreate_database,
    unlimited_api_key,
)

DATABASE_NAME = "bench_scale"
GOAL_RATIO = 1.2
SMALL_CUSTOMERS = 1_000
ROUNDS = 10  # ledger entries per customer
STAMP_ROUNDS = (3, 6, 9)  # of a customer with a stamp card, these rounds are stamps
CODES = 900_000  # six-digit customer codes: 100000 to 999999
CODE_STRIDE = 7919  # prime to CODES: n -> code is a permutation, codes not in id order
SEEDED_TABLES = ("customers_customer", "programs_card", "programs_ledgerentry", "programs_pointlot")
BLOCK = 20_000  # rows per write to the COPY stream
SAMPLE = 400  # customers drawn per organization for the measured calls
SIGNED_IN = 20  # of them, signed in as members (a session each) for /me/api/history
PROXY_HEADERS = {"X-Forwarded-Proto": "https"}


# --- The seeded rows, each a function of the customer's number n (1..customers) -------------


def customer_code(n: int) -> int:
    if n <= CODES:
        return 100000 + (n * CODE_STRIDE) % CODES
    return 1_000_000 + n


def customer_email(n: int) -> str:
    return f"member{n}@bench.example"


def customer_phone(n: int) -> str:
    return f"+44770{n:07d}"


def point_card_number(n: int) -> str:
    return f"8{n:011d}"


def has_stamp_card(n: int) -> bool:
    return n % 3 == 0


def _mix(n: int, round_: int) -> int:
    """A customer's pseudo-random 16 bits for a round: the same in every pass and run."""
    return (n * 2654435761 + round_ * 40503) & 0xFFFF


def point_delta(n: int, round_: int, balance: int) -> tuple[str, int]:
    """The cause and points of customer n's point entry in a round: mostly earns, redeems
    of up to 60 while the balance has 20 or more, now and then an adjustment."""
    mix = _mix(n, round_)
    if mix % 10 < 7 or balance < 20:
        return "earn", 1 + mix % 120
    if mix % 10 < 9:
        return "redeem", -(1 + mix % min(balance, 60))
    return "adjust", 5


def _copy(cursor, table: str, columns: str, lines) -> None:
    with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        block = []
        for line in lines:
            block.append(line)
            if len(block) == BLOCK:
                copy.write("".join(block))
                block.clear()
        if block:
            copy.write("".join(block))


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S+00")


def seed(cursor, *, customers: int, point_program: int, stamp_program: int) -> dict[str, float]:
    """The organization's customers, cards and ledger; seconds spent per phase."""
    now = datetime.now(UTC).replace(microsecond=0)
    spent = {}
    started = time.perf_counter()
    indexes = drop_indexes(cursor, SEEDED_TABLES)
    foreign_keys = drop_foreign_keys(cursor, SEEDED_TABLES)
    joined = _stamp(now - timedelta(days=400))
    _copy(
        cursor,
        "customers_customer",
        "id, customer_code, email, phone, name, status, language, consent_terms_at, "
        "consent_privacy_at, consent_marketing_at, points_expiry_warnings, created_at, updated_at",
        (
            f"{n}\t{customer_code(n)}\t{customer_email(n)}\t{customer_phone(n)}\tMember {n}\tactive\t\t"
            f"{joined}\t{joined}\t{joined if n % 10 < 4 else chr(92) + 'N'}\tt\t{joined}\t{joined}\n"
            for n in range(1, customers + 1)
        ),
    )
    # The ledger in ten rounds over the year; every entry's balance_after follows its card's,
    # and each positive point entry opens a lot (programs.lots). Spending takes the oldest
    # lots first (none expire), so what is left are the newest: a first pass finds each
    # card's final balance and lot total, from which each lot's remaining follows.
    final_points = [0] * (customers + 1)
    lot_total = [0] * (customers + 1)
    for round_ in range(ROUNDS):
        for n in range(1, customers + 1):
            if not (round_ in STAMP_ROUNDS and has_stamp_card(n)):
                delta = point_delta(n, round_, final_points[n])[1]
                final_points[n] += delta
                lot_total[n] += max(delta, 0)
    points = [0] * (customers + 1)
    lotted = [0] * (customers + 1)
    stamps = [0] * (customers + 1)
    first_stamp_card = customers + 1
    stamp_card = {n: first_stamp_card + n // 3 - 1 for n in range(3, customers + 1, 3)}
    days = [_stamp(now - timedelta(days=365) + timedelta(days=day)).split()[0] for day in range(366)]
    round_seconds = 365 * 86400 // ROUNDS

    def entries(lots):
        entry = lot = 0
        for round_ in range(ROUNDS):
            for n in range(1, customers + 1):
                entry += 1
                second = round_ * round_seconds + _mix(n, round_) * round_seconds // 0x10000
                at = (
                    f"{days[second // 86400]} {second // 3600 % 24:02d}:{second // 60 % 60:02d}:"
                    f"{second % 60:02d}+00"
                )
                if round_ in STAMP_ROUNDS and has_stamp_card(n):
                    card, cause, delta = stamp_card[n], "earn", 1
                    stamps[n] += 1
                    balance = stamps[n]
                else:
                    card = n
                    cause, delta = point_delta(n, round_, points[n])
                    points[n] += delta
                    balance = points[n]
                    if delta > 0:
                        lot += 1
                        lotted[n] += delta
                        # The points of the card's later lots are spent last: this one
                        # keeps what the final balance holds beyond them.
                        remaining = min(delta, max(0, final_points[n] - (lot_total[n] - lotted[n])))
                        lots.write(f"{lot}\t{n}\t{entry}\t{delta}\t{remaining}\t0\t{at}\t\\N\t\\N\n")
                yield f"{entry}\t{card}\t{delta}\t{balance}\t{cause}\ts{entry}\t\t\\N\t\\N\t\t{at}\n"

    with tempfile.TemporaryFile("w+") as lots:
        _copy(
            cursor,
            "programs_ledgerentry",
            "id, card_id, delta, balance_after, cause, external_id, api_key_lookup_id, staff_user_id, "
            "reversed_entry_id, note, created_at",
            entries(lots),
        )
        lots.seek(0)
        _copy(
            cursor,
            "programs_pointlot",
            "id, card_id, entry_id, points, remaining, expired, earned_at, expires_at, warned_at",
            lots,
        )
    _copy(
        cursor,
        "programs_card",
        "id, customer_id, program_id, card_number, status, balance, created_at, updated_at",
        (
            line
            for n in range(1, customers + 1)
            for line in (
                f"{n}\t{n}\t{point_program}\t{point_card_number(n)}\tactive\t{points[n]}\t{joined}\t{joined}\n",
                f"{stamp_card[n]}\t{n}\t{stamp_program}\t9{n:011d}\tactive\t{stamps[n]}\t{joined}\t{joined}\n"
                if has_stamp_card(n)
                else "",
            )
            if line
        ),
    )
    for table in SEEDED_TABLES:
        cursor.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608 (our names)
            f"(SELECT max(id) FROM {table}))"
        )
    spent["copy"] = time.perf_counter() - started
    started = time.perf_counter()
    cursor.execute("SET maintenance_work_mem = '256MB'")
    for statement in indexes + foreign_keys:
        cursor.execute(statement)
    spent["indexes and keys"] = time.perf_counter() - started
    return spent


def table_sizes(cursor) -> dict[str, tuple[int, int]]:
    """Rows and bytes (pg_total_relation_size: heap, indexes, TOAST) of the seeded tables."""
    sizes = {}
    for table in SEEDED_TABLES:
        cursor.execute(f"SELECT count(*), pg_total_relation_size('{table}') FROM {table}")  # noqa: S608
        sizes[table] = cursor.fetchone()
    return sizes


# --- One organization, ready to be called ---------------------------------------------------


@dataclass
class Organization:
    label: str
    tenant: object  # tenants.models.Organization
    customers: int
    host: str
    key: str
    staff: object  # test Client signed in as staff
    members: list  # test Clients, each signed in as one member
    sample: list[int]  # customer numbers n, also their ids
    calls: int = 0
    sizes: dict = field(default_factory=dict)
    seconds: dict = field(default_factory=dict)

    def next_customer(self) -> int:
        self.calls += 1
        return self.sample[self.calls % len(self.sample)]


def prepare(label: str, customers: int, *, vacuum: bool = True, signed_in: int = SIGNED_IN) -> Organization:
    """The organization, seeded, with its key, a staff session and `signed_in` member sessions.
    Without `vacuum` (inside a transaction, as in a test), ANALYZE alone."""
    # Django's modules can be imported only once the settings are configured.
    from django.db import connection
    from django.test import Client
    from django_tenants.utils import tenant_context

    from loyalty_platform.accounts.models import User
    from loyalty_platform.customers.login import login_link_create
    from loyalty_platform.customers.models import Customer
    from loyalty_platform.programs.models import Program
    from tenants.models import Domain
    from tenants.services import organization_create

    organization = organization_create(slug=label, name=f"Bench {label}")
    host = Domain.objects.get(tenant=organization, is_primary=True).domain
    key = unlimited_api_key(organization)
    with tenant_context(organization):
        point = Program.objects.create(kind="point", name="Points")
        stamp = Program.objects.create(kind="stamp", name="Stamps", stamps_per_card=10, reward_name="Coffee")
        with connection.cursor() as cursor:
            seconds = seed(cursor, customers=customers, point_program=point.pk, stamp_program=stamp.pk)
            started = time.perf_counter()
            for table in SEEDED_TABLES:
                cursor.execute(f"{'VACUUM ANALYZE' if vacuum else 'ANALYZE'} {table}")
            seconds["vacuum analyze" if vacuum else "analyze"] = time.perf_counter() - started
            sizes = table_sizes(cursor)
        user = User.objects.create_superuser(email=f"owner@{label}.example", password=secrets.token_urlsafe())
        staff = Client()
        staff.force_login(user)
        step = min(customers, CODES) // SAMPLE or 1
        sample = [1 + (index * step + index % step) % min(customers, CODES) for index in range(SAMPLE)]
        members = []
        for n in sample[:signed_in]:
            member = Client()
            link = login_link_create(customer=Customer.objects.get(pk=n))
            response = member.get("/" + link.split("/", 3)[3], HTTP_HOST=host, headers=PROXY_HEADERS)
            if response.status_code != 302:
                raise SystemExit(f"{label}: signing a member in answered {response.status_code}")
            members.append(member)
    return Organization(
        label=label,
        tenant=organization,
        customers=customers,
        host=host,
        key=key,
        staff=staff,
        members=members,
        sample=sample,
        sizes=sizes,
        seconds=seconds,
    )


# --- The calls -------------------------------------------------------------------------------


def pos_get(org: Organization, path: str, params: dict | None = None):
    return org.staff.get(
        f"/webhook/{path}", params or {}, HTTP_HOST=org.host, headers={**PROXY_HEADERS, "X-Api-Key": org.key}
    )


def pos_post(org: Organization, path: str, body: dict):
    return org.staff.post(
        f"/webhook/{path}",
        body,
        content_type="application/json",
        HTTP_HOST=org.host,
        headers={**PROXY_HEADERS, "X-Api-Key": org.key},
    )


def earn(org: Organization):
    n = org.next_customer()
    body = {"customer_code": customer_code(n), "amount": "12.50", "external_id": f"e{org.calls}"}
    return pos_post(org, "pos", body)


def redeem(org: Organization):
    n = org.next_customer()  # the same customers as the earns before, in the same order
    body = {
        "customer_code": customer_code(n),
        "value": 1,
        "card_type": "point",
        "external_id": f"r{org.calls}",
    }
    return pos_post(org, "redeem", body)


def staff_get(org: Organization, path: str, params: dict | None = None):
    return org.staff.get(path, params or {}, HTTP_HOST=org.host, headers=PROXY_HEADERS)


CALLS: dict[str, Callable[[Organization], object]] = {
    "earn": earn,
    "redeem": redeem,
    "look-up code": lambda org: pos_get(org, "customer", {"code": customer_code(org.next_customer())}),
    "look-up email": lambda org: pos_get(org, "customer", {"email": customer_email(org.next_customer())}),
    "look-up phone": lambda org: pos_get(org, "customer", {"phone": customer_phone(org.next_customer())}),
    "look-up card": lambda org: pos_get(
        org, "customer", {"card_number": point_card_number(org.next_customer())}
    ),
    "wallet": lambda org: pos_get(org, f"customers/{customer_code(org.next_customer())}/wallet"),
    "member history": lambda org: org.members[org.next_customer() % len(org.members)].get(
        "/me/api/history", HTTP_HOST=org.host, headers=PROXY_HEADERS
    ),
    "history page": lambda org: staff_get(org, f"/admin/customers/customer/{org.next_customer()}/timeline/"),
    "search email": lambda org: staff_get(
        org, "/admin/customers/customer/", {"q": customer_email(org.next_customer())}
    ),
    "search code": lambda org: staff_get(
        org, "/admin/customers/customer/", {"q": str(customer_code(org.next_customer()))}
    ),
    "search phone": lambda org: staff_get(
        org, "/admin/customers/customer/", {"q": customer_phone(org.next_customer())}
    ),
    "search card": lambda org: staff_get(
        org, "/admin/customers/customer/", {"q": point_card_number(org.next_customer())}
    ),
}
WARM_UP = 5


def measure(orgs: list[Organization], requests: int) -> dict[str, dict[str, list[float]]]:
    """Milliseconds per call, per call name and organization; small and big alternate (and
    which goes first), so that a busy neighbour slows both alike."""
    timings = {name: {org.label: [] for org in orgs} for name in CALLS}
    for name, call in CALLS.items():
        for org in orgs:
            org.calls = 0
            for _ in range(WARM_UP):
                call(org)
        for index in range(requests):
            for org in orgs if index % 2 == 0 else reversed(orgs):
                started = time.perf_counter()
                response = call(org)
                spent = (time.perf_counter() - started) * 1000
                if response.status_code != 200:
                    raise SystemExit(
                        f"{name} on {org.label} answered {response.status_code}: {response.content[:300]!r}"
                    )
                timings[name][org.label].append(spent)
    return timings


def report(small: Organization, big: Organization, timings: dict, requests: int) -> bool:
    print()
    for org in (small, big):
        phases = ", ".join(f"{phase} {seconds:.1f} s" for phase, seconds in org.seconds.items())
        print(
            f"seeded {org.label}: {org.customers:,} customers in {sum(org.seconds.values()):.1f} s ({phases})"
        )
    print()
    print(f"table sizes of {big.label} (pg_total_relation_size: heap, indexes, TOAST):")
    total = 0
    for table, (rows, size) in big.sizes.items():
        total += size
        print(
            f"  {table:<22} {rows:>12,} rows {size / 2**20:>10,.1f} MiB {size / max(rows, 1):>8.0f} B a row"
        )
    print(f"  {'per customer, all four':<22} {total / big.customers:>46.0f} B")
    print()
    print(
        f"server time per call (ms), {requests} calls each; "
        f"goal: ratio {big.label} / {small.label} <= {GOAL_RATIO}"
    )
    print(
        f"{'call':<16} {small.label + ' p50':>10} {'p95':>8}   {big.label + ' p50':>10} {'p95':>8}   "
        f"{'ratio p50':>9} {'p95':>6}  goal"
    )
    met = True
    for name, by_org in timings.items():
        low, high = by_org[small.label], by_org[big.label]
        ratio = statistics.median(high) / statistics.median(low)
        ratio95 = percentile(high, 0.95) / percentile(low, 0.95)
        met &= ratio <= GOAL_RATIO
        print(
            f"{name:<16} {statistics.median(low):>10.1f} {percentile(low, 0.95):>8.1f}   "
            f"{statistics.median(high):>10.1f} {percentile(high, 0.95):>8.1f}   "
            f"{ratio:>9.2f} {ratio95:>6.2f}  {'met' if ratio <= GOAL_RATIO else 'NOT met'}"
        )
    print(
        "load average after: {:.1f} {:.1f} {:.1f} (this machine: {} cores)".format(
            *os.getloadavg(), os.cpu_count()
        )
    )
    print("goal met (ratio of medians)" if met else "goal NOT met")
    return met


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--customers", type=int, default=1_000_000, help="customers of the big organization")
    parser.add_argument("--requests", type=int, default=200, help="measured calls per call and organization")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()
    if args.customers < SMALL_CUSTOMERS:
        parser.error(f"--customers must be at least {SMALL_CUSTOMERS}")

    configure_production(database_name=DATABASE_NAME, redis_namespace="bench")
    import django

    django.setup()
    from django.core.management import call_command

    recreate_database()
    try:
        call_command("migrate_platform", verbosity=0)
        small = prepare("small", SMALL_CUSTOMERS)
        print(
            f"seeding {args.customers:,} customers, {args.customers * ROUNDS:,} ledger entries ...",
            flush=True,
        )
        big = prepare("big", args.customers)
        print("load average before measuring: {:.1f} {:.1f} {:.1f}".format(*os.getloadavg()), flush=True)
        timings = measure([small, big], args.requests)
    finally:
        if not args.keep:
            drop_database()
    met = report(small, big, timings, args.requests)
    sys.exit(0 if met else 1)


if __name__ == "__main__":
    main()
