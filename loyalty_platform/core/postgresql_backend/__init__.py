"""django-tenants' PostgreSQL backend, with the health check skipped on a connection that
served a request without error moments ago (docs/decisions/0022-health-check-of-busy-connections.md).

CONN_HEALTH_CHECKS sends `SELECT 1` before the first query of every request. A connection
that a request used cleanly within FRESH_SECONDS is taken as it is: under load that saves
a round trip per request. If the server went away within that window, the request's first
statement fails, FaultMiddleware answers 503 and the connection is closed at the end of
the request (Django checks a connection that had errors), so the next request reconnects.
A connection idle for longer is checked as before.

This module does not import the backend itself, so the ASGI handler can use it before the
apps are loaded."""

import time

from django.core.signals import request_finished
from django.db import connections

FRESH_SECONDS = 1.0


def mark_clean_connections_fresh(**kwargs) -> None:
    """After a request's connection housekeeping (close_old_connections, which closes a
    connection that had errors and is no longer usable): this thread's open connections
    without errors need no health check for FRESH_SECONDS."""
    for connection in connections.all(initialized_only=True):
        if connection.connection is not None and not connection.errors_occurred:
            connection.fresh_until = time.monotonic() + FRESH_SECONDS


# Under WSGI (connected after Django's close_old_connections); core.asgi_handler calls it in
# the thread that served the request.
request_finished.connect(mark_clean_connections_fresh, dispatch_uid="loyalty_platform.connections.fresh")
