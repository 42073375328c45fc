"""A change by staff takes effect at once although the look-ups are cached in each process:
in this process (signals forget the copies) and in another one (the server process, which
reads the announced change with its next POS call's rate-limit count). Primary keys repeat
across schemas, so each test also checks that the other organization is untouched."""

from decimal import Decimal

import pytest
import requests
from django.utils import timezone
from django_tenants.utils import tenant_context

from loyalty_platform.programs.models import Program
from tenants.models import ApiKey, Subscription
from tenants.services import api_key_revoke
from tests.pos_fixtures import committed_organization, create_customer, create_programs, issue_key

INVALID_KEY = {"error": "invalid or missing API key"}
SUBSCRIPTION_REQUIRED = {"error": "subscription_required"}


def _earn(client, customer, external_id: str):
    return client.post(
        "/webhook/pos", {"customer_code": customer.customer_code, "amount": 10, "external_id": external_id}
    )


def _lookup_id(key: str) -> str:
    return key.split("_")[2]


def test_a_revoked_key_is_refused_at_once_and_the_other_organizations_key_goes_on(
    organization, other_organization, programs, pos, pos_b, key_a
):
    create_programs(other_organization)
    customer_a, customer_b = create_customer(organization), create_customer(other_organization)
    assert (_earn(pos, customer_a, "a-1").status_code, _earn(pos_b, customer_b, "b-1").status_code) == (
        200,
        200,
    )

    api_key_revoke(api_key=ApiKey.objects.get(lookup_id=_lookup_id(key_a)))

    assert (_earn(pos, customer_a, "a-2").status_code, _earn(pos, customer_a, "a-2").json()) == (
        401,
        INVALID_KEY,
    )
    assert _earn(pos_b, customer_b, "b-2").json() == {"data": {"stamps": 0, "points": 20}}


def test_an_ended_subscription_refuses_writes_at_once_in_its_organization_only(
    organization, other_organization, programs, pos, pos_b
):
    create_programs(other_organization)
    customer_a, customer_b = create_customer(organization), create_customer(other_organization)
    assert (_earn(pos, customer_a, "a-1").status_code, _earn(pos_b, customer_b, "b-1").status_code) == (
        200,
        200,
    )

    subscription = Subscription.objects.get(organization=organization)
    subscription.ends_at = timezone.now()
    subscription.save()

    response = _earn(pos, customer_a, "a-2")
    assert (response.status_code, response.json()) == (402, SUBSCRIPTION_REQUIRED)
    assert _earn(pos_b, customer_b, "b-2").json() == {"data": {"stamps": 0, "points": 20}}


def test_an_edited_program_earns_at_its_new_ratio_in_its_organization_only(
    organization, other_organization, programs, pos, pos_b
):
    with tenant_context(other_organization):
        # The same primary key in both schemas, so a cache keyed by id alone would mix them.
        Program.objects.create(
            pk=programs["point"].pk,
            kind="point",
            name="Points",
            earn_points_per_unit=Decimal("1"),
            redeem_points_per_unit=100,
        )
    customer_a, customer_b = create_customer(organization), create_customer(other_organization)
    assert _earn(pos, customer_a, "a-1").json() == {"data": {"stamps": 0, "points": 10}}
    assert _earn(pos_b, customer_b, "b-1").json() == {"data": {"stamps": 0, "points": 10}}

    with tenant_context(organization):
        program = Program.objects.get(pk=programs["point"].pk)
        program.earn_points_per_unit = Decimal("3")
        program.save()

    assert _earn(pos, customer_a, "a-2").json() == {"data": {"stamps": 0, "points": 40}}
    assert _earn(pos_b, customer_b, "b-2").json() == {"data": {"stamps": 0, "points": 20}}


# ---------------------------------------------------------------------------------------
# Another process: the ASGI server, whose copies this process's signals cannot forget.
# ---------------------------------------------------------------------------------------


@pytest.fixture
def cafe(committed_db):
    """A committed organization of its own (its subscription and program get changed), a
    fresh key and customer for each test (external ids are unique per key)."""
    organization, _ = committed_organization("test-caches", "Cache Café")
    return organization, issue_key(organization), create_customer(organization)


def _server_earn(server, key: str, customer, external_id: str) -> requests.Response:
    return requests.post(
        server.url("127.0.0.1", "/webhook/pos"),
        json={
            "customer_code": customer.customer_code,
            "amount": 10,
            "external_id": f"{_lookup_id(key)}-{external_id}",
        },
        headers={"Host": "test-caches.localhost", "X-Api-Key": key},
        timeout=15,
    )


def test_another_process_refuses_a_revoked_key_with_its_next_call(server, cafe):
    _organization, key, customer = cafe
    assert _server_earn(server, key, customer, "s-1").status_code == 200  # cached in the server

    api_key_revoke(api_key=ApiKey.objects.get(lookup_id=_lookup_id(key)))

    response = _server_earn(server, key, customer, "s-2")
    assert (response.status_code, response.json()) == (401, INVALID_KEY)


def test_another_process_refuses_writes_with_its_next_call_once_the_subscription_ended(server, cafe):
    organization, key, customer = cafe
    assert _server_earn(server, key, customer, "s-1").status_code == 200
    subscription = Subscription.objects.get(organization=organization)
    subscription.ends_at = timezone.now()
    subscription.save()
    try:
        response = _server_earn(server, key, customer, "s-2")
    finally:
        subscription.ends_at = None
        subscription.save()

    assert (response.status_code, response.json()) == (402, SUBSCRIPTION_REQUIRED)
    assert _server_earn(server, key, customer, "s-3").status_code == 200


def test_another_process_earns_at_the_new_ratio_with_its_next_call(server, cafe):
    organization, key, customer = cafe
    assert _server_earn(server, key, customer, "s-1").json() == {"data": {"stamps": 0, "points": 10}}
    with tenant_context(organization):
        program = Program.objects.get(kind="point", is_active=True)
        program.earn_points_per_unit = Decimal("2")
        program.save()
    try:
        response = _server_earn(server, key, customer, "s-2")
    finally:
        with tenant_context(organization):
            program.earn_points_per_unit = Decimal("1")
            program.save()

    assert response.json() == {"data": {"stamps": 0, "points": 30}}
