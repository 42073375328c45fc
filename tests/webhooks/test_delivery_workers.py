"""Delivery by real Celery workers (committed data, a live receiver on loopback): signatures
that verify with the standardwebhooks library and a plain HMAC during a rotation's overlap,
a rolled-back change and another organization that send nothing, a receiver down and then
up that gets every event exactly once, and a worker killed between sending and recording
whose delivery is sent once more, with the same webhook-id, after its lease."""

import hashlib
import hmac
import os
import signal
import time
from collections import Counter
from datetime import timedelta

import pytest
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django_tenants.utils import tenant_context
from standardwebhooks import Webhook, WebhookVerificationError

from loyalty_platform.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookSecret
from loyalty_platform.webhooks.outbox import event_record
from loyalty_platform.webhooks.tasks import send_webhooks
from tests.pos_fixtures import committed_organization
from tests.processes import celery_worker
from tests.webhooks.conftest import new_secret
from tests.webhooks.receiver import Receiver

pytestmark = pytest.mark.usefixtures("committed_db")


def _until(condition, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.05)


def _organization_with_endpoint(slug: str, url: str, *secrets: WebhookSecret):
    organization, _ = committed_organization(slug, slug)
    with tenant_context(organization):
        endpoint = WebhookEndpoint.objects.create(url=url, event_types=["*"])
        for secret in secrets or (WebhookSecret(secret=new_secret()),):
            secret.endpoint = endpoint
            secret.save()
    return organization, endpoint


def _record(organization, customer_id: int | None, **data) -> None:
    with tenant_context(organization), transaction.atomic():
        event_record("points.earned", customer_id=customer_id, data=data)


def _statuses(organization) -> Counter:
    with tenant_context(organization):
        return Counter(WebhookDelivery.objects.values_list("status", flat=True))


def _log(organization) -> dict[int, list[tuple]]:
    with tenant_context(organization):
        log: dict[int, list[tuple]] = {}
        for attempt in WebhookAttempt.objects.order_by("delivery__event_id", "number"):
            log.setdefault(attempt.delivery.event.data["n"], []).append(
                (attempt.number, attempt.outcome, attempt.error)
            )
        return log


def test_a_worker_signs_so_that_both_secrets_of_an_overlap_verify_and_sends_nothing_else(receiver):
    now = timezone.now()
    new, old, expired = new_secret(), new_secret(), new_secret()
    organization, _ = _organization_with_endpoint(
        "hooks-signing",
        receiver.url("/mine"),
        WebhookSecret(
            secret=expired, created_at=now - timedelta(days=3), expires_at=now - timedelta(hours=1)
        ),
        WebhookSecret(secret=old, created_at=now - timedelta(days=2), expires_at=now + timedelta(hours=20)),
        WebhookSecret(secret=new, created_at=now - timedelta(hours=4)),
    )
    other, _ = _organization_with_endpoint("hooks-signing-other", receiver.url("/other"))
    with celery_worker("hooks-signing"):
        with pytest.raises(ZeroDivisionError), tenant_context(organization), transaction.atomic():
            event_record("points.earned", customer_id=1, data={"n": 0})
            1 / 0  # noqa: B018
        _record(organization, 1, n=1, name="Zoë")
        _until(lambda: _statuses(organization) == {"succeeded": 1})
        with tenant_context(other):
            send_webhooks.delay()
        time.sleep(1)  # a task in the other organization finds nothing to send
    (request,) = receiver.received()
    assert request.path == "/mine"
    assert request.json["data"] == {"n": 1, "name": "Zoë"}
    assert request.json["organization"] == organization.slug
    assert Webhook(new).verify(request.body, request.headers) == request.json
    assert Webhook(old).verify(request.body, request.headers) == request.json
    with pytest.raises(WebhookVerificationError):
        Webhook(expired).verify(request.body, request.headers)
    assert request.headers["x-loyalite-signature-256"] == ", ".join(
        "sha256=" + hmac.new(secret.encode(), request.body, hashlib.sha256).hexdigest()
        for secret in (new, old)
    )
    assert _statuses(other) == {}


def test_a_receiver_down_and_then_up_gets_every_event_exactly_once():
    receiver = Receiver()  # not listening yet
    organization, _ = _organization_with_endpoint("hooks-down-up", receiver.url())
    events = [(customer, customer * 10 + index) for customer in range(1, 6) for index in range(4)]
    with celery_worker("hooks-down-1"), celery_worker("hooks-down-2"):
        for customer, n in events:
            _record(organization, customer, n=n)
        # Each customer's first event failed (nothing listens); the rest wait behind it.
        _until(lambda: sum(len(attempts) for attempts in _log(organization).values()) == 5)
        with tenant_context(organization):
            _until(lambda: not WebhookDelivery.objects.filter(claimed_until__isnull=False).exists())
        receiver.start()
        try:
            # The minute before the retry passes (the stored times move back by it).
            with tenant_context(organization):
                WebhookDelivery.objects.filter(status="pending").update(
                    next_attempt_at=F("next_attempt_at") - timedelta(seconds=60)
                )
                send_webhooks.delay()
                send_webhooks.delay()
            _until(lambda: _statuses(organization) == {"succeeded": len(events)})
        finally:
            receiver.stop()
    with tenant_context(organization):
        public_ids = {row.event.public_id for row in WebhookDelivery.objects.select_related("event")}
    assert Counter(receiver.webhook_ids()) == dict.fromkeys(public_ids, 1)
    received = [request.json["data"]["n"] for request in receiver.received()]
    for customer in range(1, 6):
        assert [n for n in received if n // 10 == customer] == [customer * 10 + index for index in range(4)]
    log = _log(organization)
    for _customer, n in events:
        if n % 10 == 0:
            assert log[n] == [(1, "failed", "connection_failed"), (2, "succeeded", "")]
        else:
            assert log[n] == [(1, "succeeded", "")]


def test_a_worker_killed_between_sending_and_recording_sends_once_more_with_the_same_id(receiver):
    organization, _ = _organization_with_endpoint("hooks-crash", receiver.url())
    with celery_worker("hooks-crash-1", WEBHOOK_LEASE_SECONDS="3") as worker:

        def kill_the_sender(request) -> None:
            if len(receiver.received()) == 1:
                os.kill(worker.pid, signal.SIGKILL)
                worker.wait(timeout=30)

        receiver.on_request = kill_the_sender
        _record(organization, 1, n=1)
        _until(lambda: worker.poll() is not None)
    receiver.on_request = None
    with tenant_context(organization):
        row = WebhookDelivery.objects.get()
        assert (row.status, row.attempts_total) == ("pending", 1)
        assert WebhookAttempt.objects.count() == 0
        _until(lambda: WebhookDelivery.objects.get().claimed_until < timezone.now())
    with celery_worker("hooks-crash-2", WEBHOOK_LEASE_SECONDS="3"):
        with tenant_context(organization):
            send_webhooks.delay()
        _until(lambda: _statuses(organization) == {"succeeded": 1})
    first, second = receiver.received()
    assert first.webhook_id == second.webhook_id
    assert first.body == second.body
    assert _log(organization) == {1: [(1, "lost", ""), (2, "succeeded", "")]}


def _attempts(organization) -> list[tuple]:
    with tenant_context(organization):
        return list(
            WebhookAttempt.objects.order_by("number").values_list("number", "outcome", "error", "started_at")
        )


def test_a_worker_retries_on_the_schedule_then_fails_the_delivery(receiver, settings):
    """The worker's own clock runs: each time it has failed, the test checks when it set the
    next attempt (the schedule's delay after the attempt, to the second) and brings that time
    forward to now, as the clock would have moved (the in-process test moves the clock itself
    with time-machine, tests/webhooks/test_delivery.py)."""
    receiver.answer_with(500, b"not now")
    organization, _ = _organization_with_endpoint("hooks-schedule", receiver.url())
    with celery_worker("hooks-schedule"):
        _record(organization, 1, n=1)
        for number, delay in enumerate(settings.WEBHOOK_RETRY_DELAYS, start=1):
            _until(lambda number=number: len(_attempts(organization)) == number)
            with tenant_context(organization):
                _until(lambda: WebhookDelivery.objects.get().claimed_until is None)
                row = WebhookDelivery.objects.get()
                started_at = _attempts(organization)[-1][3]
                assert (row.status, row.attempts) == ("pending", number)
                # The delay runs from when the outcome was recorded, a moment after the start.
                waited = row.next_attempt_at - started_at
                assert timedelta(seconds=delay) <= waited < timedelta(seconds=delay + 1), (number, waited)
                WebhookDelivery.objects.filter(pk=row.pk).update(next_attempt_at=timezone.now())
                send_webhooks.delay()
        last = len(settings.WEBHOOK_RETRY_DELAYS) + 1
        _until(lambda: len(_attempts(organization)) == last)
        with tenant_context(organization):
            _until(lambda: WebhookDelivery.objects.get().status == "failed")
    assert [attempt[:3] for attempt in _attempts(organization)] == [
        (number, "failed", "") for number in range(1, last + 1)
    ]
    assert len(receiver.received()) == last
    assert len(set(receiver.webhook_ids())) == 1


def test_a_worker_refuses_a_url_that_resolves_to_a_private_address(receiver):
    organization, _ = _organization_with_endpoint("hooks-private", receiver.url(host="localhost"))
    with celery_worker("hooks-private", WEBHOOK_ALLOW_PRIVATE_ADDRESSES="false"):
        _record(organization, 1, n=1)
        _until(lambda: len(_attempts(organization)) == 1)
        with tenant_context(organization):
            _until(lambda: WebhookDelivery.objects.get().claimed_until is None)
            row = WebhookDelivery.objects.get()
    assert [attempt[:3] for attempt in _attempts(organization)] == [(1, "failed", "address_refused")]
    assert (row.status, row.attempts) == ("pending", 1)
    assert receiver.received() == []
