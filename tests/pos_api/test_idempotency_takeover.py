"""One external_id never commits twice, whatever the timing: a retry that arrives after the
takeover time while the first call is still running (waiting on a row lock, or stalled before
its transaction) must not produce a second ledger entry or a different stored response."""

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.db import connections, transaction
from django.utils import timezone
from django_tenants.utils import tenant_context

from loyalty_platform.core.errors import DomainError
from loyalty_platform.pos_api.idempotency import idempotency_claim, request_fingerprint
from loyalty_platform.pos_api.models import IdempotencyRecord
from loyalty_platform.pos_api.views import render_in_transaction
from loyalty_platform.programs.models import Card, LedgerEntry
from loyalty_platform.programs.services import customer_earn
from tests.pos_fixtures import PosClient, create_customer, wait_for_a_lock_wait

pytestmark = pytest.mark.usefixtures("committed_db")

TAKEOVER_SECONDS = 1


@pytest.fixture
def short_takeover(settings):
    settings.IDEMPOTENCY_TAKEOVER_SECONDS = TAKEOVER_SECONDS


def _earn_of_a_new_customer(organization, prefix: str):
    """A customer with 10 points, their point card, and the body of an earn of 7 with a
    fresh external_id."""
    customer = create_customer(organization, email=f"{uuid.uuid4().hex}@example.com", points=10)
    with tenant_context(organization):
        card = Card.objects.get(customer=customer, program__kind="point")
    external_id = f"{prefix}-{uuid.uuid4().hex}"
    body = {"customer_code": customer.customer_code, "amount": 7, "external_id": external_id}
    return customer, card, external_id, body


def _entries(organization, card: Card, external_id: str) -> list[int]:
    with tenant_context(organization):
        return list(
            LedgerEntry.objects.filter(card=card, external_id=external_id).values_list("delta", flat=True)
        )


def test_a_retry_past_the_takeover_time_while_the_first_waits_on_a_row_lock_is_refused(busy, short_takeover):
    organization, key = busy
    _, card, external_id, body = _earn_of_a_new_customer(organization, "held")
    locked, release = threading.Event(), threading.Event()

    def hold_the_card() -> None:
        try:
            with tenant_context(organization), transaction.atomic():
                Card.objects.select_for_update().get(pk=card.pk)
                locked.set()
                release.wait(timeout=30)
        finally:
            connections.close_all()

    def call(changes: dict | None = None) -> tuple[int, bytes]:
        try:
            response = PosClient("test-concurrency.localhost", key).post(
                "/webhook/pos", {**body, **(changes or {})}
            )
            return response.status_code, response.content
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=3) as pool:
        holder = pool.submit(hold_the_card)
        assert locked.wait(timeout=10)
        first = pool.submit(call)
        wait_for_a_lock_wait()
        time.sleep(TAKEOVER_SECONDS + 0.5)
        retry = pool.submit(call)
        retried_while_running = retry.result(timeout=10)  # must not wait for the lock
        other_body_while_running = pool.submit(call, {"amount": 8}).result(timeout=10)
        release.set()
        holder.result(timeout=10)
        first_result = first.result(timeout=10)

    replay = call()
    assert retried_while_running == (409, b'{"error":"request_in_progress"}')
    assert other_body_while_running == (422, b'{"error":"idempotency_key_reused"}')
    assert first_result == (200, b'{"data":{"stamps":0,"points":17}}')
    assert replay == first_result
    assert _entries(organization, card, external_id) == [7]
    with tenant_context(organization):
        assert Card.objects.get(pk=card.pk).balance == 17


def test_a_first_call_stalled_before_its_transaction_cannot_commit_after_a_takeover(busy, short_takeover):
    organization, key = busy
    customer, card, external_id, body = _earn_of_a_new_customer(organization, "stalled")

    with tenant_context(organization):
        first_claim = idempotency_claim(
            endpoint="pos", external_id=external_id, fingerprint=request_fingerprint(body)
        )
        IdempotencyRecord.objects.filter(pk=first_claim.record_id).update(
            created_at=timezone.now() - timedelta(seconds=TAKEOVER_SECONDS + 1)
        )
    retry = PosClient("test-concurrency.localhost", key).post("/webhook/pos", body)

    with tenant_context(organization):
        with pytest.raises(DomainError) as refused:
            render_in_transaction(
                first_claim,
                lambda: {
                    "points": customer_earn(
                        customer=customer, amount=7, card_type="point", external_id=external_id
                    ).points
                },
            )
        first_claim.release()
        record = IdempotencyRecord.objects.get(endpoint="pos", external_id=external_id)

    assert refused.value.code == "request_in_progress"
    assert (retry.status_code, retry.content) == (200, b'{"data":{"stamps":0,"points":17}}')
    assert (record.status, record.attempt, bytes(record.response_body)) == ("completed", 2, retry.content)
    assert _entries(organization, card, external_id) == [7]


def test_a_claim_left_behind_by_a_failed_release_is_taken_over_after_the_takeover_time(busy, short_takeover):
    organization, key = busy
    _, card, external_id, body = _earn_of_a_new_customer(organization, "left")
    with tenant_context(organization):
        IdempotencyRecord.objects.create(
            endpoint="pos", external_id=external_id, request_hash=request_fingerprint(body)
        )
    pos = PosClient("test-concurrency.localhost", key)

    too_soon = pos.post("/webhook/pos", body)
    time.sleep(TAKEOVER_SECONDS + 0.2)
    taken_over = pos.post("/webhook/pos", body)

    assert (too_soon.status_code, too_soon.json()) == (409, {"error": "request_in_progress"})
    assert (taken_over.status_code, taken_over.json()) == (200, {"data": {"stamps": 0, "points": 17}})
    assert _entries(organization, card, external_id) == [7]
