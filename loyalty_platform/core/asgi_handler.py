"""Django's HTTP stack run synchronously inside the ASGI server.

Our middleware and views are synchronous (the ORM is). Django's own ASGI handler runs them
as an asynchronous chain with a thread hop at every sync/async boundary, and hops again for
the request_started signal and for closing the response (request_finished). This handler
reads the body on the event loop, then does everything Django does for a request in one
thread of a pool, with the plain synchronous chain as under WSGI: the signals, the
middleware, the view, and closing the response. A streaming response with a synchronous
iterator (a static file, an export) is read into memory there, as Django's handler would
read it in a thread hop of its own. Several requests run at once,
each thread with its own database connection used by one request from start to end.
Websockets still go through Channels (docs/decisions/0008-sync-stack-under-asgi.md)."""

import asyncio
import contextlib
import contextvars
import os
from concurrent.futures import ThreadPoolExecutor

import django
from django.core import signals
from django.core.exceptions import RequestAborted
from django.core.handlers.asgi import ASGIHandler, get_script_prefix
from django.http import HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.urls import set_script_prefix

from loyalty_platform.realtime.publish import server_event_loop

# As many threads as asyncio's default pool would have.
THREADS = int(os.environ.get("WEB_THREADS") or min(32, (os.cpu_count() or 1) + 4))


class SyncStackASGIHandler(ASGIHandler):
    def __init__(self) -> None:
        super().__init__()
        self.pool = ThreadPoolExecutor(THREADS, thread_name_prefix="django-request")

    def load_middleware(self, is_async: bool = False) -> None:
        super().load_middleware(is_async=False)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            raise ValueError(f"Django serves HTTP here, not {scope['type']}")
        await self.handle(scope, receive, send)

    async def handle(self, scope, receive, send):
        try:
            body_file = await self.read_body(receive)
        except RequestAborted:
            return
        loop = asyncio.get_running_loop()
        # The request's thread hands realtime events to this loop (realtime.publish).
        server_event_loop.set(loop)
        response = None
        try:
            response = await loop.run_in_executor(
                self.pool, contextvars.copy_context().run, self._serve, scope, body_file
            )
            # The client may go away while the answer is being sent.
            with contextlib.suppress(asyncio.CancelledError):
                await self.send_response(response, send)
        finally:
            if response is not None and response.streaming:
                # An asynchronous iterator, sent from this loop: closed once sent (a pool
                # thread runs one job at a time, so its connections are between requests).
                await loop.run_in_executor(self.pool, response.close)
            body_file.close()

    def _serve(self, scope, body_file) -> HttpResponseBase:
        """All of a request's synchronous work, in one thread. The answer comes back closed,
        its body in memory, unless it streams from an asynchronous iterator."""
        set_script_prefix(get_script_prefix(scope))
        # Its handlers (close_old_connections) tidy this thread's connections, and so do
        # request_finished's, which response.close() fires (with core.postgresql_backend's).
        signals.request_started.send(sender=self.__class__, scope=scope)
        request, response = self.create_request(scope, body_file)
        if request is not None:
            response = self.get_response(request)
            response._handler_class = self.__class__
        if response.streaming and response.is_async:
            return response
        try:
            if response.streaming:
                # A static file or an export: Django would read the whole iterator in one
                # thread hop anyway (warning each time); read it here, where it was made.
                response = _held_in_memory(response)
        finally:
            response.close()
        return response


def _held_in_memory(streaming: StreamingHttpResponse) -> HttpResponse:
    held = HttpResponse(streaming.getvalue(), status=streaming.status_code)
    held.headers = streaming.headers
    held.cookies = streaming.cookies
    held.reason_phrase = streaming.reason_phrase
    held._resource_closers = streaming._resource_closers
    streaming._resource_closers = []
    return held


def get_sync_stack_asgi_application() -> SyncStackASGIHandler:
    django.setup(set_prefix=False)
    return SyncStackASGIHandler()
