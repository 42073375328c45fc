"""A thousand organizations on one PostgreSQL (issue 19): what the platform's per-organization
machinery costs when there are many organizations, each figure beside its goal.

1. Creation: --organizations organizations through tenants.services.organization_create (the
   schema cloned from the template), one after the other, each timed; total, mean, and the
   first and last tenth apart (the catalogs grow with every schema). Untimed, each then gets
   an API key, a point program and a customer with a card, so that it can take an earn.
2. A new migration on all of them: a bench-only tenant app (bench.probe, one model) whose
   migration is generated at run time (`makemigrations`) into a throwaway package named by
   MIGRATION_MODULES (bench/many_orgs_settings.py), so no real app's history is touched; then
   `manage.py migrate_platform` (public, template, every organization) with django-tenants'
   parallel executor (EXECUTOR=multiprocessing, TENANT_MULTIPROCESSING_MAX_PROCESSES =
   --processes), timed from start to exit, and checked: every organization's schema and the
   template have the new table. The package is deleted afterwards. Goal <= 10 min.
3. Host routing and earn latency: one uvicorn process (production settings, DEBUG off), one
   keep-alive connection, one request at a time, in each of --layouts: "direct" (PostgreSQL
   reached straight, prepared statements where the connection stays, CONN_MAX_AGE as set)
   and "pgbouncer" (as deployed, docs/deployment.md: PgBouncer in transaction mode, SET LOCAL
   in each transaction, nothing prepared). Each organization first gets one earn (its
   first, cold: reported apart); then blocks of --block requests alternate between "many"
   (cycling over every organization's host and API key) and "one" (the first organization
   only), --requests of each kind, for `GET /ping` on the organization's host (routing alone)
   and for `POST /webhook/pos` (earn). Median and p95 of each and their ratio; goal for the
   earn's median ratio <= 1.2.
4. Memory: the web process's VmRSS (/proc/<pid>/status) after warming up on one organization
   and after serving all of them; goal: growth <= 100 MB.
5. A beat job for all of them: one real Celery worker (solo pool, as deployed per process);
   `core.tasks.dispatch_to_organizations` sent as beat sends it, with --beat-job (default the
   webhook delivery, due every 60 s), timed until every organization's tenants.JobStatus row
   for it records a success after the send.

A database of its own (bench_many_orgs) is created and dropped at the end; --keep leaves it,
and --reuse measures steps 2-5 again on the organizations it holds (each with a new API key).
The migration is stopped after --migration-timeout seconds (then what it did is reported).

    make bench-many-orgs BENCH_ARGS="--organizations 30"     # a quick run
    python -m loyalty_platform.embedded run -- .venv/bin/python bench/many_orgs.py
"""

import argparse
import asyncio
import contextlib
import http.client
import math
import multiprocessing
import os
import re
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

# Neither imports Django.
from bench.common import (  # noqa: E402
    configure_production,
    drop_database,
    percentile,
    print_goal_table,
    recreate_database,
    start_worker,
    stop_worker,
)
from bench.pos_earn import StaleConnection, earn_body, exchange, free_port, stop_group, verdict  # noqa: E402

DATABASE_NAME = "bench_many_orgs"
GOAL_MIGRATE_SECONDS = 600.0
GOAL_RATIO = 1.2
GOAL_MEMORY_MB = 100.0
CUSTOMER_CODE = 100000
PROBE_TABLE = "bench_probe_probe"
DISPATCH_TASK = "loyalty_platform.core.tasks.dispatch_to_organizations"
DEFAULT_BEAT_JOB = "loyalty_platform.webhooks.tasks.deliver_webhooks"
BEAT_TIMEOUT_SECONDS = 3600.0


@dataclass(frozen=True)
class Target:
    """An organization as a POS sees it: the host it calls and its API key."""

    organization_id: int
    host: str
    key: str


@dataclass
class Results:
    organizations: int = 0
    create_seconds: list[float] = field(default_factory=list)
    create_wall_seconds: float = 0.0
    migrate_seconds: float = 0.0
    migrated_schemas: int = 0
    migrate_stopped: bool = False
    # By layout (LAYOUTS), then by kind of request.
    latencies: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    rss_mb: dict[str, dict[str, float]] = field(default_factory=dict)
    beat_seconds: float = 0.0
    beat_first_seconds: float = 0.0
    beat_done: int = 0
    not_ok: Counter = field(default_factory=Counter)


def progress(stage: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {stage}", file=sys.stderr, flush=True)


# --- 1. creation ----------------------------------------------------------------------------


def create_one(index: int) -> tuple[float, Target]:
    """One organization through the real service (timed), then, untimed, what an earn needs:
    an API key without rate limits to speak of, a point program, a customer with a card."""
    from django.utils import timezone
    from django_tenants.utils import tenant_context

    from loyalty_platform.customers.models import Customer
    from loyalty_platform.programs.models import Card, Program
    from loyalty_platform.programs.services import card_number_candidate
    from tenants.services import api_key_create, organization_create, organization_primary_hostname

    started = time.perf_counter()
    organization = organization_create(slug=f"org-{index:04d}", name=f"Organization {index}")
    seconds = time.perf_counter() - started
    issued = api_key_create(organization=organization, label="bench")
    issued.api_key.rate_limits = {"transactions": 100_000_000, "customer": 100_000_000}
    issued.api_key.save(update_fields=["rate_limits"])
    consented = timezone.now()
    with tenant_context(organization):
        program = Program.objects.create(kind="point", name="Points")
        customer = Customer.objects.create(
            customer_code=CUSTOMER_CODE,
            email=f"customer@org-{index}.example",
            consent_terms_at=consented,
            consent_privacy_at=consented,
        )
        Card.objects.create(customer=customer, program=program, card_number=card_number_candidate())
    host = organization_primary_hostname(organization=organization)
    return seconds, Target(organization.pk, host, issued.secret_key)


def existing_targets(results: Results) -> list[Target]:
    """--reuse: the organizations a kept database holds, each with a new API key (the
    secrets of the first run's keys are gone)."""
    from tenants.models import Domain, Organization
    from tenants.services import api_key_create

    targets = []
    for organization in Organization.objects.filter(slug__startswith="org-").order_by("slug"):
        issued = api_key_create(organization=organization, label="bench again")
        issued.api_key.rate_limits = {"transactions": 100_000_000, "customer": 100_000_000}
        issued.api_key.save(update_fields=["rate_limits"])
        host = Domain.objects.get(tenant=organization, is_primary=True).domain
        targets.append(Target(organization.pk, host, issued.secret_key))
    results.organizations = len(targets)
    return targets


def _close_connections() -> None:
    from django.db import connections

    connections.close_all()


def create_organizations(count: int, creators: int, results: Results) -> list[Target]:
    """`creators` processes (forked, each with its own connection) create organizations at the
    same time, as concurrent sign-ups would; each call is timed, and the whole from the first
    to the last."""
    from tenants.services import default_plan

    default_plan()  # before the creators race to make it
    _close_connections()
    created: list[tuple[float, Target] | None] = [None] * count
    started = time.perf_counter()
    context = multiprocessing.get_context("fork")
    with context.Pool(creators, initializer=_close_connections) as pool:
        for done, (index, outcome) in enumerate(pool.imap_unordered(_create_indexed, range(count)), 1):
            created[index] = outcome
            if done % 50 == 0:
                each = (time.perf_counter() - started) / done
                progress(f"{done} organizations created ({each:.2f} s each)")
    results.create_wall_seconds = time.perf_counter() - started
    results.create_seconds = [outcome[0] for outcome in created]
    results.organizations = count
    return [outcome[1] for outcome in created]


def _create_indexed(index: int) -> tuple[int, tuple[float, Target]]:
    return index, create_one(index)


# --- 2. a new migration on every schema ----------------------------------------------------


STARTING = re.compile(r"^\[\d+/\d+ \(\d+%\) multiprocessing:(\S+)\] === Starting migration")


def migrate_everything(processes: int, chunks: int, timeout: float, results: Results) -> None:
    """Generates bench.probe's migration into a throwaway package and runs migrate_platform
    with django-tenants' multiprocessing executor, in processes of their own (as a deploy
    would, and so that the migration loader reads the new package fresh). Stopped after
    `timeout` seconds; then what was done by then is reported."""
    from django.db import connection

    folder = Path(tempfile.mkdtemp(prefix="bench-many-orgs-"))
    package = f"bench_probe_migrations_{os.getpid()}"
    (folder / package).mkdir()
    (folder / package / "__init__.py").write_text("")
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench.many_orgs_settings",
        "BENCH_PROBE_MIGRATIONS": package,
        "PYTHONPATH": os.pathsep.join([str(folder), str(BASE_DIR)]),
        "EXECUTOR": "multiprocessing",
        "BENCH_MIGRATION_PROCESSES": str(processes),
        "BENCH_MIGRATION_CHUNKS": str(chunks),
    }
    manage = [sys.executable, "manage.py"]
    try:
        subprocess.run(
            [*manage, "makemigrations", "bench_probe", "--verbosity", "0"],
            cwd=BASE_DIR,
            env=environment,
            check=True,
        )
        generated = sorted(path.name for path in (folder / package).glob("0*.py"))
        progress(f"generated {', '.join(generated)}; migrate_platform with {processes} processes")
        started = time.perf_counter()
        # Verbosity 1 for the executor's "=== Starting migration" line of each schema.
        process = subprocess.Popen(
            [*manage, "migrate_platform", "--verbosity", "1"],
            cwd=BASE_DIR,
            env=environment,
            stdout=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        timer = threading.Timer(timeout, stop_group, [process])
        timer.start()
        begun = 0
        try:
            for line in process.stdout:
                match = STARTING.match(line)
                if match and match.group(1).startswith("org_"):
                    begun += 1
                    if begun % 100 == 0:
                        progress(f"{begun} organization schemas begun")
            process.wait()
        finally:
            timer.cancel()
            stop_group(process)
        results.migrate_seconds = time.perf_counter() - started
        if process.returncode and results.migrate_seconds < timeout:
            raise SystemExit(f"migrate_platform exited with status {process.returncode}")
        results.migrate_stopped = process.returncode != 0
    finally:
        shutil.rmtree(folder)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "JOIN tenants_organization o ON o.schema_name = n.nspname "
            "WHERE c.relname = %s AND c.relkind = 'r'",
            [PROBE_TABLE],
        )
        results.migrated_schemas = cursor.fetchone()[0]
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [f"template.{PROBE_TABLE}"])
        if not cursor.fetchone()[0]:
            raise SystemExit("the template schema did not get the new migration")


# --- 3 and 4. the web process ---------------------------------------------------------------


# How the web process reaches PostgreSQL: straight (prepared statements, a session SET at a
# change of organization) or as deployed (docs/deployment.md: PgBouncer in transaction mode,
# SET LOCAL in every transaction, no prepared statements).
LAYOUTS = ("direct", "pgbouncer")


def layout_environment(layout: str, pgbouncer_port: int | None) -> dict[str, str]:
    if layout == "direct":
        return dict(os.environ)
    return {
        **os.environ,
        "DATABASE_POOLER": "transaction",
        "DATABASE_HOST": "127.0.0.1",
        "DATABASE_PORT": str(pgbouncer_port),
    }


def start_server(port: int, platform_host: str, environment: dict[str, str]) -> subprocess.Popen:
    """uvicorn with one worker serves in its own process: its pid is the one to watch."""
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "uvicorn", "loyalty_platform.asgi:application"),
            *("--host", "127.0.0.1", "--port", str(port), "--lifespan", "off"),
            *("--no-access-log", "--log-level", "warning"),
        ],
        cwd=BASE_DIR,
        env=environment,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with status {process.returncode}")
        with contextlib.suppress(OSError, http.client.HTTPException):
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/ping", headers={"Host": platform_host, "X-Forwarded-Proto": "https"})
            if conn.getresponse().status == 200:
                conn.close()
                return process
        time.sleep(0.2)
    stop_group(process)
    raise RuntimeError("the server did not answer /ping within 60 s")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def request_bytes(target: Target, kind: str, external_id: str) -> bytes:
    head = f"Host: {target.host}\r\nX-Forwarded-Proto: https\r\nX-Api-Key: {target.key}\r\n"
    if kind == "ping":
        return f"GET /ping HTTP/1.1\r\n{head}\r\n".encode()
    body = earn_body(CUSTOMER_CODE, external_id)
    head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
    return f"POST /webhook/pos HTTP/1.1\r\n{head}\r\n".encode() + body


class Client:
    """One keep-alive connection, one request at a time, each timed from send to answer."""

    def __init__(self, port: int, not_ok: Counter) -> None:
        self.port = port
        self.not_ok = not_ok
        self.connection = None
        self.run = secrets.token_hex(4)
        self.sent = 0

    async def send(self, target: Target, kind: str) -> float:
        self.sent += 1
        request = request_bytes(target, kind, f"{self.run}-{self.sent}")
        if self.connection is None:
            self.connection = await asyncio.open_connection("127.0.0.1", self.port)
        started = time.perf_counter()
        try:
            status, body, keep = await exchange(*self.connection, request)
        except (StaleConnection, ConnectionResetError, BrokenPipeError):
            # Closed by the server while idle: the request never reached it.
            self.connection[1].close()
            self.connection = await asyncio.open_connection("127.0.0.1", self.port)
            started = time.perf_counter()
            status, body, keep = await exchange(*self.connection, request)
        elapsed = (time.perf_counter() - started) * 1000
        if status != 200:
            self.not_ok[f"{kind} {status} {body[:120].decode(errors='replace')}"] += 1
        if not keep:
            self.connection[1].close()
            self.connection = None
        return elapsed

    def close(self) -> None:
        if self.connection is not None:
            self.connection[1].close()


async def serve_all(port: int, targets: list[Target], args, results: Results, layout: str, pid: int) -> None:
    client = Client(port, results.not_ok)
    one = targets[0]
    latencies = results.latencies[layout] = {}
    memory = results.rss_mb[layout] = {}
    try:
        for kind in ("ping", "earn"):
            for _ in range(args.warmup):
                await client.send(one, kind)
        memory["before"] = rss_mb(pid)
        latencies["earn first"] = [await client.send(target, "earn") for target in targets]
        for kind in ("ping", "earn"):
            many: list[float] = []
            single: list[float] = []
            latencies[f"{kind} many"], latencies[f"{kind} one"] = many, single
            position = 0
            while len(many) < args.requests:
                size = min(args.block, args.requests - len(many))
                for _ in range(size):
                    many.append(await client.send(targets[position % len(targets)], kind))
                    position += 1
                for _ in range(size):
                    single.append(await client.send(one, kind))
        memory["after"] = rss_mb(pid)
    finally:
        client.close()


# --- 5. a beat job fanned out -----------------------------------------------------------------


def beat_fan_out(job: str, targets: list[Target], results: Results) -> None:
    from django.utils import timezone

    from loyalty_platform.celery import app
    from tenants.models import JobStatus

    expected = {target.organization_id for target in targets}
    worker = start_worker("bench-many-orgs")
    try:
        sent_at = timezone.now()
        started = time.perf_counter()
        app.send_task(DISPATCH_TASK, args=[job])  # from the public schema, as beat sends it
        deadline = started + BEAT_TIMEOUT_SECONDS
        while time.perf_counter() < deadline:
            done = set(
                JobStatus.objects.filter(
                    job=job, organization_id__in=expected, last_succeeded_at__gte=sent_at
                ).values_list("organization_id", flat=True)
            )
            now = time.perf_counter()
            if done and not results.beat_first_seconds:
                results.beat_first_seconds = now - started
            results.beat_done = len(done)
            if done == expected:
                results.beat_seconds = now - started
                return
            if worker.poll() is not None:
                raise SystemExit("the Celery worker exited")
            time.sleep(0.25)
        results.beat_seconds = float("nan")
    finally:
        stop_worker(worker)


# --- the run --------------------------------------------------------------------------------


def table(args, results: Results) -> list[tuple[str, str, str, str]]:
    count = results.organizations
    created = results.create_seconds
    tenth = max(1, count // 10)
    rows = []
    if created:
        rows.append(
            (
                f"Create {count} organizations (clone), {args.creators} at a time",
                f"{results.create_wall_seconds:.0f} s, {results.create_wall_seconds / count:.2f} s an "
                f"organization; a call {statistics.median(created):.2f} s (median; first tenth "
                f"{statistics.mean(created[:tenth]):.2f} s, last {statistics.mean(created[-tenth:]):.2f} s)",
                "-",
                "-",
            )
        )
    if results.migrate_seconds:
        migrated = results.migrated_schemas == count
        seconds = results.migrate_seconds
        stopped = " (stopped)" if results.migrate_stopped else ""
        rows.append(
            (
                f"New migration, migrate_platform, {args.processes} processes",
                f"{seconds:.0f} s{stopped}: {results.migrated_schemas} of {count} schemas have the table"
                + ("" if results.migrate_stopped else f", {seconds / count:.2f} s a schema"),
                f"<= {GOAL_MIGRATE_SECONDS:.0f} s",
                verdict(seconds <= GOAL_MIGRATE_SECONDS and migrated),
            )
        )
    for layout, latencies in results.latencies.items():
        rows.extend(server_rows(layout, latencies, results.rss_mb[layout], count))
    if results.beat_done:
        finished = not math.isnan(results.beat_seconds)
        rows.append(
            (
                f"Beat job to {count} orgs, one worker",
                (
                    f"{results.beat_seconds:.1f} s ({count / results.beat_seconds:.0f} organizations/s; "
                    f"first after {results.beat_first_seconds:.2f} s)"
                    if finished
                    else f"{results.beat_done} of {count} within {BEAT_TIMEOUT_SECONDS:.0f} s"
                ),
                "-",
                "-",
            )
        )
    rows.append(("Answers not 200", str(sum(results.not_ok.values())), "0", verdict(not results.not_ok)))
    return rows


def server_rows(layout: str, latencies: dict[str, list[float]], memory: dict[str, float], count: int) -> list:
    rows = []
    for kind, name in (("ping", "Host routing, GET /ping"), ("earn", "Earn, POST /webhook/pos")):
        many, single = latencies[f"{kind} many"], latencies[f"{kind} one"]
        ratio = statistics.median(many) / statistics.median(single)
        p95_ratio = percentile(many, 0.95) / percentile(single, 0.95)
        rows.append(
            (
                f"[{layout}] {name}: {count} orgs / 1 (median ms)",
                f"{statistics.median(many):.2f} / {statistics.median(single):.2f} = {ratio:.2f}  "
                f"(p95 {percentile(many, 0.95):.2f} / {percentile(single, 0.95):.2f} = {p95_ratio:.2f})",
                f"<= {GOAL_RATIO}" if kind == "earn" else "-",
                verdict(ratio <= GOAL_RATIO) if kind == "earn" else "-",
            )
        )
    first = latencies["earn first"]
    rows.append(
        (
            f"[{layout}] First earn of each organization (cold)",
            f"median {statistics.median(first):.2f} ms, p95 {percentile(first, 0.95):.2f} ms",
            "-",
            "-",
        )
    )
    growth = memory["after"] - memory["before"]
    rows.append(
        (
            f"[{layout}] Web process RSS, after serving {count} orgs",
            f"{memory['before']:.0f} -> {memory['after']:.0f} MB (+{growth:.1f} MB, "
            f"{growth * 1024 / count:.0f} kB an organization)",
            f"<= +{GOAL_MEMORY_MB:.0f} MB",
            verdict(growth <= GOAL_MEMORY_MB),
        )
    )
    return rows


def report(args, results: Results, seconds: float) -> None:
    load1, _, _ = os.getloadavg()
    print(
        f"\nMany organizations on one PostgreSQL: {results.organizations} organizations, DEBUG off; "
        f"{os.cpu_count()} cores, load {load1:.1f}; {seconds:.0f} s"
    )
    print_goal_table(table(args, results), ("figure", "measured", "goal"))
    if results.latencies:
        print(
            f"requests: {args.requests} of each kind to the {results.organizations} organizations and as "
            f"many to one, in alternating blocks of {args.block}, one at a time on one connection"
        )
    if args.beat_job:
        print(f"beat job: {args.beat_job}")
    for answer, times in results.not_ok.items():
        print(f"not 200 ({times}x): {answer}")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--organizations", type=int, default=1000)
    parser.add_argument(
        "--processes", type=int, default=os.cpu_count() or 2, help="TENANT_MULTIPROCESSING_MAX_PROCESSES"
    )
    parser.add_argument("--creators", type=int, default=1, help="processes creating organizations at once")
    parser.add_argument("--chunks", type=int, default=2, help="TENANT_MULTIPROCESSING_CHUNKS")
    parser.add_argument("--requests", type=int, default=2000, help="timed requests of each kind and side")
    parser.add_argument("--block", type=int, default=50, help="requests per alternating block")
    parser.add_argument("--warmup", type=int, default=200, help="requests of each kind to one, first")
    parser.add_argument(
        "--beat-job", default=DEFAULT_BEAT_JOB, help="per-organization job to fan out ('' for none)"
    )
    parser.add_argument("--skip-migration", action="store_true")
    parser.add_argument(
        "--migration-timeout", type=float, default=3600.0, help="stop the migration after this long"
    )
    parser.add_argument("--skip-server", action="store_true", help="no latency or memory figures")
    parser.add_argument(
        "--layouts",
        type=lambda text: [layout for layout in text.split(",") if layout],
        default=list(LAYOUTS),
        help=f"comma-separated, of {', '.join(LAYOUTS)}",
    )
    parser.add_argument("--keep", action="store_true", help="leave the database")
    parser.add_argument("--reuse", action="store_true", help="the organizations of a --keep run")
    parser.add_argument("--database", default=DATABASE_NAME, help="the benchmark's own database")
    args = parser.parse_args()
    if args.organizations < 1:
        parser.error("--organizations must be at least 1")
    if unknown := set(args.layouts) - set(LAYOUTS):
        parser.error(f"unknown layouts: {', '.join(sorted(unknown))}")

    def stop(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    port = free_port()
    platform_host = "localhost"
    configure_production(
        database_name=args.database,
        redis_namespace=f"bench-many-orgs-{os.getpid()}",
        platform_host=f"{platform_host}:{port}",
    )
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connections

    started = time.monotonic()
    results = Results()
    server = None
    try:
        if args.reuse:
            targets = existing_targets(results)
        else:
            progress("a fresh database")
            recreate_database()
            call_command("migrate_platform", verbosity=0)
            progress(f"creating {args.organizations} organizations")
            targets = create_organizations(args.organizations, args.creators, results)
        if not args.skip_migration:
            migrate_everything(args.processes, args.chunks, args.migration_timeout, results)
        connections.close_all()
        if not args.skip_server:
            from tests.processes import pgbouncer

            pooler = pgbouncer(pool_size=2) if "pgbouncer" in args.layouts else contextlib.nullcontext()
            with pooler as pgbouncer_port:
                for layout in args.layouts:
                    progress(f"one uvicorn process, {layout}")
                    server = start_server(port, platform_host, layout_environment(layout, pgbouncer_port))
                    asyncio.run(serve_all(port, targets, args, results, layout, server.pid))
                    stop_group(server)
                    server = None
        if args.beat_job:
            progress(f"fan-out of {args.beat_job}")
            beat_fan_out(args.beat_job, targets, results)
    finally:
        stop_group(server)
        if not args.keep:
            drop_database()
    report(args, results, time.monotonic() - started)
    return 1 if results.not_ok else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("interrupted: server stopped, database dropped", file=sys.stderr)
        sys.exit(130)
