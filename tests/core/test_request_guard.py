"""Input no handler can use is refused before any view runs: NUL characters (PostgreSQL
refuses them in text) anywhere in a request, bodies over the upload limit; HEAD works
wherever GET does. API paths answer JSON, pages a plain status."""

import json

import pytest
import requests
from django.conf import settings
from django_tenants.utils import tenant_context

from loyalty_platform.accounts.models import User
from loyalty_platform.customers.models import Customer
from tests.conftest import HostClient
from tests.pos_fixtures import create_customer, issue_key, snapshot

INVALID_CHARACTERS = {"error": "invalid_characters"}
CONSENTS = {"consent_terms": True, "consent_privacy": True}


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/webhook/customer", {"email": "a\x00b@example.com"}),
        ("/webhook/customer", {"code": "123\x00"}),
        ("/webhook/customer", {"qr\x00": "x"}),
        ("/webhook/customers/123456/wallet", {"x": "\x00"}),
        ("/webhook/giftcards/\x00", {}),
    ],
)
def test_nul_in_a_query_or_path_of_a_read_is_refused(pos, programs, path, params):
    response = pos.get(path, params)

    assert (response.status_code, response.json()) == (400, INVALID_CHARACTERS)


def test_nul_in_the_encoded_query_string_is_refused(pos, programs):
    response = pos.client.get("/webhook/customer?email=a%00b", HTTP_X_API_KEY=pos.key)

    assert (response.status_code, response.json()) == (400, INVALID_CHARACTERS)


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/webhook/orders/%00/returns", {"external_id": "r1", "lines": []}),
        ("/webhook/orders/o1/returns", {"external_id": "r\u0000", "lines": []}),
        ("/webhook/customer", {"email": "a\u0000b@example.com", **CONSENTS}),
        ("/webhook/customer", {"email": "ab@example.com", "name\u0000": "x", **CONSENTS}),
        ("/webhook/pos", {"customer_code": "CODE", "amount": 10, "external_id": "e\u0000"}),
        (
            "/webhook/redeem",
            {"customer_code": "CODE", "value": 1, "external_id": "e1", "manual_code": "\u0000"},
        ),
        ("/webhook/vouchers/\u0000/redeem", {"external_id": "v1"}),
    ],
)
def test_nul_in_a_path_or_json_body_of_a_write_is_refused_and_changes_nothing(
    organization, programs, pos, path, body
):
    customer = create_customer(organization, points=500)
    body = {key: customer.customer_code if value == "CODE" else value for key, value in body.items()}
    before = snapshot(organization)

    response = pos.post(path, body)

    assert (response.status_code, response.json()) == (400, INVALID_CHARACTERS)
    assert snapshot(organization) == before


def test_an_escaped_backslash_before_u0000_is_not_a_nul(organization, programs, pos):
    raw = json.dumps({"email": "a\\u0000b@example.com", **CONSENTS})
    assert "\\\\u0000" in raw

    response = pos.post("/webhook/customer", raw=raw)

    assert response.status_code == 422  # a backslash in an address: invalid, but no NUL
    assert response.json()["error"] == "invalid_email"


def test_a_raw_nul_byte_in_a_json_body_is_refused(organization, programs, pos):
    before = snapshot(organization)

    response = pos.post("/webhook/customer", raw=b'{"email": "a\x00b@example.com"}')

    assert (response.status_code, response.json()) == (400, INVALID_CHARACTERS)
    assert snapshot(organization) == before


def test_nul_in_a_header_is_refused(organization, pos):
    response = pos.get("/webhook/customer", {"code": "123456"}, headers={"HTTP_X_API_KEY": "lp_\x00"})

    assert (response.status_code, response.json()) == (400, INVALID_CHARACTERS)


def test_nul_in_profile_forms_is_refused_and_creates_nothing(organization, programs, mailoutbox):
    client = HostClient(organization)
    with tenant_context(organization):
        customers = Customer.objects.count()

    signup = client.post(
        "/me/signup",
        {"email": "new\x00@example.com", "name": "N", "consent_terms": "on", "consent_privacy": "on"},
    )
    login = client.post("/me/login", {"email": "a\x00@example.com"})
    link = client.get("/me/login/to\x00ken")
    query = client.get("/me/login", {"next": "/me/\x00"})

    for response in (signup, login, link, query):
        assert response.status_code == 400
        assert response["Content-Type"].startswith("text/plain")
    with tenant_context(organization):
        assert Customer.objects.count() == customers
    assert mailoutbox == []


def test_nul_in_the_admin_login_form_is_refused(organization):
    with tenant_context(organization):
        users = User.objects.count()

    response = HostClient(organization).post("/admin/login/", {"username": "st\x00aff", "password": "x"})

    assert response.status_code == 400
    with tenant_context(organization):
        assert User.objects.count() == users


def test_nul_in_a_profile_api_query_is_json(organization):
    response = HostClient(organization).get("/me/api/cards", {"x": "\x00"})

    assert (response.status_code, response.json()) == (400, INVALID_CHARACTERS)


def test_a_body_over_the_upload_limit_is_json_413_on_the_api(organization, programs, pos):
    customer = create_customer(organization)
    before = snapshot(organization)
    padding = "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 500_000)
    body = {"customer_code": customer.customer_code, "amount": 1, "external_id": "big", "note": padding}

    response = pos.post("/webhook/pos", body)

    assert (response.status_code, response.json()) == (413, {"error": "request_too_large"})
    assert snapshot(organization) == before


def test_a_body_over_the_pos_api_cap_is_json_413(organization, programs, pos):
    customer = create_customer(organization)
    before = snapshot(organization)
    body = {"customer_code": customer.customer_code, "amount": 1, "external_id": "big", "note": "x" * 70_000}

    response = pos.post("/webhook/pos", body)

    assert (response.status_code, response.json()) == (413, {"error": "request_too_large"})
    assert snapshot(organization) == before


def test_a_form_over_the_upload_limit_is_a_plain_413_page(organization):
    response = HostClient(organization).post(
        "/me/login", {"email": "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 10)}
    )

    assert response.status_code == 413
    assert response["Content-Type"].startswith("text/plain")


@pytest.mark.parametrize("path", ["/", "/me/login", "/me/signup", "/healthz", "/realtime/config"])
def test_head_answers_like_get_on_an_organizations_host(client_a, path):
    get = client_a.get(path)
    head = client_a.head(path)

    assert get.status_code == 200
    assert (head.status_code, head["Content-Type"], head.content) == (200, get["Content-Type"], b"")


@pytest.mark.parametrize("path", ["/", "/healthz"])
def test_head_answers_like_get_on_the_platform_host(platform_client, path):
    head = platform_client.head(path)

    assert (head.status_code, head.content) == (200, b"")


HTTPS = {"X-Forwarded-Proto": "https"}


@pytest.fixture(scope="module")
def production_key(django_db_setup, django_db_blocker) -> str:
    from tenants.models import Organization

    with django_db_blocker.unblock():
        return issue_key(Organization.objects.get(slug="test-a"))


def test_production_server_refuses_nul_and_big_bodies_with_json(production_server, production_key):
    server = production_server
    headers = {"X-Api-Key": production_key, **HTTPS}

    query = requests.get(
        server.url("localhost", "/webhook/customer?email=a%00b"), headers=headers, timeout=10
    )
    path = requests.post(
        server.url("localhost", "/webhook/orders/%00/returns"), json={}, headers=headers, timeout=10
    )
    big = requests.post(
        server.url("localhost", "/webhook/pos"),
        data=b'{"note": "' + b"x" * 3_000_000 + b'"}',
        headers={**headers, "Content-Type": "application/json"},
        timeout=30,
    )

    for response in (query, path):
        assert (response.status_code, response.json()) == (400, INVALID_CHARACTERS)
    assert (big.status_code, big.json()) == (413, {"error": "request_too_large"})


def test_production_server_refuses_nul_in_a_profile_form_with_a_plain_400(production_server):
    server = production_server

    response = requests.post(
        server.url("localhost", "/me/signup"),
        data={"email": "n\x00@example.com", "consent_terms": "on", "consent_privacy": "on"},
        headers={"Host": f"test-a.localhost:{server.port}", **HTTPS},
        timeout=10,
    )

    assert response.status_code == 400
    assert response.headers["Content-Type"].startswith("text/plain")


def test_production_server_answers_head_without_a_body(production_server):
    server = production_server

    for host, path in (("localhost", "/"), ("localhost", "/healthz"), ("test-a.localhost", "/me/login")):
        headers = {"Host": f"{host}:{server.port}", **HTTPS}
        get = requests.get(server.url("localhost", path), headers=headers, timeout=10)
        head = requests.head(server.url("localhost", path), headers=headers, timeout=10)
        assert get.status_code == 200, path
        assert (head.status_code, head.content) == (200, b""), path
        assert head.headers["Content-Type"] == get.headers["Content-Type"]


def test_a_page_script_asking_for_json_gets_the_refusal_as_json(platform_client):
    """The sign-up page's address check fetches JSON; a NUL byte in its query is refused in
    the answer's own format, while a browser's page request still gets the plain page."""
    script = platform_client.get("/signup/address?slug=a%00b", HTTP_ACCEPT="application/json")
    browser = platform_client.get("/signup/address?slug=a%00b", HTTP_ACCEPT="text/html,*/*;q=0.8")

    assert (script.status_code, script.json()) == (400, {"error": "invalid_characters"})
    assert browser.status_code == 400 and browser["Content-Type"].startswith("text/plain")
