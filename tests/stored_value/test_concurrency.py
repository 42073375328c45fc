"""Stored value under real concurrency: threads with their own connections, committed data."""

import uuid
from collections import Counter
from decimal import Decimal

import pytest
from django_tenants.utils import tenant_context

from loyalty_platform.stored_value.models import Giftcard, MoneyEntry
from loyalty_platform.stored_value.services import giftcard_batch_generate
from tests.pos_fixtures import PosClient, run_at_once

pytestmark = pytest.mark.usefixtures("committed_db")
HOST = "test-concurrency.localhost"


def loaded_card(organization, key, amount) -> Giftcard:
    with tenant_context(organization):
        card = giftcard_batch_generate(name=uuid.uuid4().hex, count=1, currency="EUR").giftcards.get()
    response = PosClient(HOST, key).post(
        f"/webhook/giftcards/{card.code}/transactions", {"amount": amount, "external_id": uuid.uuid4().hex}
    )
    assert response.status_code == 200
    return card


def ledger(organization, card):
    with tenant_context(organization):
        card.refresh_from_db()
        entries = MoneyEntry.objects.filter(giftcard=card)
        return card.balance, sum(entries.values_list("amount", flat=True), Decimal("0")), entries


def test_100_simultaneous_payments_never_overdraw(busy):
    organization, key = busy
    card = loaded_card(organization, key, "100.00")

    def call(index):
        response = PosClient(HOST, key).post(
            f"/webhook/giftcards/{card.code}/transactions", {"amount": "-2.50", "external_id": f"pay-{index}"}
        )
        return response.status_code, response.json().get("error")

    results = Counter(run_at_once(100, call))

    assert results == {(200, None): 40, (422, "insufficient_balance"): 60}
    balance, total, entries = ledger(organization, card)
    assert balance == total == Decimal("0.00")
    assert entries.filter(cause="pay").count() == 40


def test_20_simultaneous_reversals_restore_once(busy):
    organization, key = busy
    card = loaded_card(organization, key, "50.00")
    pay_id = (
        PosClient(HOST, key)
        .post(
            f"/webhook/giftcards/{card.code}/transactions",
            {"amount": "-20.00", "external_id": uuid.uuid4().hex},
        )
        .json()["data"]["transaction_id"]
    )

    def call(index):
        response = PosClient(HOST, key).post(
            f"/webhook/giftcard-transactions/{pay_id}/reverse", {"external_id": f"rev-{index}"}
        )
        return response.status_code, response.json().get("error")

    results = Counter(run_at_once(20, call))

    assert results == {(200, None): 1, (409, "transaction_already_reversed"): 19}
    balance, total, entries = ledger(organization, card)
    assert balance == total == Decimal("50.00")
    assert entries.filter(cause="reversal").count() == 1


def test_one_external_id_sent_20_times_at_once_has_one_effect(busy):
    organization, key = busy
    card = loaded_card(organization, key, "30.00")
    external_id = uuid.uuid4().hex

    def call(index):
        response = PosClient(HOST, key).post(
            f"/webhook/giftcards/{card.code}/transactions", {"amount": "-4.00", "external_id": external_id}
        )
        return response.status_code, response.content

    results = run_at_once(20, call)

    statuses = Counter(status for status, _ in results)
    assert set(statuses) <= {200, 409} and statuses[200] >= 1
    assert len({body for status, body in results if status == 200}) == 1
    balance, total, entries = ledger(organization, card)
    assert balance == total == Decimal("26.00")
    assert entries.filter(external_id=external_id).count() == 1
