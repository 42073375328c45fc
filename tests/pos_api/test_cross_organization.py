"""Nothing of organization A is reachable with B's key, on either host."""

import pytest
from django_tenants.utils import tenant_context

from loyalty_platform.coupons.services import coupon_issue
from tests.pos_fixtures import PosClient, create_customer, create_programs, snapshot


@pytest.fixture
def a_customer_and_coupon(organization, programs):
    customer = create_customer(organization, points=500, stamps=5)
    with tenant_context(organization):
        coupon = coupon_issue(customer=customer, program=programs["stamp"])
    return customer, coupon


def _calls(customer, coupon):
    return [
        ("get", "/webhook/customer", {"code": customer.customer_code}),
        ("post", "/webhook/pos", {"customer_code": customer.customer_code, "amount": 5, "external_id": "x1"}),
        (
            "post",
            "/webhook/redeem",
            {
                "customer_code": customer.customer_code,
                "value": 100,
                "card_type": "point",
                "external_id": "x2",
            },
        ),
        ("post", "/webhook/coupons/redeem", {"token": coupon.qr_token}),
    ]


def test_b_key_on_a_host_is_401_for_every_endpoint(
    organization, other_organization, a_customer_and_coupon, key_b
):
    customer, coupon = a_customer_and_coupon
    before = snapshot(organization)
    client = PosClient("test-a.localhost", key_b)

    for method, path, body in _calls(customer, coupon):
        response = getattr(client, method)(path, body)
        assert (response.status_code, response.json()) == (401, {"error": "invalid or missing API key"}), path

    assert snapshot(organization) == before


@pytest.mark.parametrize("host", ["test-b.localhost", "localhost"])
def test_b_key_never_finds_a_customers_or_coupons(
    organization, other_organization, a_customer_and_coupon, key_b, host
):
    create_programs(other_organization)
    customer, coupon = a_customer_and_coupon
    before_a, before_b = snapshot(organization), snapshot(other_organization)
    client = PosClient(host, key_b)

    codes = [
        getattr(client, method)(path, body).json()["error"] for method, path, body in _calls(customer, coupon)
    ]

    assert codes == ["customer_not_found", "customer_not_found", "customer_not_found", "coupon_not_found"]
    assert snapshot(organization) == before_a
    assert snapshot(other_organization) == before_b
