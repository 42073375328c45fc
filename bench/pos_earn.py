"""Every speed goal of `POST /webhook/pos` (earn) in one run, each figure beside its goal and
beside the bare view (`GET /ping`), so that runs before and after a change compare directly.

1. Python CPU per call, in this process: earns and pings through Django's WSGI handler with
   the headers a POS sends (X-Api-Key, X-Forwarded-Proto: https), time.process_time per call
   after a warm-up, median of several rounds.
2. Round trips per earn, in this process: every message to PostgreSQL from libpq's own trace
   (so nothing escapes a Python-level hook: `SET search_path`, health checks, BEGIN), with
   transaction control listed apart; commits counted in the trace and checked against
   PostgreSQL's pg_stat_database; Redis round trips from the Redis server's INFO commandstats,
   less the commands Lua scripts run inside their one round trip (told apart by MONITOR).
3. Throughput on the server as deployed (uvicorn with --workers, default WEB_CONCURRENCY or
   the cores; production settings, DEBUG off): `wrk` (make bench-tools) drives earn, then
   ping; every earn has its own external_id. Without wrk this part is skipped.
4. Latency at a fixed offered load (open loop): request k is sent at t0 + k/rate on one of many
   keep-alive connections, whether or not earlier answers came back, and is timed from that
   scheduled instant, so queueing counts. Before it, Redis calls per earn on the server are
   counted over a closed loop of earns (each served in full, so the count is exact).

A database of its own (bench_pos_earn) is created and dropped. Loopback only. Every answer
must be 200; any other is counted, shown, and makes the run exit with status 1.

    python -m loyalty_platform.embedded run -- .venv/bin/python bench/pos_earn.py [--verbose]
    make bench-pos BENCH_ARGS="--no-server --verbose"     # in-process figures only (~30 s)
"""

import argparse
import asyncio
import contextlib
import ctypes
import http.client
import io
import math
import os
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import redis
from psycopg import pq

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

# Both need BASE_DIR on the path; neither imports Django.
from bench.common import (  # noqa: E402
    configure_production,
    drop_database,
    print_goal_table,
    recreate_database,
    unlimited_api_key,
)

DATABASE_NAME = "bench_pos_earn"
HOST = "bench.localhost"
# Production answers plain HTTP with a redirect; as deployed, a TLS-terminating proxy says so.
PROXY_HEADERS = {"X-Forwarded-Proto": "https"}

LIBC = ctypes.CDLL(None)

GOAL_CPU_MS = 3.5
GOAL_RATIO = 0.4
GOAL_P99_MS = 50.0
GOAL_REDIS = 1
GOAL_SQL = 6
GOAL_COMMITS = 1

TRANSACTION_CONTROL = re.compile(r"^\s*(BEGIN|START TRANSACTION|COMMIT|ROLLBACK|SAVEPOINT|RELEASE)\b", re.I)
WRITES = re.compile(r"^\s*(INSERT|UPDATE|DELETE|MERGE)\b|\(\s*(INSERT|UPDATE|DELETE|MERGE)\b", re.I)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def prepare(customers: int) -> tuple[str, list[int]]:
    """Fresh database with one organization, its programs, customers with cards, and a key."""
    import django

    django.setup()
    # Django's modules can be imported only once the settings are configured.
    from django.core.management import call_command
    from django.db import connections
    from django_tenants.utils import tenant_context

    from loyalty_platform.customers.models import Customer
    from loyalty_platform.programs.models import Card, Program
    from loyalty_platform.programs.services import card_number_candidate
    from tenants.services import organization_create

    recreate_database()
    call_command("migrate_platform", verbosity=0)
    organization = organization_create(slug="bench", name="Bench Café")
    secret_key = unlimited_api_key(organization)
    with tenant_context(organization):
        point = Program.objects.create(kind="point", name="Points")
        stamp = Program.objects.create(kind="stamp", name="Stamps", stamps_per_card=10, reward_name="Coffee")
        Customer.objects.bulk_create(
            Customer(
                customer_code=100000 + index,
                email=f"bench{index}@example.com",
                consent_terms_at="2026-01-01T00:00:00Z",
                consent_privacy_at="2026-01-01T00:00:00Z",
            )
            for index in range(customers)
        )
        codes = sorted(Customer.objects.values_list("customer_code", flat=True))
        Card.objects.bulk_create(
            Card(customer=customer, program=program, card_number=card_number_candidate())
            for customer in Customer.objects.all()
            for program in (point, stamp)
        )
    connections.close_all()
    return secret_key, codes


def earn_body(code: int, external_id: str) -> bytes:
    return f'{{"customer_code": {code}, "amount": "12.50", "external_id": "{external_id}"}}'.encode()


# --- 1 and 2: in this process -------------------------------------------------------------


class InProcess:
    """Calls the Django stack as a WSGI server would, with the headers of a POS behind TLS."""

    def __init__(self, key: str, codes: list[int]):
        from django.core.handlers.wsgi import WSGIHandler

        self.handler = WSGIHandler()
        self.key = key
        self.codes = codes
        self.run = secrets.token_hex(4)
        self.sent = 0
        self.not_ok: Counter = Counter()

    def _call(self, method: str, path: str, body: bytes = b"") -> int:
        environ = {
            "REQUEST_METHOD": method,
            "PATH_INFO": path,
            "SCRIPT_NAME": "",
            "QUERY_STRING": "",
            "SERVER_NAME": HOST,
            "SERVER_PORT": "80",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "127.0.0.1",
            "HTTP_HOST": HOST,
            "HTTP_X_FORWARDED_PROTO": "https",
            "HTTP_X_API_KEY": self.key,
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(body),
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": False,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
        }
        if body:
            environ["CONTENT_TYPE"] = "application/json"
            environ["CONTENT_LENGTH"] = str(len(body))
        statuses = []
        response = self.handler(environ, lambda status, headers, exc_info=None: statuses.append(status))
        content = b"".join(response)
        response.close()  # request_finished, as a server sends it
        status = int(statuses[0].split()[0])
        if status != 200:
            self.not_ok[f"{status} {content[:120].decode(errors='replace')}"] += 1
        return status

    def earn(self) -> int:
        self.sent += 1
        code = self.codes[self.sent % len(self.codes)]
        return self._call("POST", "/webhook/pos", earn_body(code, f"{self.run}-{self.sent}"))

    def bare(self) -> int:
        return self._call("GET", "/ping")


def cpu_per_call(app: InProcess, calls: int, rounds: int) -> tuple[float, float]:
    """Median over rounds of CPU ms per earn and per ping; earns and pings alternate by round
    so that a busy neighbour slows both alike."""
    for _ in range(30):
        app.earn()
        app.bare()
    per_round = max(1, calls // rounds)
    earn_ms, bare_ms = [], []
    for _ in range(rounds):
        started = time.process_time()
        for _ in range(per_round):
            app.earn()
        earn_ms.append((time.process_time() - started) * 1000 / per_round)
        started = time.process_time()
        for _ in range(per_round):
            app.bare()
        bare_ms.append((time.process_time() - started) * 1000 / per_round)
    return statistics.median(earn_ms), statistics.median(bare_ms)


@dataclass
class RoundTrip:
    text: str
    before: str  # transaction status before it: I idle, T in a transaction, E failed
    after: str = "?"
    tag: str = ""
    error: bool = False

    @property
    def control(self) -> bool:
        return bool(TRANSACTION_CONTROL.match(self.text))

    @property
    def commits(self) -> bool:
        if self.error or self.after != "I":
            return False
        if self.control:
            return self.tag == "COMMIT"
        return self.before == "I"  # a statement outside a transaction is one of its own

    @property
    def autocommit(self) -> bool:
        return self.commits and not self.control


def trace_messages(text: str) -> list[str]:
    """libpq's trace has a message a line (F from us, B from the server), but a statement
    with newlines spans several; '#earn' lines are the benchmark's own markers."""
    messages: list[str] = []
    for line in text.splitlines():
        if line.startswith(("F\t", "B\t", "#earn")) or not messages:
            messages.append(line)
        else:
            messages[-1] += "\n" + line
    return messages


def _quoted(rest: str, first: int) -> tuple[str, int]:
    """The quoted name starting at or after first (names hold no quotes), and where it ends."""
    opening = rest.index('"', first)
    closing = rest.index('"', opening + 1)
    return rest[opening + 1 : closing], closing + 1


def parse_trace(text: str, prepared_before: dict[str, str]) -> list[list[RoundTrip]]:
    """Each earn's round trips. libpq prints statement text between quotes without escaping
    the quotes inside, so a statement runs from its opening quote to the message's last one.
    A prepared statement's text is in its Parse message, or in `prepared_before` (the
    connection's statements prepared before the trace started)."""
    earns: list[list[RoundTrip]] = []
    current: list[RoundTrip] | None = None
    pending: RoundTrip | None = None
    prepared = dict(prepared_before)
    status = "I"
    for message in trace_messages(text):
        if message == "#earn":
            current = []
            earns.append(current)
            continue
        parts = message.split("\t", 3)
        if len(parts) < 3:
            continue
        direction, kind, rest = parts[0], parts[2], parts[3] if len(parts) > 3 else ""
        if direction == "F" and kind == "Query":
            pending = RoundTrip(text=rest[rest.index('"') + 1 : rest.rindex('"')], before=status)
        elif direction == "F" and kind == "Parse":
            name, end = _quoted(rest, 0)
            query_start = rest.index('"', end) + 1
            prepared[name] = rest[query_start : rest.rindex('"')]
            pending = RoundTrip(text=prepared[name], before=status)
        elif direction == "F" and kind == "Bind" and pending is None:
            _, end = _quoted(rest, 0)
            pending = RoundTrip(text=prepared.get(_quoted(rest, end)[0], "?"), before=status)
        elif direction == "B" and pending is not None:
            if kind == "CommandComplete":
                pending.tag = _quoted(rest, 0)[0]
            elif kind == "ErrorResponse":
                pending.error = True
            elif kind == "ReadyForQuery":
                status = rest.strip()[:1] or "?"
                pending.after = status
                if current is not None:
                    current.append(pending)
                pending = None
    return earns


def redis_commandstats(client: redis.Redis) -> Counter:
    stats = client.info("commandstats")
    return Counter(
        {
            name.removeprefix("cmdstat_"): value["calls"]
            for name, value in stats.items()
            if name != "cmdstat_info"  # the benchmark's own
        }
    )


# What a new Redis connection sends before its first command (CLIENT SETINFO fails on Redis < 7.2).
REDIS_CONNECTION_SETUP = {"hello", "client", "select", "auth"}


def per_earn(calls: Counter, earns: int) -> dict[str, float]:
    return {name: count / earns for name, count in calls.most_common() if count}


def redis_summary(by_command: dict[str, float]) -> str:
    return ", ".join(f"{name} {calls:.2f}" for name, calls in by_command.items())


class RedisCalls:
    """Round trips to Redis between entering and leaving. INFO commandstats counts every
    command, also those a Lua script runs within its one round trip; MONITOR, which shows
    those as the "lua" client, tells them apart. The two INFOs delimit the window in both."""

    def __init__(self, client: redis.Redis):
        self.client = client
        self.events: list[dict] = []
        self.calls: Counter = Counter()
        self.in_scripts: Counter = Counter()

    def __enter__(self) -> "RedisCalls":
        self.listener = redis.Redis.from_url(os.environ["REDIS_URL"])
        self.monitor = self.listener.monitor().__enter__()  # MONITOR has been answered
        self.marker = f"bench-monitor-end-{secrets.token_hex(4)}"
        self.thread = threading.Thread(target=self._listen, daemon=True)
        self.thread.start()
        self.before = redis_commandstats(self.client)
        return self

    def _listen(self) -> None:
        with contextlib.suppress(redis.RedisError, OSError):
            for event in self.monitor.listen():
                if self.marker in event["command"]:
                    return
                self.events.append(event)

    def __exit__(self, *exc_info) -> None:
        after = redis_commandstats(self.client)
        self.client.echo(self.marker)
        self.thread.join(10)
        self.listener.close()
        if exc_info[0] is not None:
            return
        inside, window = False, []
        for event in self.events:
            if event["command"].upper().startswith("INFO COMMANDSTATS"):
                inside = not inside
            elif inside:
                window.append(event)
        self.events = window
        self.in_scripts = Counter(
            event["command"].split()[0].lower() for event in window if event["client_type"] == "lua"
        )
        self.calls = (after - self.before) - self.in_scripts


def pg_commits(admin: psycopg.Connection) -> int:
    row = admin.execute(
        "SELECT xact_commit FROM pg_stat_database WHERE datname = %s", [DATABASE_NAME]
    ).fetchone()
    return int(row[0])


@dataclass
class Counts:
    earns: int
    sql: float
    sql_min: int
    sql_max: int
    control: float
    commits: float
    autocommit: float
    writing_commits: float
    pg_commits: float
    redis_by_command: dict = field(default_factory=dict)
    redis_in_scripts: float = 0.0
    one_earn: list = field(default_factory=list)


def autovacuum(connection, *, enabled: bool) -> None:
    option = "RESET (autovacuum_enabled)" if enabled else "SET (autovacuum_enabled = false)"
    with connection.cursor() as cursor:
        # Without parameters the statement goes as written: one % each.
        cursor.execute("SELECT format('%I.%I', schemaname, relname) FROM pg_stat_user_tables")
        for (table,) in cursor.fetchall():
            cursor.execute(f"ALTER TABLE {table} {option}")  # names quoted by format() above


def count_round_trips(app: InProcess, earns: int, admin: psycopg.Connection, rc: redis.Redis) -> Counts:
    from django.db import connection

    # Autovacuum's transactions would count in pg_stat_database; the database is thrown away.
    autovacuum(connection, enabled=False)
    # A fresh connection, so that CONN_MAX_AGE does not replace it (untraced) in the window.
    connection.close()
    app.earn()
    raw = connection.connection

    def flush_stats() -> None:
        # Pending statistics of this backend reach pg_stat_database when it next goes idle.
        raw.execute("SELECT pg_stat_force_next_flush()")

    with tempfile.TemporaryFile() as trace_file:
        # libpq keeps the stream open after untrace, so it gets a descriptor of its own.
        trace_fd = os.dup(trace_file.fileno())
        prepared_before = dict(raw.execute("SELECT name, statement FROM pg_prepared_statements").fetchall())
        flush_stats()
        commits_before = pg_commits(admin)
        raw.pgconn.trace(trace_fd)
        raw.pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS | pq.Trace.REGRESS_MODE)
        try:
            with RedisCalls(rc) as redis_calls:
                for _ in range(earns):
                    LIBC.fflush(None)  # libpq's trace stream, so the marker lands after what it holds
                    os.write(trace_fd, b"#earn\n")
                    app.earn()
        finally:
            LIBC.fflush(None)
            raw.pgconn.untrace()
        if connection.connection is not raw:
            raise RuntimeError("Django replaced its connection while round trips were counted")
        flush_stats()
        commits_after = pg_commits(admin) - 1  # flush_stats' own statement
        autovacuum(connection, enabled=True)
        trace_file.seek(0)
        traced = parse_trace(trace_file.read().decode(errors="replace"), prepared_before)

    def mean(values) -> float:
        return sum(values) / len(traced)

    def writing(trips: list[RoundTrip]) -> int:
        count, wrote = 0, False
        for trip in trips:
            wrote = wrote or (not trip.control and bool(WRITES.search(trip.text)))
            if trip.commits:
                count += wrote
                wrote = False
            elif trip.after == "I":
                wrote = False
        return count

    sql = [sum(not trip.control for trip in trips) for trips in traced]
    return Counts(
        earns=len(traced),
        sql=mean(sql),
        sql_min=min(sql),
        sql_max=max(sql),
        control=mean(sum(trip.control for trip in trips) for trips in traced),
        commits=mean(sum(trip.commits for trip in trips) for trips in traced),
        autocommit=mean(sum(trip.autocommit for trip in trips) for trips in traced),
        writing_commits=mean(writing(trips) for trips in traced),
        pg_commits=(commits_after - commits_before) / len(traced),
        redis_by_command=per_earn(redis_calls.calls, earns),
        redis_in_scripts=sum(redis_calls.in_scripts.values()) / earns,
        one_earn=traced[-1],
    )


# --- 3 and 4: the server as deployed ------------------------------------------------------


def default_workers() -> int:
    return int(os.environ.get("WEB_CONCURRENCY") or os.cpu_count() or 1)


def start_server(port: int, workers: int) -> subprocess.Popen:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "loyalty_platform.asgi:application",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--lifespan",
            "off",
            "--no-access-log",
            "--log-level",
            "warning",
        ],
        cwd=BASE_DIR,
        env=os.environ,
        start_new_session=True,  # its own process group, so stopping it reaches every worker
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with status {process.returncode}")
        with contextlib.suppress(OSError, http.client.HTTPException):
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/ping", headers={"Host": HOST, **PROXY_HEADERS})
            if conn.getresponse().status == 200:
                conn.close()
                return process
        time.sleep(0.2)
    stop_group(process)
    raise RuntimeError("the server did not answer /ping within 60 s")


def stop_group(process: subprocess.Popen | None) -> None:
    if process is None or process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=15)
    # Whatever of the group is left (the leader, or a worker that outlived it).
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=5)


def server_workers(server: subprocess.Popen) -> int:
    """Worker processes in the server's group (uvicorn with one worker has none: it serves)."""
    workers = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) == server.pid:
                cmdline = (stat.parent / "cmdline").read_bytes()
                workers += b"spawn_main" in cmdline
    return workers or 1


WRK_SCRIPT = r"""
-- bench/pos_earn.py's load. Arguments: earn or bare, a run id, the first customer code and how
-- many there are; the API key comes in BENCH_API_KEY. Every earn has its own external_id
-- ("<run>-<thread>-<n>"); customers cycle, each thread starting elsewhere in the list.
-- Any answer but 200 is counted.
local threads = {}
local created = 0

function setup(thread)
  created = created + 1
  thread:set("id", created)
  table.insert(threads, thread)
end

function init(args)
  mode, run, key = args[1], args[2], os.getenv("BENCH_API_KEY")
  first, customers = tonumber(args[3]), tonumber(args[4])
  sent, not_ok, bad_example = 0, 0, ""
  offset = (id - 1) * 9973
  headers = {
    ["Host"] = "bench.localhost",
    ["X-Forwarded-Proto"] = "https",
    ["X-Api-Key"] = key,
  }
end

function request()
  sent = sent + 1
  if mode == "bare" then
    return wrk.format("GET", "/ping", headers)
  end
  local code = first + (offset + sent) % customers
  headers["Content-Type"] = "application/json"
  local body = string.format(
    '{"customer_code": %d, "amount": "12.50", "external_id": "%s-%d-%d"}', code, run, id, sent)
  return wrk.format("POST", "/webhook/pos", headers, body)
end

function response(status, headers, body)
  if status ~= 200 then
    not_ok = not_ok + 1
    if bad_example == "" then
      bad_example = status .. " " .. string.sub(string.gsub(body or "", "%s+", " "), 1, 120)
    end
  end
end

function done(summary, latency, requests)
  local bad, example = 0, ""
  for _, thread in ipairs(threads) do
    bad = bad + thread:get("not_ok")
    if example == "" then example = thread:get("bad_example") or "" end
  end
  local e = summary.errors
  io.write(string.format("BENCH %d %d %d %d\n", summary.requests, summary.duration, bad,
    e.connect + e.read + e.write + e.timeout))
  if example ~= "" then io.write("BENCH-EXAMPLE " .. example .. "\n") end
end
"""


@dataclass
class Load:
    requests: int
    rps: float
    not_ok: int
    example: str = ""


def run_wrk(port: int, mode: str, seconds: float, args, key: str, codes: list[int]) -> Load:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT)
    process = None
    try:
        command = ["wrk", "-t", str(args.threads), "-c", str(args.connections), "-d", f"{seconds:g}s"]
        command += ["--timeout", "5s", "-s", script.name, f"http://127.0.0.1:{port}"]
        command += ["--", mode, secrets.token_hex(4), str(codes[0]), str(len(codes))]
        process = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "BENCH_API_KEY": key},
            start_new_session=True,
        )
        output, _ = process.communicate(timeout=seconds + 30)
    finally:
        stop_group(process)
        os.unlink(script.name)
    summary = next((line.split() for line in output.splitlines() if line.startswith("BENCH ")), None)
    if summary is None:
        raise RuntimeError(f"wrk printed no summary:\n{output}")
    requests, duration_us, not_ok, socket_errors = (int(value) for value in summary[1:])
    example = next((line[14:] for line in output.splitlines() if line.startswith("BENCH-EXAMPLE ")), "")
    if socket_errors and not example:
        example = f"{socket_errors} socket errors or timeouts"
    return Load(requests, requests / (duration_us / 1e6), not_ok + socket_errors, example)


class StaleConnection(Exception):
    """The server closed a kept-alive connection before this request was read."""


async def exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes):
    writer.write(request)
    await writer.drain()
    status_line = await reader.readline()
    if not status_line:
        raise StaleConnection
    status = int(status_line.split()[1])
    headers = {}
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    if "content-length" in headers:
        body = await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        body = b""
        while size := int((await reader.readline()).split(b";")[0], 16):
            body += await reader.readexactly(size)
            await reader.readline()
        await reader.readline()
    else:
        body = await reader.read()
    return status, body, headers.get("connection", "").lower() != "close"


@dataclass
class OpenLoop:
    sent: int
    latencies_ms: list[float]
    not_ok: Counter
    connections: int
    late_ms: float  # how far behind schedule the sender itself fell, at worst
    seconds: float = 0.0  # from the first scheduled request to the last answer

    def percentile(self, fraction: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]  # nearest rank


def earn_request(key: str, code: int, external_id: str) -> bytes:
    body = earn_body(code, external_id)
    head = f"POST /webhook/pos HTTP/1.1\r\nHost: {HOST}\r\nX-Forwarded-Proto: https\r\n"
    head += f"X-Api-Key: {key}\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    return head.encode() + body


async def closed_loop(port: int, earns: int, connections: int, key: str, codes: list[int]) -> Counter:
    """earns on a few connections, each sent when the previous answer came: every one has been
    served in full when this returns, so server-side counters over it are exact."""
    run = secrets.token_hex(4)
    numbers = iter(range(earns))
    not_ok: Counter = Counter()

    async def worker() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            for index in numbers:
                request = earn_request(key, codes[(index * 7) % len(codes)], f"{run}-{index}")
                async with asyncio.timeout(30):
                    status, body, _ = await exchange(reader, writer, request)
                if status != 200:
                    not_ok[f"{status} {body[:120].decode(errors='replace')}"] += 1
        finally:
            writer.close()

    await asyncio.gather(*(worker() for _ in range(connections)))
    return not_ok


async def open_loop(port: int, rate: float, seconds: float, key: str, codes: list[int]) -> OpenLoop:
    total = max(1, round(rate * seconds))
    run = secrets.token_hex(4)
    idle: list = []
    opened = 0
    limit = asyncio.Semaphore(256)
    result = OpenLoop(total, [], Counter(), 0, 0.0)

    def request(index: int) -> bytes:
        return earn_request(key, codes[index % len(codes)], f"{run}-{index}")

    async def connect():
        nonlocal opened
        opened += 1
        return await asyncio.open_connection("127.0.0.1", port)

    async def one(index: int, due: float) -> None:
        connection = None
        try:
            async with asyncio.timeout(10), limit:
                reused = bool(idle)
                connection = idle.pop() if reused else await connect()
                try:
                    status, body, keep = await exchange(*connection, request(index))
                except (StaleConnection, ConnectionResetError, BrokenPipeError):
                    if not reused:
                        raise
                    # Closed by the server while idle: the request never reached it; send it anew.
                    connection[1].close()
                    connection = await connect()
                    status, body, keep = await exchange(*connection, request(index))
            if status != 200:
                result.not_ok[f"{status} {body[:120].decode(errors='replace')}"] += 1
            if keep:
                idle.append(connection)
                connection = None
        except TimeoutError:
            result.not_ok["no answer within 10 s"] += 1
        except (OSError, StaleConnection, asyncio.IncompleteReadError, ValueError, IndexError) as error:
            result.not_ok[f"{type(error).__name__}: {error}"] += 1
        finally:
            # Every request counts, a failed one too (at least as long as it was given).
            result.latencies_ms.append((time.perf_counter() - due) * 1000)
            if connection is not None:
                connection[1].close()

    for _ in range(8):
        idle.append(await connect())
    tasks = []
    start = time.perf_counter() + 0.1
    for index in range(total):
        due = start + index / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        else:
            result.late_ms = max(result.late_ms, -delay * 1000)
        tasks.append(asyncio.create_task(one(index, due)))
    await asyncio.gather(*tasks)
    result.seconds = time.perf_counter() - start
    for _, writer in idle:
        writer.close()
    result.connections = opened
    return result


# --- the run ------------------------------------------------------------------------------


@dataclass
class Results:
    cpu_earn_ms: float = 0.0
    cpu_bare_ms: float = 0.0
    counts: Counts | None = None
    monitored: list[str] = field(default_factory=list)
    workers_serving: int = 0
    loads: dict[str, Load] = field(default_factory=dict)
    server_redis: dict[str, float] | None = None
    opened: OpenLoop | None = None
    not_ok: dict[str, Counter] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    pg_version: int = 0


def measure(args, port: int, results: Results) -> None:
    progress("a fresh database")
    key, codes = prepare(args.customers)
    from django.db import connection  # configured by prepare()

    results.pg_version = connection.pg_version
    app = InProcess(key, codes)
    rc = redis.Redis.from_url(os.environ["REDIS_URL"])
    settings = connection.settings_dict
    with psycopg.connect(
        host=settings["HOST"],
        port=settings["PORT"],
        user=settings["USER"],
        dbname="postgres",
        autocommit=True,
    ) as admin:
        progress("CPU per call, in-process")
        results.cpu_earn_ms, results.cpu_bare_ms = cpu_per_call(app, args.calls, rounds=20)
        progress("round trips, in-process")
        results.counts = count_round_trips(app, args.count_earns, admin, rc)
    if args.verbose:
        with RedisCalls(rc) as one_earn:
            app.earn()
        results.monitored = [
            event["command"] + ("   (in the script)" if event["client_type"] == "lua" else "")
            for event in one_earn.events
        ]
    results.not_ok["in-process"] = app.not_ok
    if args.no_server:
        return

    progress(f"uvicorn --workers {args.workers}")
    server = start_server(port, args.workers)
    try:
        if shutil.which("wrk"):
            for mode in ("earn", "bare"):
                progress(f"wrk, {'earn' if mode == 'earn' else 'ping'}")
                run_wrk(port, mode, 2, args, key, codes)  # warm-up: every worker, its caches
                load = results.loads[mode] = run_wrk(port, mode, args.seconds, args, key, codes)
                results.not_ok[f"wrk {mode}"] = Counter({load.example: load.not_ok})
        else:
            results.notes.append("wrk is not installed (make bench-tools): no throughput figures")
            asyncio.run(closed_loop(port, 200, 8, key, codes))  # warm-up instead
        progress("Redis calls on the server")
        # The ping run left every worker without a POS call for longer than the local caches
        # go unconfirmed (LOCAL_CACHE_SECONDS): warm them again, as for the in-process count.
        # Many connections, so that every worker (each accepts its share) serves some.
        asyncio.run(closed_loop(port, 200, 32, key, codes))
        time.sleep(0.5)  # the warm-up's last realtime events, which go out after the answers
        with RedisCalls(rc) as server_calls:
            results.not_ok["counted"] = asyncio.run(closed_loop(port, args.count_earns, 4, key, codes))
            time.sleep(0.5)
        results.server_redis = per_earn(server_calls.calls, args.count_earns)
        progress(f"open loop, {args.rate:g} earns/s")
        results.opened = asyncio.run(open_loop(port, args.rate, args.open_seconds, key, codes))
        results.workers_serving = server_workers(server)
        results.not_ok["open loop"] = results.opened.not_ok
    finally:
        stop_group(server)


def progress(stage: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {stage}", file=sys.stderr, flush=True)


def verdict(ok: bool) -> str:
    return "yes" if ok else "NO"


def table(args, results: Results) -> list[tuple[str, str, str, str]]:
    counts = results.counts
    cpu, bare = results.cpu_earn_ms, results.cpu_bare_ms
    rows = [
        (
            "Python CPU per earn (in-process)",
            f"{cpu:.2f} ms  (ping {bare:.2f} ms, x{cpu / bare:.1f})",
            f"<= {GOAL_CPU_MS} ms",
            verdict(cpu <= GOAL_CPU_MS),
        )
    ]
    if results.loads:
        earn, ping = results.loads["earn"], results.loads["bare"]
        ratio = earn.rps / ping.rps
        rows.append(
            (
                "Throughput earn / ping (wrk)",
                f"{earn.rps:.0f} / {ping.rps:.0f} req/s = {ratio:.2f}",
                f">= {GOAL_RATIO}",
                verdict(ratio >= GOAL_RATIO),
            )
        )
    opened = results.opened
    if opened is not None and opened.latencies_ms:
        p99 = opened.percentile(0.99)
        rows.append(
            (
                f"Open loop {args.rate:g} earn/s, {args.open_seconds:g} s: p99",
                f"{p99:.1f} ms  (p50 {opened.percentile(0.5):.1f}, p90 {opened.percentile(0.9):.1f}, "
                f"max {max(opened.latencies_ms):.1f})",
                f"<= {GOAL_P99_MS:g} ms",
                verdict(p99 <= GOAL_P99_MS),
            )
        )
    in_process = sum(counts.redis_by_command.values())
    setup = sum(calls for name, calls in counts.redis_by_command.items() if name in REDIS_CONNECTION_SETUP)
    local = f"in-process {in_process:.2f}" + (f", {setup:.2f} of them connecting" if setup else "")
    if results.server_redis is not None:
        redis_calls = sum(results.server_redis.values())
        value = f"{redis_calls:.2f} on the server  ({local})"
    else:
        redis_calls = in_process - setup
        value = f"{redis_calls:.2f} without connecting  ({local})"
    rows.append(("Redis calls per earn", value, f"<= {GOAL_REDIS}", verdict(redis_calls <= GOAL_REDIS)))
    spread = f", {counts.sql_min}-{counts.sql_max}" if counts.sql_min != counts.sql_max else ""
    rows.append(
        (
            "SQL statements per earn",
            f"{counts.sql:.2f}{spread}  (+ {counts.control:.2f} BEGIN/COMMIT/SAVEPOINT)",
            f"<= {GOAL_SQL}",
            verdict(counts.sql <= GOAL_SQL),
        )
    )
    rows.append(
        (
            "Commits per earn (writing)",
            f"{counts.writing_commits:.2f}  (all {counts.commits:.2f}, PostgreSQL says "
            f"{counts.pg_commits:.2f}; {counts.autocommit:.2f} one-statement)",
            f"{GOAL_COMMITS}",
            verdict(counts.writing_commits == GOAL_COMMITS),
        )
    )
    total_not_ok = sum(sum(counter.values()) for counter in results.not_ok.values())
    rows.append(
        (
            "Answers not 200",
            ", ".join(f"{name} {sum(counter.values())}" for name, counter in results.not_ok.items()),
            "0",
            verdict(total_not_ok == 0),
        )
    )
    return rows


def report(args, results: Results, seconds: float) -> None:
    load1, _, _ = os.getloadavg()
    if args.no_server:
        server = "no server"
    else:
        server = f"uvicorn --workers {args.workers} ({results.workers_serving} serving)"
    print(
        f"\nPOS earn benchmark: {server}, DEBUG off, "
        f"PostgreSQL {results.pg_version // 10000}; {os.cpu_count()} cores, load {load1:.1f}; {seconds:.0f} s"
    )
    print_goal_table(table(args, results), ("goal", "measured", "target"))
    counts = results.counts
    if results.loads:
        print(
            f"wrk: {args.threads} threads, {args.connections} connections, {args.seconds:g} s each: "
            f"{results.loads['earn'].requests} earns, {results.loads['bare'].requests} pings"
        )
    if results.opened is not None:
        print(
            f"open loop: {results.opened.sent} earns on {results.opened.connections} connections, "
            f"all answered after {results.opened.seconds:.1f} s; "
            f"the sender at most {results.opened.late_ms:.1f} ms behind its schedule"
        )
    scripts = f" (and {counts.redis_in_scripts:.2f} inside scripts)" if counts.redis_in_scripts else ""
    print(
        f"round trips: {counts.earns} warm earns in-process; Redis {redis_summary(counts.redis_by_command)}"
        + scripts
    )
    if results.server_redis is not None:
        print(f"Redis on the server, {args.count_earns} earns: {redis_summary(results.server_redis)}")
    for note in results.notes:
        print(f"note: {note}")
    for name, counter in results.not_ok.items():
        for answer, times in counter.items():
            if times:
                print(f"not 200 ({name}, {times}x): {answer}")
    if args.verbose:
        print(
            "\nOne warm earn's round trips to PostgreSQL (transaction status before>after: I idle, T open):"
        )
        for number, trip in enumerate(counts.one_earn, 1):
            kind = "tx " if trip.control else ("sql, own commit" if trip.autocommit else "sql")
            print(f"  {number:2} {trip.before}>{trip.after} [{kind}] {trip.text[:150]}")
        print("One earn's Redis commands (MONITOR, in-process):")
        for command in results.monitored:
            print(f"  {command[:150]}")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--workers", type=int, default=default_workers(), help="uvicorn worker processes")
    parser.add_argument("--seconds", type=float, default=10, help="wrk run per endpoint")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections")
    parser.add_argument("--rate", type=float, default=100, help="open-loop earns per second")
    parser.add_argument("--open-seconds", type=float, default=10, help="open-loop duration")
    parser.add_argument("--calls", type=int, default=1000, help="in-process calls of each kind for CPU")
    parser.add_argument("--count-earns", type=int, default=100, help="earns the round trips are counted over")
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--no-server", action="store_true", help="in-process figures only")
    parser.add_argument("--verbose", action="store_true", help="list one earn's statements and Redis calls")
    args = parser.parse_args()

    def stop(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    # Also when started where SIGINT is ignored (a background job of a script).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    port = free_port()
    configure_production(
        database_name=DATABASE_NAME, redis_namespace="bench", platform_host=f"localhost:{port}"
    )
    started = time.monotonic()
    results = Results()
    try:
        measure(args, port, results)
    finally:
        drop_database()
    report(args, results, time.monotonic() - started)
    return 1 if any(sum(counter.values()) for counter in results.not_ok.values()) else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("interrupted: server stopped, database dropped", file=sys.stderr)
        sys.exit(130)
