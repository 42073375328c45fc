"""Answers and logs for the times PostgreSQL or Redis cannot be reached.

Two policies, chosen per use:

- Fail open where losing the call costs nothing that matters: rate-limit counters, cache
  reads and writes, realtime pushes (listeners poll), Celery tasks sent on commit (tried
  again in the background). The caller goes on; `warn_degraded` logs it, at most once per
  interval.
- Refuse where going on would be wrong (the database itself, PIN secrets kept in Redis,
  cache invalidation): the request answers 503 with Retry-After, JSON for machines and a
  small page for people, never a traceback. `FaultMiddleware` does that for views; the tenant
  routing middleware, which runs before any view, uses `service_unavailable_response` itself.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import redis
from django.db import InterfaceError, OperationalError, connection, transaction
from django.http import HttpRequest, HttpResponse
from kombu.exceptions import OperationalError as BrokerError

from loyalty_platform.core.clients import machine_error_response, wants_json

logger = logging.getLogger(__name__)

DATABASE_FAULTS: tuple[type[BaseException], ...] = (OperationalError, InterfaceError)
REDIS_FAULTS: tuple[type[BaseException], ...] = (redis.ConnectionError, redis.TimeoutError)
SERVICE_FAULTS = DATABASE_FAULTS + REDIS_FAULTS

RETRY_AFTER_SECONDS = 5
# One warning per kind of failure per interval, however many calls fail meanwhile.
LOG_EVERY_SECONDS = 10.0

_UNAVAILABLE_PAGE = (
    "<!doctype html><title>Temporarily unavailable</title>"
    "<h1>Temporarily unavailable</h1><p>Please try again in a moment.</p>"
)


class _LogThrottle:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last_logged: dict[str, float] = {}
        self._suppressed: dict[str, int] = {}

    def should_log(self, what: str) -> int | None:
        """None when `what` was logged recently; else how many went unlogged since."""
        now = time.monotonic()
        with self._lock:
            last = self._last_logged.get(what)
            if last is not None and now - last < LOG_EVERY_SECONDS:
                self._suppressed[what] = self._suppressed.get(what, 0) + 1
                return None
            self._last_logged[what] = now
            return self._suppressed.pop(what, 0)


_log_throttle = _LogThrottle()


def warn_degraded(what: str, error: BaseException, outcome: str = "going on without it") -> None:
    """Log that `what` failed and what happened instead; rate-limited per `what`."""
    suppressed = _log_throttle.should_log(what)
    if suppressed is not None:
        logger.warning(
            "%s failed, %s: %s: %s (%d more since the last warning)",
            what,
            outcome,
            type(error).__name__,
            error,
            suppressed,
        )


def service_unavailable_response(request: HttpRequest, error: BaseException) -> HttpResponse:
    """503 with Retry-After for a request that needs a service that is down."""
    service = "the database" if isinstance(error, DATABASE_FAULTS) else "Redis"
    warn_degraded(f"request needing {service}", error, outcome="answered 503")
    if wants_json(request):
        response = machine_error_response(request, "service_unavailable", 503)
    else:
        response = HttpResponse(_UNAVAILABLE_PAGE, status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    # Logged above, rate-limited; Django would add an error line for every 503.
    response._has_been_logged = True
    return response


class FaultMiddleware:
    """A view (DRF's included: it re-raises what its handler does not map) that fails because
    PostgreSQL or Redis is unreachable answers 503 instead of a 500 with a traceback."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, SERVICE_FAULTS):
            return service_unavailable_response(request, exception)
        return None


# With the broker down, a task is tried again after these delays (seconds), then dropped.
TASK_SEND_RETRY_DELAYS = (5.0, 15.0, 45.0)


def task_send_on_commit(task, args: tuple = (), **options) -> None:
    """Queue a Celery task once the transaction commits. With the broker down the committed
    change stands and the call succeeds: this process tries again a few times in the
    background and logs an error naming the task when it gives up."""
    # The schema of the sending transaction; the retries run on another thread.
    options = {**options, "headers": {**options.get("headers", {}), "_schema_name": connection.schema_name}}
    transaction.on_commit(lambda: _task_send(task, args, options, TASK_SEND_RETRY_DELAYS))


def _task_send(task, args: tuple, options: dict, retry_delays: tuple[float, ...]) -> None:
    try:
        task.apply_async(args, **options)
    except (BrokerError, *REDIS_FAULTS) as error:
        if not retry_delays:
            logger.error("task %s%r not queued, the broker stayed unreachable: %s", task.name, args, error)
            return
        warn_degraded(f"queueing {task.name}", error)
        timer = threading.Timer(retry_delays[0], _task_send, (task, args, options, retry_delays[1:]))
        timer.daemon = True
        timer.start()
