"""The ASGI handler serves each request in one thread: Django's request signals (whose
handlers tidy that thread's database connections), the middleware and the view."""

import asyncio
import threading
import warnings

from django.core.signals import request_finished, request_started
from django.http import FileResponse

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


def test_a_file_response_is_read_and_closed_in_the_serving_thread(tmp_path):
    handler = SyncStackASGIHandler()
    content = b"x" * 200_000  # more than one chunk of the file response
    opened = []
    finished: list[int] = []

    def get_response(request):
        opened.append(open(tmp_path / "file.bin", "rb"))  # noqa: SIM115 (the response closes it)
        opened.append(threading.get_ident())
        return FileResponse(opened[0])

    def on_finished(**kwargs):
        finished.append(threading.get_ident())

    (tmp_path / "file.bin").write_bytes(content)
    handler.get_response = get_response
    request_finished.connect(on_finished)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # Django warns when it reads a sync iterator itself
            sent = _serve(handler, "/static/file.bin")
    finally:
        request_finished.disconnect(on_finished)

    body = b"".join(message.get("body", b"") for message in sent[1:])
    headers = dict(sent[0]["headers"])
    assert (sent[0]["status"], body, headers[b"Content-Length"]) == (200, content, b"200000")
    assert opened[0].closed
    assert finished == [opened[1]]
