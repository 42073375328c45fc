"""The SMS sender interface: each backend, the provider adapter against a local HTTP server."""

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from loyalty_platform.core import sms


def test_locmem_keeps_the_message_in_the_outbox(settings):
    settings.SMS_BACKEND = "locmem"
    settings.SMS_SENDER = "CafeLuna"

    sms.send_sms("+37060000001", "Hello")

    assert sms.outbox == [sms.SmsMessage(to="+37060000001", text="Hello", sender="CafeLuna")]


def test_console_prints_the_message(settings, capsys):
    settings.SMS_BACKEND = "console"
    settings.SMS_SENDER = "CafeLuna"

    sms.send_sms("+37060000001", "Hello there")

    assert capsys.readouterr().out == "SMS to +37060000001 from CafeLuna:\nHello there\n" + "-" * 40 + "\n"
    assert sms.outbox == []


def test_file_writes_one_readable_file_per_message(settings, tmp_path):
    settings.SMS_BACKEND = "file"
    settings.SMS_FILE_PATH = str(tmp_path / "sms")
    settings.SMS_SENDER = "CafeLuna"

    sms.send_sms("+37060000001", "First\nline two")
    sms.send_sms("+37060000002", "Second")

    assert sorted((m["to"], m["text"]) for m in sms.sms_files(tmp_path / "sms")) == [
        ("+37060000001", "First\nline two"),
        ("+37060000002", "Second"),
    ]
    assert len(list((tmp_path / "sms").iterdir())) == 2  # no partial files left


def test_without_a_backend_nothing_is_configured_and_sending_is_refused(settings):
    settings.SMS_BACKEND = ""

    assert sms.sms_configured() is False
    with pytest.raises(sms.SmsNotConfigured):
        sms.send_sms("+37060000001", "Hello")
    assert sms.outbox == []


def test_a_named_backend_is_configured(settings):
    settings.SMS_BACKEND = "locmem"

    assert sms.sms_configured() is True


class _Provider(BaseHTTPRequestHandler):
    status = 202
    received: list = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append(
            {"path": self.path, "authorization": self.headers["Authorization"], "body": json.loads(body)}
        )
        self.send_response(type(self).status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def provider():
    _Provider.received = []
    _Provider.status = 202
    server = HTTPServer(("127.0.0.1", 0), _Provider)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_http_posts_json_with_the_bearer_token(settings, provider):
    settings.SMS_BACKEND = "http"
    settings.SMS_HTTP_URL = f"http://127.0.0.1:{provider.server_port}/v1/messages"
    settings.SMS_HTTP_TOKEN = "secret-token"
    settings.SMS_SENDER = "CafeLuna"

    sms.send_sms("+37060000001", "Hello")

    assert _Provider.received == [
        {
            "path": "/v1/messages",
            "authorization": "Bearer secret-token",
            "body": {"to": "+37060000001", "from": "CafeLuna", "text": "Hello"},
        }
    ]


def test_http_refusal_by_the_provider_is_an_sms_error(settings, provider):
    settings.SMS_BACKEND = "http"
    settings.SMS_HTTP_URL = f"http://127.0.0.1:{provider.server_port}/v1/messages"
    settings.SMS_HTTP_TOKEN = "wrong"
    _Provider.status = 401

    with pytest.raises(sms.SmsError, match="SMS provider answered 401"):
        sms.send_sms("+37060000001", "Hello")


def test_http_unreachable_provider_is_an_sms_error(settings, provider):
    settings.SMS_BACKEND = "http"
    settings.SMS_HTTP_URL = f"http://127.0.0.1:{provider.server_port}/v1/messages"
    settings.SMS_HTTP_TOKEN = "t"
    provider.shutdown()
    provider.server_close()
    settings.SMS_HTTP_TIMEOUT = 2

    with pytest.raises(sms.SmsError, match="unreachable"):
        sms.send_sms("+37060000001", "Hello")
