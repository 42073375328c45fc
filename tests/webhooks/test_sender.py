"""One attempt (webhooks.sender) against a live receiver: what counts as success, what each
failure is called, what the log keeps of the answer, and that the address is checked on
every attempt and connected to, with the host name in the Host header."""

import pytest

from loyalty_platform.webhooks import sender
from tests.processes import free_port

HEADERS = {"content-type": "application/json", "webhook-id": "evt_1"}
BODY = b'{"id":"evt_1"}'


def test_a_2xx_succeeds_and_the_receiver_gets_the_exact_body_and_headers(receiver):
    receiver.answer_with(204, b"")
    outcome = sender.send(receiver.url("/in?x=1"), HEADERS, BODY)
    assert (outcome.status, outcome.error, outcome.succeeded) == (204, "", True)
    (request,) = receiver.received()
    assert request.path == "/in?x=1"
    assert request.body == BODY
    assert request.headers["webhook-id"] == "evt_1"
    assert request.headers["host"] == f"127.0.0.1:{receiver.port}"


def test_the_host_name_is_sent_while_the_checked_address_is_connected_to(receiver):
    outcome = sender.send(receiver.url("/", host="localhost"), HEADERS, BODY)
    assert outcome.succeeded
    assert receiver.received()[0].headers["host"] == f"localhost:{receiver.port}"


def test_an_error_status_fails_and_the_log_keeps_the_first_bytes_of_the_answer(receiver, settings):
    settings.WEBHOOK_LOG_RESPONSE_BYTES = 10
    receiver.answer_with(500, b"0123456789 and more")
    outcome = sender.send(receiver.url(), HEADERS, BODY)
    assert (outcome.status, outcome.response_head, outcome.error, outcome.succeeded) == (
        500,
        b"0123456789",
        "",
        False,
    )


def test_a_redirect_is_not_followed(receiver):
    receiver.answer_with(302, b"", headers=(("location", "http://127.0.0.1:9/elsewhere"),))
    outcome = sender.send(receiver.url(), HEADERS, BODY)
    assert (outcome.status, outcome.error, outcome.succeeded) == (302, "redirect_not_followed", False)
    assert len(receiver.received()) == 1


def test_a_receiver_that_does_not_answer_in_time_is_a_timeout(receiver, settings):
    settings.WEBHOOK_TIMEOUT_SECONDS = 0.3
    receiver.hang()
    outcome = sender.send(receiver.url(), HEADERS, BODY)
    assert (outcome.status, outcome.error, outcome.succeeded) == (None, "timeout", False)


def test_nobody_listening_is_a_failed_connection():
    outcome = sender.send(f"http://127.0.0.1:{free_port()}/", HEADERS, BODY)
    assert (outcome.status, outcome.error) == (None, "connection_failed")


def test_tls_to_a_server_that_does_not_speak_it_fails_as_tls(receiver):
    outcome = sender.send(f"https://127.0.0.1:{receiver.port}/", HEADERS, BODY)
    assert (outcome.status, outcome.error) == (None, "tls_failed")


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1"])
def test_a_private_address_is_refused_without_connecting(receiver, settings, host):
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False
    outcome = sender.send(receiver.url(host=host), HEADERS, BODY)
    assert (outcome.status, outcome.error) == (None, "address_refused")
    assert receiver.received() == []


def test_http_is_refused_where_https_is_required(receiver, settings):
    settings.WEBHOOK_REQUIRE_HTTPS = True
    outcome = sender.send(receiver.url(), HEADERS, BODY)
    assert (outcome.status, outcome.error) == (None, "https_required")
    assert receiver.received() == []


def test_an_unresolvable_host_is_refused():
    outcome = sender.send("http://no-such-host.invalid/", HEADERS, BODY)
    assert (outcome.status, outcome.error) == (None, "host_unresolvable")


def test_a_receiver_dripping_its_answer_is_cut_off_as_a_timeout(settings):
    """Each byte comes within the read timeout; the attempt's limit ends it all the same."""
    import socket
    import threading
    import time

    settings.WEBHOOK_TIMEOUT_SECONDS = 1.0
    settings.WEBHOOK_ATTEMPT_SECONDS = 1.5
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    stop = threading.Event()

    def drip() -> None:
        connection, _ = listener.accept()
        with connection:
            connection.recv(65536)
            for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 1000:
                if stop.is_set():
                    return
                try:
                    connection.sendall(bytes([byte]))
                except OSError:
                    return
                time.sleep(0.2)

    thread = threading.Thread(target=drip, daemon=True)
    thread.start()
    try:
        outcome = sender.send(f"http://127.0.0.1:{port}/", HEADERS, BODY)
    finally:
        stop.set()
        thread.join(timeout=5)
        listener.close()
    assert (outcome.status, outcome.error, outcome.succeeded) == (None, "timeout", False)
