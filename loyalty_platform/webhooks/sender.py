"""One HTTP attempt of a delivery (docs/decisions/0049-outgoing-webhooks.md). The URL is
checked and its host resolved on every attempt (webhooks.addresses); the connection goes to
the address that was checked, never to a second resolution of the name, while the Host
header, TLS's server name and the certificate check use the host name. Nothing is retried or
followed here: the delivery's schedule retries, and a redirect is a failure (following it
could lead to an address nobody checked)."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from dataclasses import dataclass

import certifi
import urllib3
from django.conf import settings
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    NewConnectionError,
    ReadTimeoutError,
    SSLError,
)

from loyalty_platform.webhooks.addresses import AddressRefused, Target, target_for

# Error codes of an attempt without a usable answer (beside addresses' refusals).
TIMEOUT = "timeout"
CONNECTION_FAILED = "connection_failed"
TLS_FAILED = "tls_failed"
REDIRECT_NOT_FOLLOWED = "redirect_not_followed"
URL_INVALID = "url_invalid"


@dataclass(frozen=True)
class Outcome:
    """What one attempt got: the status (None without an answer), the answer's first
    WEBHOOK_LOG_RESPONSE_BYTES, how long it took, and an error code ("" when none)."""

    status: int | None
    response_head: bytes
    duration_ms: int
    error: str = ""

    @property
    def succeeded(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def _host_header(target: Target) -> str:
    host = f"[{target.host}]" if ":" in target.host else target.host
    default_port = 443 if target.scheme == "https" else 80
    return host if target.port == default_port else f"{host}:{target.port}"


def _pool(target: Target, timeout: urllib3.Timeout) -> urllib3.HTTPConnectionPool:
    if target.scheme == "https":
        return urllib3.HTTPSConnectionPool(
            host=target.address,
            port=target.port,
            timeout=timeout,
            maxsize=1,
            retries=False,
            server_hostname=target.host,
            assert_hostname=target.host,
            cert_reqs="CERT_REQUIRED",
            ca_certs=certifi.where(),
        )
    return urllib3.HTTPConnectionPool(
        host=target.address, port=target.port, timeout=timeout, maxsize=1, retries=False
    )


class _Watchdog:
    """Ends an attempt that outlives WEBHOOK_ATTEMPT_SECONDS in all: the socket timeouts bound
    each read, not a receiver that answers a byte at a time. Shutting the socket down makes
    the blocked read return at once."""

    def __init__(self, seconds: float) -> None:
        self.fired = False
        self._sock: socket.socket | None = None
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._fire)
        self._timer.daemon = True
        self._timer.start()

    def watch(self, sock: socket.socket) -> None:
        with self._lock:
            self._sock = sock
            if self.fired:
                self._shutdown()

    def cancel(self) -> None:
        self._timer.cancel()

    def _fire(self) -> None:
        with self._lock:
            self.fired = True
            self._shutdown()

    def _shutdown(self) -> None:
        if self._sock is not None:
            with contextlib.suppress(OSError):
                self._sock.shutdown(socket.SHUT_RDWR)


def _watched(pool: urllib3.HTTPConnectionPool, watchdog: _Watchdog) -> None:
    class WatchedConnection(pool.ConnectionCls):
        def connect(self) -> None:
            super().connect()
            watchdog.watch(self.sock)

    pool.ConnectionCls = WatchedConnection


def _error_code(error: HTTPError) -> str:
    if isinstance(error, SSLError):
        return TLS_FAILED
    if isinstance(error, NewConnectionError):  # a subclass of ConnectTimeoutError: first
        return CONNECTION_FAILED
    if isinstance(error, ConnectTimeoutError | ReadTimeoutError):
        return TIMEOUT
    return CONNECTION_FAILED


def send(url: str, headers: dict[str, str], body: bytes) -> Outcome:
    """POST `body` to `url` once; never raises for what the receiver or the network did."""
    started = time.monotonic()

    def elapsed() -> int:
        return int((time.monotonic() - started) * 1000)

    try:
        target = target_for(url)
    except AddressRefused as refused:
        return Outcome(status=None, response_head=b"", duration_ms=elapsed(), error=refused.code)
    seconds = settings.WEBHOOK_TIMEOUT_SECONDS
    pool = _pool(target, urllib3.Timeout(connect=seconds, read=seconds))
    watchdog = _Watchdog(settings.WEBHOOK_ATTEMPT_SECONDS)
    _watched(pool, watchdog)
    try:
        response = pool.urlopen(
            "POST",
            target.path,
            body=body,
            headers={**headers, "host": _host_header(target)},
            retries=False,
            redirect=False,
            assert_same_host=False,
            preload_content=False,
            decode_content=False,
        )
        try:
            head = response.read(settings.WEBHOOK_LOG_RESPONSE_BYTES, decode_content=False)
        except HTTPError:
            head = b""  # the status arrived; what follows it is only for the log
        finally:
            response.close()
    except HTTPError as error:
        code = TIMEOUT if watchdog.fired else _error_code(error)
        return Outcome(status=None, response_head=b"", duration_ms=elapsed(), error=code)
    except ValueError:  # a path or header urllib3 refuses to send
        return Outcome(status=None, response_head=b"", duration_ms=elapsed(), error=URL_INVALID)
    finally:
        watchdog.cancel()
        pool.close()
    status = response.status
    error = REDIRECT_NOT_FOLLOWED if 300 <= status < 400 else ""
    return Outcome(status=status, response_head=head, duration_ms=elapsed(), error=error)
