"""One external_id never commits twice, whatever the timing: the call's transaction holds an
advisory lock named after it, and stores its answer with the change (docs/decisions/0017)."""

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import pytest
from django.db import OperationalError, connection, connections, transaction
from django_tenants.utils import schema_context, tenant_context

from loyalty_platform.pos_api import endpoints
from loyalty_platform.pos_api.idempotency import (
    AnsweredMeanwhile,
    OnceKey,
    once_begin,
    once_record,
    request_fingerprint,
)
from loyalty_platform.pos_api.models import IdempotencyRecord
from loyalty_platform.programs.models import Card, LedgerEntry
from loyalty_platform.programs.services import customer_earn
from loyalty_platform.verification.models import PinChallenge
from tests.pos_fixtures import (
    PosClient,
    committed_organization,
    create_customer,
    held_by_another_session,
    issue_key,
    wait_for_a_lock_wait,
)
from tests.verification.test_pin_state_machine import current_pin

pytestmark = pytest.mark.usefixtures("committed_db")


def _earn_of_a_new_customer(organization, prefix: str):
    """A customer with 10 points, their point card, and the body of an earn of 7 with a
    fresh external_id."""
    customer = create_customer(organization, email=f"{uuid.uuid4().hex}@example.com", points=10)
    with tenant_context(organization):
        card = Card.objects.get(customer=customer, program__kind="point")
    external_id = f"{prefix}-{uuid.uuid4().hex}"
    body = {"customer_code": customer.customer_code, "amount": 7, "external_id": external_id}
    return card, external_id, body


def _entries(organization, card: Card, external_id: str) -> list[int]:
    with tenant_context(organization):
        return list(
            LedgerEntry.objects.filter(card=card, external_id=external_id).values_list("delta", flat=True)
        )


def _call(key: str, body: dict, host: str = "test-concurrency.localhost") -> tuple[int, bytes]:
    try:
        response = PosClient(host, key).post("/webhook/pos", body)
        return response.status_code, response.content
    finally:
        connections.close_all()


@contextmanager
def _card_locked(organization, card: Card):
    with tenant_context(organization), transaction.atomic():
        Card.objects.select_for_update().get(pk=card.pk)
        yield


def _holding_the_card(organization, card: Card):
    """Another transaction holds the card's row lock meanwhile, as a slow till's would."""
    return held_by_another_session(lambda: _card_locked(organization, card))


def test_duplicates_while_the_first_waits_on_a_row_lock_are_refused_at_once(busy):
    organization, key = busy
    card, external_id, body = _earn_of_a_new_customer(organization, "held")

    with ThreadPoolExecutor(max_workers=3) as pool:
        with _holding_the_card(organization, card):
            first = pool.submit(_call, key, body)
            wait_for_a_lock_wait()
            retried_while_running = pool.submit(_call, key, body).result(timeout=10)  # no wait for the lock
            # While the first runs, its body is not stored yet: a changed one is in flight too.
            other_body_while_running = pool.submit(_call, key, {**body, "amount": 8}).result(timeout=10)
        first_result = first.result(timeout=10)

    assert retried_while_running == (409, b'{"error":"request_in_progress"}')
    assert other_body_while_running == (409, b'{"error":"request_in_progress"}')
    assert first_result == (200, b'{"data":{"stamps":0,"points":17}}')
    assert _call(key, body) == first_result
    assert _call(key, {**body, "amount": 8}) == (422, b'{"error":"idempotency_key_reused"}')
    assert _entries(organization, card, external_id) == [7]
    with tenant_context(organization):
        assert Card.objects.get(pk=card.pk).balance == 17


def test_a_call_whose_connection_died_mid_transaction_leaves_nothing_and_a_retry_runs_at_once(busy):
    organization, key = busy
    card, external_id, body = _earn_of_a_new_customer(organization, "died")
    once = OnceKey(endpoint="pos", external_id=external_id, fingerprint=request_fingerprint(body))
    holding, killed, holder_pid = threading.Event(), threading.Event(), []

    def begin_and_hang() -> None:
        try:
            with tenant_context(organization), transaction.atomic():
                assert once_begin(once) is None
                customer_earn(customer=card.customer, amount=7, card_type="point", external_id=external_id)
                holder_pid.append(connection.connection.info.backend_pid)
                holding.set()
                connection.cursor().execute("SELECT pg_sleep(30)")
        except OperationalError:
            killed.set()  # the connection is terminated under it on purpose
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=1) as pool:
        hanging = pool.submit(begin_and_hang)
        assert holding.wait(timeout=10)
        while_held = _call(key, body)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", holder_pid)
        hanging.result(timeout=10)
    assert killed.is_set()

    retried = _call(key, body)
    assert while_held == (409, b'{"error":"request_in_progress"}')
    assert retried == (200, b'{"data":{"stamps":0,"points":17}}')
    assert _entries(organization, card, external_id) == [7]


def test_an_answer_committed_after_the_snapshot_wins_and_the_late_transaction_rolls_back(busy):
    organization, _ = busy
    once = OnceKey(endpoint="pos", external_id=f"late-{uuid.uuid4().hex}", fingerprint="f")

    def store_elsewhere() -> None:
        try:
            with tenant_context(organization):
                IdempotencyRecord.objects.create(
                    endpoint="pos",
                    external_id=once.external_id,
                    request_hash="f",
                    response_status=200,
                    response_body=b"{}",
                )
        finally:
            connections.close_all()

    with tenant_context(organization):
        with pytest.raises(AnsweredMeanwhile), transaction.atomic():
            assert once_begin(once) is None
            with ThreadPoolExecutor(max_workers=1) as pool:
                pool.submit(store_elsewhere).result(timeout=10)
            once_record(once, status=200, body=b'{"late":true}', api_key_lookup_id="")
        stored = IdempotencyRecord.objects.get(endpoint="pos", external_id=once.external_id)
        assert bytes(stored.response_body) == b"{}"


def test_the_same_external_id_in_two_organizations_takes_two_different_locks(busy):
    organization, _ = busy
    with tenant_context(organization):
        here = OnceKey(endpoint="pos", external_id="same", fingerprint="f").lock_id
    with schema_context("public"):
        there = OnceKey(endpoint="pos", external_id="same", fingerprint="f").lock_id
    assert here != there


@pytest.fixture(scope="module")
def strict_busy(django_db_setup, django_db_blocker):
    """A committed Strict organization (every earn asks the PIN) and its key."""
    with django_db_blocker.unblock():
        organization, _ = committed_organization("test-strict-flight", "Strict Flight Café")
        organization.verification_preset = "strict"
        organization.save()
        key = issue_key(organization)
        connections.close_all()
    return organization, key


def test_a_pin_gated_duplicate_while_the_first_runs_is_refused_at_once_without_a_new_prompt(strict_busy):
    organization, key = strict_busy
    card, external_id, body = _earn_of_a_new_customer(organization, "gated")
    client = PosClient("test-strict-flight.localhost", key)
    assert client.post("/webhook/pos", body).status_code == 412
    with_pin = {**body, "verification_pin": current_pin(organization, card.customer)}
    host = "test-strict-flight.localhost"

    with ThreadPoolExecutor(max_workers=2) as pool:
        with _holding_the_card(organization, card):
            first = pool.submit(_call, key, with_pin, host)
            wait_for_a_lock_wait()
            with tenant_context(organization):
                challenges_before = PinChallenge.objects.filter(customer=card.customer).count()
            duplicate = pool.submit(_call, key, with_pin, host).result(timeout=10)
            with tenant_context(organization):
                challenges_after = PinChallenge.objects.filter(customer=card.customer).count()
        first_result = first.result(timeout=10)

    assert duplicate == (409, b'{"error":"request_in_progress"}')
    assert challenges_after == challenges_before  # nobody was asked for another PIN
    assert first_result == (200, b'{"data":{"stamps":0,"points":17}}')
    assert _call(key, with_pin, host) == first_result
    assert _entries(organization, card, external_id) == [7]


def test_a_refusal_caused_by_a_duplicate_that_committed_meanwhile_answers_its_stored_response(
    busy, monkeypatch
):
    """The snapshot race of decision 17: this call's first statement did not see the answer
    its duplicate committed, then the duplicate's effects (the coupon used) refuse it."""
    organization, key = busy
    customer = create_customer(organization, email=f"{uuid.uuid4().hex}@example.com", stamps=9)
    client = PosClient("test-concurrency.localhost", key)
    filled = client.post(
        "/webhook/pos",
        {
            "customer_code": customer.customer_code,
            "amount": 1,
            "card_type": "stamp",
            "external_id": uuid.uuid4().hex,
        },
    )
    token = filled.json()["data"]["coupon"]["qr_token"]
    body = {"token": token, "external_id": f"coupon-{uuid.uuid4().hex}"}
    first = client.post("/webhook/coupons/redeem", body)
    real_begin, calls = endpoints.once_begin, []

    def begin_blind_once(once_key):
        calls.append(once_key)
        return None if len(calls) == 1 else real_begin(once_key)  # the first misses the answer

    monkeypatch.setattr(endpoints, "once_begin", begin_blind_once)

    late = client.post("/webhook/coupons/redeem", body)

    assert (first.status_code, late.status_code, late.content) == (200, 200, first.content)
    assert len(calls) == 1
