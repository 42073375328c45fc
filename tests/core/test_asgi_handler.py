"""The ASGI handler serves each request in one thread: Django's request signals (whose
handlers tidy that thread's database connections), the middleware and the view."""

import asyncio
import threading

from django.core.signals import request_finished, request_started

from loyalty_platform.core.asgi_handler import SyncStackASGIHandler


def _scope(path: str) -> dict:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"localhost"), (b"x-forwarded-proto", b"https")],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }


def _serve(handler: SyncStackASGIHandler, path: str) -> list[dict]:
    sent: list[dict] = []
    incoming = [{"type": "http.request", "body": b"", "more_body": False}]

    async def receive():
        if incoming:
            return incoming.pop()
        await asyncio.Event().wait()  # the client stays connected

    async def send(message):
        sent.append(message)

    asyncio.run(handler(_scope(path), receive, send))
    return sent


def test_signals_middleware_and_view_run_in_one_thread_that_is_not_the_event_loop():
    handler = SyncStackASGIHandler()
    threads: dict[str, int] = {}
    serve_request = handler.get_response

    def get_response(request):
        threads["view"] = threading.get_ident()
        return serve_request(request)

    def started(**kwargs):
        threads["started"] = threading.get_ident()

    def finished(**kwargs):
        threads["finished"] = threading.get_ident()

    handler.get_response = get_response
    request_started.connect(started)
    request_finished.connect(finished)
    try:
        sent = _serve(handler, "/ping")
    finally:
        request_started.disconnect(started)
        request_finished.disconnect(finished)

    assert [message["type"] for message in sent] == ["http.response.start", "http.response.body"]
    assert (sent[0]["status"], sent[1]["body"]) == (200, b'{"data": "pong"}')
    assert threads["started"] == threads["view"] == threads["finished"]
    assert threads["view"] != threading.get_ident()
