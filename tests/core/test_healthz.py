import time

import pytest
from django.core.cache import caches
from django.utils import timezone

from loyalty_platform.core.tasks import dispatch_to_organizations, heartbeat_key
from tenants.models import JobStatus, Organization
from tests.processes import celery_worker

NO_STALE_JOBS = {"ok": True, "stale": [], "stale_count": 0}


@pytest.fixture
def jobs_not_due(db):
    """Every organization new and no job run yet: none is stale (the committed organizations
    of other tests may be older than a job's threshold by the time this runs)."""
    Organization.objects.update(created_at=timezone.now())
    JobStatus.objects.all().delete()


@pytest.mark.usefixtures("jobs_not_due")
def test_healthz_without_a_worker_is_degraded_but_serving(platform_client):
    response = platform_client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {
        "status": "degraded",
        "database": {"ok": True},
        "redis": {"ok": True},
        "worker": {"ok": False, "workers": 0, "last_heartbeat": None},
        "jobs": NO_STALE_JOBS,
    }


def test_healthz_refuses_other_methods(platform_client):
    assert platform_client.post("/healthz").status_code == 405


def _wait_for(key: str, timeout: float = 30) -> str | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = caches["platform"].get(key)
        if value is not None:
            return value
        time.sleep(0.1)
    return None


@pytest.mark.usefixtures("committed_db", "jobs_not_due")
def test_worker_runs_tasks_in_each_organizations_schema_and_healthz_sees_it(platform_client):
    with celery_worker():
        dispatch_to_organizations.delay("loyalty_platform.core.tasks.heartbeat")
        assert _wait_for(heartbeat_key("org_test_a")) is not None
        assert _wait_for(heartbeat_key("org_test_b")) is not None
        assert caches["platform"].get(heartbeat_key("public")) is None

        response = platform_client.get("/healthz")

    body = response.json()
    assert response.status_code == 200
    assert (body["status"], body["worker"]["ok"], body["worker"]["workers"]) == ("ok", True, 1)
    assert body["jobs"] == NO_STALE_JOBS
