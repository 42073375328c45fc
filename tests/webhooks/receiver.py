"""A real HTTP receiver for webhook tests: a ThreadingHTTPServer on loopback in the test
process that records every request (path, headers, raw body) and answers as told: a status
and body, a hang, or not at all (down). `on_request` runs before it answers (a test that
kills the worker sending it)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.processes import free_port


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]  # names lower-cased
    body: bytes

    @property
    def webhook_id(self) -> str:
        return self.headers["webhook-id"]

    @property
    def json(self) -> dict:
        return json.loads(self.body)


@dataclass(frozen=True)
class Answer:
    status: int = 200
    body: bytes = b"ok"
    headers: tuple[tuple[str, str], ...] = ()
    hang: bool = False


class Receiver:
    def __init__(self) -> None:
        self.port = free_port()
        self.requests: list[Received] = []
        self.answer: Callable[[Received], Answer] = lambda request: Answer()
        self.on_request: Callable[[Received], None] | None = None
        self._lock = threading.Lock()
        self._release = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def url(self, path: str = "/hook", host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    # --- what it answers ------------------------------------------------------------------

    def answer_with(self, status: int = 200, body: bytes = b"ok", **fields) -> None:
        answer = Answer(status=status, body=body, **fields)
        self.answer = lambda request: answer

    def hang(self) -> None:
        """Keep every request open without an answer until stopped."""
        self.answer_with(hang=True)

    # --- up and down ----------------------------------------------------------------------

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                request = Received(
                    path=self.path,
                    headers={name.lower(): value for name, value in self.headers.items()},
                    body=self.rfile.read(length),
                )
                with receiver._lock:
                    receiver.requests.append(request)
                if receiver.on_request is not None:
                    receiver.on_request(request)
                answer = receiver.answer(request)
                if answer.hang:
                    receiver._release.wait(60)
                    return
                try:
                    self.send_response(answer.status)
                    for name, value in answer.headers:
                        self.send_header(name, value)
                    self.send_header("content-length", str(len(answer.body)))
                    self.end_headers()
                    self.wfile.write(answer.body)
                except OSError:
                    pass  # the sender went away (timed out, or was killed)

            def log_message(self, format, *args) -> None:
                pass

        self._release.clear()
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Down: nothing listens on the port any more (a connection is refused)."""
        if self._server is None:
            return
        self._release.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)
        self._server = None

    # --- what it got ----------------------------------------------------------------------

    def received(self, path: str | None = None) -> list[Received]:
        with self._lock:
            return [request for request in self.requests if path is None or request.path == path]

    def webhook_ids(self, path: str | None = None) -> list[str]:
        return [request.webhook_id for request in self.received(path)]
