"""Django's HTTP stack run synchronously inside the ASGI server.

Our middleware and views are synchronous (the ORM is). Django's own ASGI handler runs them
as an asynchronous chain with a thread hop at every sync/async boundary (three or more per
request) and starts a fresh thread per request for its thread-sensitive calls. This handler
builds the plain synchronous chain, as under WSGI, and runs each whole request in one thread
of a pool: one hop, several requests at once, each thread with its own database connection
used by one request from start to end. Websockets still go through Channels."""

import asyncio

import django
from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIHandler
from django.db import close_old_connections

from loyalty_platform.core.postgresql_backend import mark_clean_connections_fresh
from loyalty_platform.realtime.publish import server_event_loop


class SyncStackASGIHandler(ASGIHandler):
    def load_middleware(self, is_async: bool = False) -> None:
        super().load_middleware(is_async=False)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            raise ValueError(f"Django serves HTTP here, not {scope['type']}")
        # No ThreadSensitiveContext: it would start a thread per request.
        await self.handle(scope, receive, send)

    def _get_response_in_worker(self, request):
        # Django's request_started/finished handlers run in another thread; do their
        # connection housekeeping (max age, health checks) in the thread that serves.
        close_old_connections()
        try:
            return self.get_response(request)
        finally:
            close_old_connections()
            mark_clean_connections_fresh()

    async def get_response_async(self, request):
        server_event_loop.set(asyncio.get_running_loop())
        return await sync_to_async(self._get_response_in_worker, thread_sensitive=False)(request)


def get_sync_stack_asgi_application() -> SyncStackASGIHandler:
    django.setup(set_prefix=False)
    return SyncStackASGIHandler()
