import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import tenant_context

from tenants.models import ApiKey, Subscription
from tenants.services import api_key_revoke
from tests.pos_fixtures import PosClient, create_customer, issue_key, snapshot

INVALID_KEY = {"error": "invalid or missing API key"}


def _earn_body(customer, external_id="e-1"):
    return {"customer_code": customer.customer_code, "amount": 10, "external_id": external_id}


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"HTTP_X_API_KEY": ""},
        {"HTTP_X_API_KEY": "sk_live_nothing"},
        {"HTTP_X_API_KEY": "sk_live_000000000000_wrongsecretwrongsecretwrongsecretwrongse"},
        {"HTTP_AUTHORIZATION": "Basic dXNlcjpwYXNz"},
        {"HTTP_AUTHORIZATION": "Bearer"},
    ],
)
def test_missing_or_wrong_key_is_401_with_the_literal_code(organization, programs, headers):
    customer = create_customer(organization)
    before = snapshot(organization)
    client = PosClient("test-a.localhost", None)

    response = client.post("/webhook/pos", _earn_body(customer), headers=headers)

    assert response.status_code == 401
    assert response.json() == INVALID_KEY
    assert snapshot(organization) == before


def test_wrong_secret_of_a_real_key_is_refused(organization, programs, key_a):
    customer = create_customer(organization)
    tampered = key_a[:-1] + ("A" if key_a[-1] != "A" else "B")

    response = PosClient("test-a.localhost", tampered).post("/webhook/pos", _earn_body(customer))

    assert (response.status_code, response.json()) == (401, INVALID_KEY)


def test_bearer_authorization_works_like_x_api_key(organization, programs, key_a):
    customer = create_customer(organization)
    client = PosClient("test-a.localhost", None)

    response = client.post(
        "/webhook/pos", _earn_body(customer), headers={"HTTP_AUTHORIZATION": f"Bearer {key_a}"}
    )

    assert response.status_code == 200
    assert response.json() == {"data": {"stamps": 0, "points": 10}}


def test_key_of_another_organization_is_refused_on_this_host(
    organization, other_organization, programs, key_b
):
    customer = create_customer(organization)
    before = snapshot(organization)

    response = PosClient("test-a.localhost", key_b).post("/webhook/pos", _earn_body(customer))

    assert (response.status_code, response.json()) == (401, INVALID_KEY)
    assert snapshot(organization) == before


def test_platform_host_routes_by_the_key(organization, other_organization, programs, key_a, key_b):
    customer = create_customer(organization)
    platform = PosClient("localhost", key_a)

    response = platform.post("/webhook/pos", _earn_body(customer))
    assert response.status_code == 200
    assert response.json()["data"]["points"] == 10

    # B's key on the platform host reaches B, where A's customer does not exist.
    response_b = PosClient("localhost", key_b).get("/webhook/customer", {"code": customer.customer_code})
    assert (response_b.status_code, response_b.json()) == (404, {"error": "customer_not_found"})


def test_revoked_key_stops_working_at_once(organization, programs, key_a, pos):
    customer = create_customer(organization)
    assert pos.get("/webhook/customer", {"code": customer.customer_code}).status_code == 200  # cached now

    api_key_revoke(api_key=ApiKey.objects.get(lookup_id=key_a.split("_")[2]))

    response = pos.get("/webhook/customer", {"code": customer.customer_code})
    assert (response.status_code, response.json()) == (401, INVALID_KEY)


def test_key_use_is_recorded(organization, programs, key_a, pos):
    customer = create_customer(organization)
    lookup_id = key_a.split("_")[2]
    assert ApiKey.objects.get(lookup_id=lookup_id).last_used_at is None

    pos.get("/webhook/customer", {"code": customer.customer_code})

    assert ApiKey.objects.get(lookup_id=lookup_id).last_used_at is not None


def test_rate_limit_per_key_and_group_gives_429_with_retry_after(organization, programs):
    key = issue_key(organization, rate_limits={"transactions": 3})
    client = PosClient("test-a.localhost", key)
    customer = create_customer(organization)

    statuses = [client.post("/webhook/pos", _earn_body(customer, f"rl-{i}")).status_code for i in range(3)]
    limited = client.post("/webhook/pos", _earn_body(customer, "rl-3"))

    assert statuses == [200, 200, 200]
    assert limited.status_code == 429
    assert limited.json()["error"] == "too many requests"
    assert 1 <= int(limited["Retry-After"]) <= 60
    # The other group has its own budget (organization default: 30/minute).
    assert client.get("/webhook/customer", {"code": customer.customer_code}).status_code == 200
    with tenant_context(organization):
        assert customer.cards.get(program__kind="point").balance == 30


def test_organization_rate_limits_apply_to_its_keys(organization, programs):
    organization.rate_limits = {"customer": 2}
    organization.save()
    client = PosClient("test-a.localhost", issue_key(organization, rate_limits={}))
    customer = create_customer(organization)

    statuses = [
        client.get("/webhook/customer", {"code": customer.customer_code}).status_code for _ in range(3)
    ]

    assert statuses == [200, 200, 429]


def test_lapsed_subscription_refuses_writes_with_402_but_allows_reads(organization, programs, pos):
    customer = create_customer(organization, points=50)
    assert pos.get("/webhook/customer", {"code": customer.customer_code}).status_code == 200
    Subscription.objects.filter(organization=organization).update(ends_at=timezone.now())
    Subscription.objects.filter(organization=organization).first().save()  # signals forget the cache
    before = snapshot(organization)

    for path, body in (
        ("/webhook/pos", _earn_body(customer)),
        ("/webhook/redeem", {"customer_code": customer.customer_code, "value": 1, "external_id": "r"}),
        ("/webhook/coupons/redeem", {"token": "cq_x"}),
        ("/webhook/customer", {"email": "new@example.com", "consent_terms": True, "consent_privacy": True}),
    ):
        response = pos.post(path, body)
        assert (response.status_code, response.json()) == (402, {"error": "subscription_required"}), path

    assert snapshot(organization) == before
    assert pos.get("/webhook/customer", {"code": customer.customer_code}).status_code == 200


def test_warm_earn_costs_at_most_seven_sql_statements(organization, programs, pos):
    customer = create_customer(organization, points=1, stamps=1)
    pos.post("/webhook/pos", _earn_body(customer, "warm-up"))  # caches key, host, programs

    with CaptureQueriesContext(connection) as queries:
        response = pos.post("/webhook/pos", _earn_body(customer, "measured"))

    assert response.status_code == 200
    statements = [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].split()[0].upper() not in ("SAVEPOINT", "RELEASE")
    ]
    # claim, customer, claim held in the transaction, cards locked, balance, entry, response
    assert len(statements) <= 7, "\n".join(statements)
