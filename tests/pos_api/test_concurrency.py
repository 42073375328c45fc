"""Money paths under real concurrency: threads, each with its own database connection,
against committed data in an organization of their own."""

import uuid
from collections import Counter

import pytest
from django_tenants.utils import tenant_context

from loyalty_platform.coupons.models import Coupon
from loyalty_platform.coupons.services import coupon_issue
from loyalty_platform.programs.models import Card, LedgerEntry
from tests.pos_fixtures import PosClient, create_customer, run_at_once

pytestmark = pytest.mark.usefixtures("committed_db")


def test_50_simultaneous_redemptions_of_one_coupon_succeed_once(busy):
    organization, key = busy
    customer = create_customer(organization, email=f"{uuid.uuid4().hex}@example.com")
    with tenant_context(organization):
        coupon = coupon_issue(customer=customer, program=customer.cards.get(program__kind="stamp").program)

    def call(index):
        response = PosClient("test-concurrency.localhost", key).post(
            "/webhook/coupons/redeem", {"token": coupon.qr_token}
        )
        return response.status_code, response.json().get("error")

    results = Counter(run_at_once(50, call))

    assert results == {(200, None): 1, (409, "coupon_already_used"): 49}
    with tenant_context(organization):
        assert Coupon.objects.get(pk=coupon.pk).status == "redeemed"


def test_100_simultaneous_point_redemptions_never_overdraw(busy):
    organization, key = busy
    customer = create_customer(organization, email=f"{uuid.uuid4().hex}@example.com", points=5000)

    def call(index):
        response = PosClient("test-concurrency.localhost", key).post(
            "/webhook/redeem",
            {
                "customer_code": customer.customer_code,
                "value": 120,
                "card_type": "point",
                "external_id": f"r-{index}",
            },
        )
        return response.status_code, response.json().get("error")

    results = Counter(run_at_once(100, call))

    assert results == {(200, None): 41, (422, "insufficient_balance"): 59}
    with tenant_context(organization):
        card = Card.objects.get(customer=customer, program__kind="point")
        entries = LedgerEntry.objects.filter(card=card)
        assert card.balance == 5000 - 41 * 120 == 80
        assert sum(entries.values_list("delta", flat=True)) == card.balance
        assert entries.filter(cause="redeem").count() == 41
        assert min(entries.values_list("balance_after", flat=True)) >= 0


def test_20_simultaneous_calls_with_one_external_id_have_one_effect(busy):
    organization, key = busy
    customer = create_customer(organization, email=f"{uuid.uuid4().hex}@example.com", points=10)
    external_id = f"same-{uuid.uuid4().hex}"

    def call(index):
        response = PosClient("test-concurrency.localhost", key).post(
            "/webhook/pos", {"customer_code": customer.customer_code, "amount": 7, "external_id": external_id}
        )
        return response.status_code, response.content

    results = run_at_once(20, call)

    statuses = Counter(status for status, _ in results)
    bodies = {body for status, body in results if status == 200}
    assert set(statuses) <= {200, 409}
    assert statuses[200] >= 1
    assert bodies == {b'{"data":{"stamps":0,"points":17}}'}
    assert all(body == b'{"error":"request_in_progress"}' for status, body in results if status == 409)
    with tenant_context(organization):
        card = Card.objects.get(customer=customer, program__kind="point")
        assert card.balance == 17
        assert LedgerEntry.objects.filter(card=card, external_id=external_id).count() == 1
