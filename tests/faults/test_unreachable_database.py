"""A web server whose database address is a closed loopback port: every way a request can
meet the database answers 503 with Retry-After, JSON for programs, never a traceback."""

import pytest
import requests

from tenants.models import Organization
from tenants.selectors import api_key_authenticate, organization_for_hostname
from tests.pos_fixtures import issue_key
from tests.processes import free_port, live_server

pytestmark = pytest.mark.usefixtures("committed_db")

UNAVAILABLE = {"error": "service_unavailable"}


@pytest.fixture(scope="module")
def server_without_database(django_db_setup, django_db_blocker):
    with (
        django_db_blocker.unblock(),
        live_server(DATABASE_HOST="127.0.0.1", DATABASE_PORT=str(free_port())) as server,
    ):
        yield server


@pytest.fixture
def routed_from_cache():
    """Host and key look-ups cached (the server shares this run's Redis namespace), so the
    request gets past routing and authentication and meets the database in the view."""
    organization = Organization.objects.get(slug="test-a")
    key = issue_key(organization)
    assert organization_for_hostname("test-a.localhost") is not None
    assert api_key_authenticate(key) is not None
    return key


def _call(server, method: str, path: str, host: str = "test-a.localhost", **kwargs) -> requests.Response:
    return requests.request(
        method,
        f"http://127.0.0.1:{server.port}{path}",
        headers={"Host": host, **kwargs.pop("headers", {})},
        timeout=15,
        **kwargs,
    )


def _assert_unavailable_json(response: requests.Response) -> None:
    assert (response.status_code, response.headers["Content-Type"]) == (503, "application/json")
    assert response.json() == UNAVAILABLE
    assert response.headers["Retry-After"] == "5"


def test_host_routing_answers_503_json_when_it_cannot_look_the_host_up(server_without_database):
    response = _call(
        server_without_database, "POST", "/webhook/pos", json={"customer_code": 1, "external_id": "x"}
    )

    _assert_unavailable_json(response)


def test_pos_call_answers_503_json_when_its_view_meets_the_database(
    server_without_database, routed_from_cache
):
    response = _call(
        server_without_database,
        "POST",
        "/webhook/pos",
        json={"customer_code": 123456, "external_id": "db-down-1", "amount": "1.00"},
        headers={"X-Api-Key": routed_from_cache},
    )

    _assert_unavailable_json(response)


@pytest.mark.parametrize(("method", "path"), [("GET", "/me/api/profile"), ("POST", "/realtime/auth")])
def test_profile_api_and_realtime_auth_answer_503_json(
    server_without_database, routed_from_cache, method, path
):
    response = _call(
        server_without_database, method, path, cookies={"sessionid": "x" * 32}, data={"socket_id": "1.2"}
    )

    _assert_unavailable_json(response)


def test_pages_for_people_answer_a_small_503_page(server_without_database, routed_from_cache):
    response = _call(
        server_without_database,
        "GET",
        "/admin/",
        cookies={"sessionid": "x" * 32},
        headers={"Accept": "text/html"},
    )

    assert (response.status_code, response.headers["Content-Type"]) == (503, "text/html; charset=utf-8")
    assert response.headers["Retry-After"] == "5"
    assert "Temporarily unavailable" in response.text
    assert "Traceback" not in response.text


def test_healthz_answers_its_own_status_with_503(server_without_database):
    response = _call(
        server_without_database, "GET", "/healthz", host=f"localhost:{server_without_database.port}"
    )

    assert (response.status_code, response.headers["Retry-After"]) == (503, "5")
    body = response.json()
    assert (body["status"], body["database"], body["redis"], body["jobs"]) == (
        "down",
        {"ok": False, "error": "OperationalError"},
        {"ok": True},
        {"ok": False, "error": "database_unreachable"},
    )


@pytest.mark.parametrize("locale", ["lt", "en"])
def test_the_shop_api_answers_503_in_its_own_envelope(server_without_database, routed_from_cache, locale):
    """Through the Loyalty.lt SDK: the refusal is worded as the SDK reads it, with Retry-After."""
    from loyalty_sdk import LoyaltySDK
    from loyalty_sdk.exceptions import LoyaltyAPIError

    lookup_id, _, secret = routed_from_cache.removeprefix("sk_live_").partition("_")
    headers = {"X-API-Key": f"lty_{lookup_id}", "X-API-Secret": secret}
    for method, path in (("GET", f"/{locale}/shop/shops"), ("POST", f"/{locale}/shop/qr-card/generate")):
        response = _call(server_without_database, method, path, headers=headers, json={"device_name": "Till"})
        assert (response.status_code, response.headers["Retry-After"]) == (503, "5")
        body = response.json()
        assert (body["success"], body["code"]) == (False, "SERVICE_UNAVAILABLE")
        assert body["message"].startswith("Paslauga" if locale == "lt" else "The service")
    sdk = LoyaltySDK(api_key=f"lty_{lookup_id}", api_secret=secret, locale=locale, retries=1)
    sdk.base_url = f"http://localhost:{server_without_database.port}"
    with pytest.raises(LoyaltyAPIError) as raised:
        sdk.get_shops()
    assert (raised.value.http_status, raised.value.code) == (503, "SERVICE_UNAVAILABLE")
