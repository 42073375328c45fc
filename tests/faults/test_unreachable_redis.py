"""A web server whose Redis address is a closed loopback port: POS writes keep working,
rate limits and caches fail open, queued jobs and realtime pushes do not break the call, and
/healthz says the service is degraded."""

import pytest
import requests
from django_tenants.utils import tenant_context

from loyalty_platform.core.health import jobs_status
from loyalty_platform.identification.models import QrCardSession
from tests.faults.conftest import ledger_by_external_id
from tests.pos_fixtures import committed_organization, create_customer, issue_key, snapshot
from tests.processes import free_port, live_server

pytestmark = pytest.mark.usefixtures("committed_db")


@pytest.fixture(scope="module")
def server_without_redis(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), live_server(REDIS_URL=f"redis://127.0.0.1:{free_port()}/0") as server:
        yield server


def _post(server, path: str, key: str, body: dict) -> requests.Response:
    return requests.post(
        f"http://127.0.0.1:{server.port}{path}",
        json=body,
        headers={"Host": "test-concurrency.localhost", "X-Api-Key": key},
        timeout=15,
    )


def test_earns_go_through_and_the_rate_limit_fails_open(server_without_redis, till):
    organization, customer, _ = till
    key = issue_key(organization, rate_limits={"transactions": 1, "customer": 1})

    responses = [
        _post(
            server_without_redis,
            "/webhook/pos",
            key,
            {"customer_code": customer.customer_code, "external_id": f"no-redis-{n}", "amount": "1.00"},
        )
        for n in range(3)
    ]

    assert [(r.status_code, r.json()) for r in responses] == [
        (200, {"data": {"stamps": 0, "points": points}}) for points in (1, 2, 3)
    ]
    counts, total, balance = ledger_by_external_id(organization, customer)
    assert counts == {"no-redis-0": 1, "no-redis-1": 1, "no-redis-2": 1}
    assert total == balance == 3


def test_a_call_that_queues_a_job_on_commit_still_answers_and_polling_works(server_without_redis, till):
    organization, _, key = till

    created = _post(server_without_redis, "/webhook/qr-card-sessions", key, {"device_name": "Till 7"})
    assert created.status_code == 200
    session_id = created.json()["data"]["session_id"]
    polled = requests.get(
        f"http://127.0.0.1:{server_without_redis.port}/webhook/qr-card-sessions/{session_id}",
        headers={"Host": "test-concurrency.localhost", "X-Api-Key": key},
        timeout=15,
    )

    assert (polled.status_code, polled.json()["data"]["status"]) == (200, "pending")
    with tenant_context(organization):
        assert QrCardSession.objects.filter(pk=session_id).count() == 1


def test_healthz_says_degraded_but_serving(server_without_redis):
    response = requests.get(
        f"http://127.0.0.1:{server_without_redis.port}/healthz",
        headers={"Host": f"localhost:{server_without_redis.port}"},
        timeout=15,
    )

    assert response.status_code == 200
    assert response.json() == {
        "status": "degraded",
        "database": {"ok": True},
        "redis": {"ok": False, "error": "ConnectionError"},
        "worker": {"ok": False, "error": "broker_unreachable"},
        # Read from the database alone, as this process reads it.
        "jobs": jobs_status(),
    }


@pytest.fixture(scope="module")
def strict_till(django_db_setup, django_db_blocker):
    """An organization of this module whose earns ask the customer's PIN (kept in Redis)."""
    with django_db_blocker.unblock():
        organization, _ = committed_organization(
            "test-faults-strict", "Strict Shop", verification_preset="strict"
        )
        return organization, create_customer(organization), issue_key(organization)


def test_a_pin_step_needs_redis_and_answers_503_changing_nothing(server_without_redis, strict_till):
    organization, customer, key = strict_till
    before = snapshot(organization)

    response = requests.post(
        f"http://127.0.0.1:{server_without_redis.port}/webhook/pos",
        json={"customer_code": customer.customer_code, "external_id": "strict-1", "amount": "1.00"},
        headers={"Host": "test-faults-strict.localhost", "X-Api-Key": key},
        timeout=15,
    )

    assert (response.status_code, response.json(), response.headers["Retry-After"]) == (
        503,
        {"error": "service_unavailable"},
        "5",
    )
    assert snapshot(organization) == before
