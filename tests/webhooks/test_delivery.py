"""Delivery runs in the test process (webhooks.delivery.deliveries_deliver) against a live
receiver, with time moved by time-machine: the retry schedule to the second, the log, order
per customer while the first delivery is retried, refused addresses, other organizations,
leases that passed and late outcomes, and disabling after days of failures."""

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core import mail
from django.db import transaction
from django_tenants.utils import tenant_context

from loyalty_platform.accounts import roles
from loyalty_platform.accounts.services import staff_user_create
from loyalty_platform.audit.models import AuditLogEntry
from loyalty_platform.webhooks import delivery
from loyalty_platform.webhooks.delivery import deliveries_deliver, deliveries_redeliver
from loyalty_platform.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookSecret
from loyalty_platform.webhooks.outbox import event_record
from tests.webhooks.conftest import new_secret
from tests.webhooks.receiver import Answer

T0 = datetime(2026, 4, 1, 8, 0, tzinfo=UTC)
SCHEDULE = (60, 300, 1800, 7200, 21600)


def _endpoint(url: str, **fields) -> WebhookEndpoint:
    endpoint = WebhookEndpoint.objects.create(url=url, event_types=fields.pop("event_types", ["*"]), **fields)
    WebhookSecret.objects.create(endpoint=endpoint, secret=new_secret())
    return endpoint


def _record(customer_id: int | None = 1, **data) -> None:
    with transaction.atomic():
        event_record("points.earned", customer_id=customer_id, data=data or {"points": 5})


def _log(delivery_row: WebhookDelivery) -> list[tuple]:
    return list(
        WebhookAttempt.objects.filter(delivery=delivery_row)
        .order_by("number")
        .values_list("number", "outcome", "response_status", "error", "started_at")
    )


def test_retries_follow_the_schedule_to_the_second_then_the_delivery_fails(in_organization, receiver):
    receiver.answer_with(500, b"not now")
    _endpoint(receiver.url())
    with time_machine.travel(T0, tick=False) as clock:
        _record()
        assert deliveries_deliver()["retried"] == 1
        attempts_at = [T0]
        for delay in SCHEDULE:
            clock.move_to(attempts_at[-1] + timedelta(seconds=delay - 1))
            assert deliveries_deliver()["sent"] == 0
            assert len(receiver.received()) == len(attempts_at)
            clock.move_to(attempts_at[-1] + timedelta(seconds=delay))
            assert deliveries_deliver()["sent"] == 1
            attempts_at.append(attempts_at[-1] + timedelta(seconds=delay))
        clock.shift(timedelta(days=1))
        assert deliveries_deliver()["sent"] == 0

    row = WebhookDelivery.objects.get()
    assert (row.status, row.attempts, row.attempts_total, row.claimed_until, row.last_response_status) == (
        "failed",
        6,
        6,
        None,
        500,
    )
    assert _log(row) == [(number, "failed", 500, "", at) for number, at in enumerate(attempts_at, start=1)]
    assert len(receiver.received()) == 6
    # The same event every time: one webhook-id, one body; each attempt its own timestamp.
    requests = receiver.received()
    assert len({request.webhook_id for request in requests}) == 1
    assert len({request.body for request in requests}) == 1
    assert [int(request.headers["webhook-timestamp"]) for request in requests] == [
        int(at.timestamp()) for at in attempts_at
    ]
    attempt = WebhookAttempt.objects.filter(delivery=row).order_by("number").first()
    assert attempt.request_url == receiver.url()
    assert attempt.request_body == requests[0].body.decode()
    assert attempt.request_headers["webhook-id"] == requests[0].webhook_id
    assert attempt.response_body == "not now"


def test_a_success_after_failures_ends_the_delivery_and_the_endpoints_failing_streak(
    in_organization, receiver
):
    receiver.answer_with(503)
    endpoint = _endpoint(receiver.url())
    with time_machine.travel(T0, tick=False) as clock:
        _record()
        deliveries_deliver()
        endpoint.refresh_from_db()
        assert endpoint.failing_since == T0
        receiver.answer_with(200, b"thanks")
        clock.shift(timedelta(seconds=60))
        assert deliveries_deliver()["succeeded"] == 1
    row = WebhookDelivery.objects.get()
    assert (row.status, row.succeeded_at, row.attempts, row.last_response_status) == (
        "succeeded",
        T0 + timedelta(seconds=60),
        2,
        200,
    )
    assert [entry[:3] for entry in _log(row)] == [(1, "failed", 503), (2, "succeeded", 200)]
    endpoint.refresh_from_db()
    assert endpoint.failing_since is None


def test_a_customers_events_keep_their_order_while_the_first_is_retried(in_organization, receiver):
    failing = {"first": True}

    def answer(request):
        if request.json["data"]["n"] == 1 and failing["first"]:
            return Answer(status=500)
        return Answer()

    receiver.answer = answer
    _endpoint(receiver.url())
    with time_machine.travel(T0, tick=False) as clock:
        _record(customer_id=1, n=1)
        _record(customer_id=1, n=2)
        _record(customer_id=2, n=3)
        _record(customer_id=None, n=4)
        deliveries_deliver()
        # The first failed; the second waits behind it; other customers' went out.
        assert sorted(request.json["data"]["n"] for request in receiver.received()) == [1, 3, 4]
        second = WebhookDelivery.objects.get(event__data__n=2)
        assert (second.status, second.attempts, second.next_attempt_at) == (
            "pending",
            0,
            T0 + timedelta(seconds=60),
        )
        clock.shift(timedelta(seconds=59))
        assert deliveries_deliver()["sent"] == 0
        failing["first"] = False
        clock.shift(timedelta(seconds=1))
        counts = deliveries_deliver()
    assert (counts["sent"], counts["succeeded"]) == (2, 2)
    assert [request.json["data"]["n"] for request in receiver.received()][3:] == [1, 2]
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"succeeded"}


def test_a_chain_whose_head_finally_fails_goes_on_with_the_next(in_organization, receiver):
    receiver.answer = lambda request: Answer(status=500 if request.json["data"]["n"] == 1 else 200)
    _endpoint(receiver.url())
    with time_machine.travel(T0, tick=False) as clock:
        _record(customer_id=1, n=1)
        _record(customer_id=1, n=2)
        for delay in (0, *SCHEDULE):
            clock.shift(timedelta(seconds=delay))
            deliveries_deliver()
    assert [request.json["data"]["n"] for request in receiver.received()] == [1] * 6 + [2]
    assert dict(WebhookDelivery.objects.values_list("event__data__n", "status")) == {
        1: "failed",
        2: "succeeded",
    }


def test_a_url_resolving_to_a_private_address_is_refused_and_logged(in_organization, receiver, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False
    _endpoint(receiver.url(host="localhost"))
    with time_machine.travel(T0, tick=False):
        _record()
        deliveries_deliver()
    assert receiver.received() == []
    row = WebhookDelivery.objects.get()
    assert (row.status, row.attempts, row.next_attempt_at) == ("pending", 1, T0 + timedelta(seconds=60))
    assert _log(row) == [(1, "failed", None, "address_refused", T0)]


def test_a_rolled_back_change_sends_nothing(in_organization, receiver):
    _endpoint(receiver.url())
    with pytest.raises(ZeroDivisionError), transaction.atomic():
        event_record("points.earned", customer_id=1, data={"points": 5})
        1 / 0  # noqa: B018
    assert deliveries_deliver()["sent"] == 0
    assert receiver.received() == []


def test_another_organizations_endpoint_gets_nothing_of_this_ones_events(
    organization, other_organization, receiver
):
    with tenant_context(other_organization):
        _endpoint(receiver.url("/other"))
    with tenant_context(organization):
        _endpoint(receiver.url("/mine"))
        _record(n=1)
        assert deliveries_deliver()["succeeded"] == 1
    with tenant_context(other_organization):
        assert deliveries_deliver()["sent"] == 0
        assert WebhookDelivery.objects.count() == 0
    assert [request.path for request in receiver.received()] == ["/mine"]
    assert receiver.received()[0].json["organization"] == organization.slug


def test_a_disabled_endpoints_deliveries_wait_and_go_out_once_it_is_enabled(in_organization, receiver):
    endpoint = _endpoint(receiver.url())
    _record()
    endpoint.is_enabled = False
    endpoint.save(update_fields=["is_enabled"])
    assert deliveries_deliver()["sent"] == 0
    assert WebhookDelivery.objects.get().attempts == 0
    endpoint.is_enabled = True
    endpoint.save(update_fields=["is_enabled"])
    assert deliveries_deliver()["succeeded"] == 1
    assert len(receiver.received()) == 1


def test_a_lease_that_passed_is_logged_as_lost_and_a_late_outcome_does_not_overwrite(
    in_organization, receiver
):
    _endpoint(receiver.url())
    with time_machine.travel(T0, tick=False) as clock:
        _record()
        # A worker claims and sends, then stops before recording (it died, or stalled).
        stalled = delivery._Run(budget_seconds=10)
        (claimed,) = stalled._look(free=1)
        late = delivery._attempt(claimed)
        clock.shift(timedelta(seconds=delivery.lease_seconds() - 1))
        assert deliveries_deliver()["sent"] == 0  # its lease still holds
        clock.shift(timedelta(seconds=2))
        counts = deliveries_deliver()
        assert (counts["lost"], counts["sent"], counts["succeeded"]) == (1, 1, 1)
        # The stalled worker comes back: its outcome is not recorded over the newer attempt.
        with transaction.atomic():
            stalled._record_group([late])
        assert stalled.counts["stale"] == 1
    row = WebhookDelivery.objects.get()
    assert (row.status, row.attempts_total) == ("succeeded", 2)
    assert [entry[:2] for entry in _log(row)] == [(1, "lost"), (2, "succeeded")]
    assert _log(row)[0][4] == T0
    assert len(set(receiver.webhook_ids())) == 1
    assert len(receiver.received()) == 2


def test_redelivery_sends_the_same_event_again_in_a_new_round(in_organization, receiver):
    _endpoint(receiver.url())
    with time_machine.travel(T0, tick=False) as clock:
        _record()
        deliveries_deliver()
        clock.shift(timedelta(hours=1))
        assert deliveries_redeliver(WebhookDelivery.objects.all()) == 1
        row = WebhookDelivery.objects.get()
        assert (row.status, row.attempts, row.attempts_total, row.next_attempt_at) == (
            "pending",
            0,
            1,
            T0 + timedelta(hours=1),
        )
        deliveries_deliver()
    row.refresh_from_db()
    assert (row.status, row.attempts, row.attempts_total) == ("succeeded", 1, 2)
    first, second = receiver.received()
    assert first.webhook_id == second.webhook_id and first.body == second.body
    assert [entry[:2] for entry in _log(row)] == [(1, "succeeded"), (2, "succeeded")]


def test_an_endpoint_failing_for_three_days_is_disabled_once_its_owners_told_once(
    in_organization, receiver, django_capture_on_commit_callbacks
):
    owners = sorted(
        staff_user_create(email=f"owner{n}@hooks.example", password=None, role=roles.OWNER).email
        for n in (1, 2)
    )
    creator = staff_user_create(email="dev@hooks.example", password=None, role=roles.MANAGER)
    staff_user_create(email="cashier@hooks.example", password=None, role=roles.CASHIER)
    receiver.answer_with(500)
    endpoint = _endpoint(receiver.url(), created_by=creator)
    three_days = T0 + timedelta(days=3)
    with time_machine.travel(T0, tick=False) as clock, django_capture_on_commit_callbacks(execute=True):
        # An event every 6 hours, each failing: the streak never pauses long enough to end.
        for n in range(12):
            clock.move_to(T0 + timedelta(hours=6 * n))
            _record(customer_id=None, n=n)
            assert deliveries_deliver()["disabled"] == 0
        clock.move_to(three_days - timedelta(seconds=60))
        _record(customer_id=None, n=100)
        assert deliveries_deliver()["disabled"] == 0  # failing for a minute short of three days
        endpoint.refresh_from_db()
        assert (endpoint.is_enabled, endpoint.failing_since) == (True, T0)
        clock.move_to(three_days)
        _record(customer_id=None, n=101)
        assert deliveries_deliver()["disabled"] == 1
        endpoint.refresh_from_db()
        assert (endpoint.is_enabled, endpoint.disabled_at, endpoint.disabled_reason) == (
            False,
            three_days,
            "failing_too_long",
        )
        sent = len(receiver.received())
        # New events are not written for it; the waiting ones are not claimed any more.
        _record(customer_id=None, n=102)
        for _ in range(3):
            clock.shift(timedelta(hours=7))
            assert deliveries_deliver()["sent"] == 0
    assert len(receiver.received()) == sent
    waiting = WebhookDelivery.objects.get(event__data__n=101)
    assert (waiting.status, waiting.attempts) == ("pending", 1)
    assert WebhookDelivery.objects.filter(event__data__n=102).count() == 0
    assert len(mail.outbox) == 1
    (message,) = mail.outbox
    assert sorted(message.to) == sorted([*owners, "dev@hooks.example"])
    assert "disabled" in message.subject
    assert receiver.url() in message.body
    assert f"/admin/webhooks/webhookendpoint/{endpoint.pk}/change/" in message.body
    assert "HTTP 500" in message.body
    audit = AuditLogEntry.objects.get(action="webhooks.endpoint_disable")
    assert (audit.target_id, audit.actor_id, audit.details["reason"]) == (
        str(endpoint.pk),
        None,
        "failing_too_long",
    )


def test_one_endpoint_gets_at_most_its_share_of_the_threads_at_once(in_organization, receiver, settings):
    settings.WEBHOOK_SEND_THREADS = 8
    settings.WEBHOOK_ENDPOINT_IN_FLIGHT = 2
    lock, open_requests, most = threading.Lock(), [0], [0]

    def slow(request) -> None:
        with lock:
            open_requests[0] += 1
            most[0] = max(most[0], open_requests[0])
        time.sleep(0.05)
        with lock:
            open_requests[0] -= 1

    receiver.on_request = slow
    _endpoint(receiver.url())
    for n in range(8):
        _record(customer_id=None, n=n)
    counts = deliveries_deliver()
    assert (counts["sent"], counts["succeeded"]) == (8, 8)
    assert sorted(request.json["data"]["n"] for request in receiver.received()) == list(range(8))
    assert most[0] <= 2


def test_redelivering_a_retried_head_lets_its_customers_next_event_go_at_once(in_organization, receiver):
    failing = {"first": True}
    receiver.answer = lambda request: Answer(
        status=500 if request.json["data"]["n"] == 1 and failing["first"] else 200
    )
    _endpoint(receiver.url())
    with time_machine.travel(T0, tick=False) as clock:
        _record(customer_id=1, n=1)
        _record(customer_id=1, n=2)
        deliveries_deliver()
        assert WebhookDelivery.objects.get(event__data__n=2).next_attempt_at == T0 + timedelta(seconds=60)
        failing["first"] = False
        clock.shift(timedelta(seconds=10))
        head = WebhookDelivery.objects.filter(event__data__n=1)
        assert deliveries_redeliver(head) == 1
        deliveries_deliver()
    sent = [request.json["data"]["n"] for request in receiver.received()]
    # The redelivered head leaves its chain, so it and the next event go in parallel.
    assert sent[0] == 1
    assert sorted(sent[1:]) == [1, 2]
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"succeeded"}


def test_an_answer_holding_nul_bytes_is_logged_and_recorded(in_organization, receiver):
    receiver.answer_with(500, b"bad\x00answer")
    _endpoint(receiver.url())
    with time_machine.travel(T0, tick=False):
        _record()
        counts = deliveries_deliver()
    assert (counts["sent"], counts["retried"]) == (1, 1)
    (attempt,) = WebhookAttempt.objects.all()
    assert (attempt.response_status, attempt.response_body) == (500, "bad\ufffdanswer")


def test_failures_days_apart_are_not_one_streak(in_organization, receiver):
    """One event failed on day 0; nothing was tried until day 4: its first failure then starts
    a new streak instead of disabling the endpoint at once."""
    receiver.answer_with(500)
    endpoint = _endpoint(receiver.url())
    with time_machine.travel(T0, tick=False) as clock:
        _record(n=1)
        for delay in (0, *SCHEDULE):
            clock.shift(timedelta(seconds=delay))
            deliveries_deliver()
        clock.move_to(T0 + timedelta(days=4))
        _record(n=2)
        assert deliveries_deliver()["disabled"] == 0
    endpoint.refresh_from_db()
    assert (endpoint.is_enabled, endpoint.failing_since, endpoint.last_failed_at) == (
        True,
        T0 + timedelta(days=4),
        T0 + timedelta(days=4),
    )
