"""Every beat entry names a task that exists and runs: registered in the Celery app (for a
dispatch entry, the job it sends into each organization too), run here in an organization's
schema or the public one, and run on a real worker as beat sends it; each job records its
success in tenants.JobStatus."""

import time

import pytest
from django.core.cache import caches
from django.db import connection
from django.utils import timezone
from django_tenants.utils import tenant_context

from loyalty_platform.celery import app
from loyalty_platform.core.jobs import DISPATCH_TASK, beat_jobs
from loyalty_platform.core.logs import HEARTBEAT_TASK
from loyalty_platform.core.tasks import heartbeat_key
from tenants.models import JobStatus, Organization
from tests.conftest import ORGANIZATION_A, ORGANIZATION_B
from tests.processes import celery_worker

SCHEDULE = app.conf.beat_schedule
JOBS = beat_jobs()


@pytest.fixture(scope="module", autouse=True)
def _tasks_imported():
    """The apps' tasks modules, as a worker imports them at start."""
    app.loader.import_default_modules()


def _tasks_of(entry: dict) -> list[str]:
    return [entry["task"], entry["args"][0]] if entry["task"] == DISPATCH_TASK else [entry["task"]]


@pytest.mark.parametrize("name", sorted(SCHEDULE))
def test_the_entry_names_registered_tasks(name):
    entry = SCHEDULE[name]

    assert [task for task in _tasks_of(entry) if task not in app.tasks] == []


def test_every_entry_but_the_heartbeat_is_a_job_and_each_job_has_one_entry():
    jobs = [job.job for job in JOBS]

    assert sorted(job.entry for job in JOBS) == sorted(set(SCHEDULE) - {"heartbeat"})
    assert len(jobs) == len(set(jobs))


@pytest.mark.parametrize("job", JOBS, ids=lambda job: job.entry)
def test_the_job_runs_where_beat_sends_it_and_records_its_success(job, organization):
    started = timezone.now()
    task = app.tasks[job.job]
    if job.per_organization:
        with tenant_context(organization):
            result = task.apply().get()
    else:
        connection.set_schema_to_public()
        result = task.apply().get()

    assert isinstance(result, dict)
    assert all(isinstance(count, int) for count in result.values())
    status = JobStatus.objects.get(job=job.job, organization=organization if job.per_organization else None)
    assert status.last_succeeded_at >= started
    assert status.last_summary == result


def test_the_heartbeat_runs_in_the_public_schema():
    app.tasks[SCHEDULE["heartbeat"]["task"]].apply().get()

    assert caches["platform"].get(heartbeat_key("public")) is not None


def _not_done(expected: dict, started) -> dict:
    """Of `expected` ({(job, organization slug or None): why}), what has no success since
    `started` yet."""
    succeeded = set(
        JobStatus.objects.filter(
            job__in={job for job, _ in expected}, last_succeeded_at__gte=started
        ).values_list("job", "organization__slug")
    )
    return {key: why for key, why in expected.items() if key not in succeeded}


def test_every_entry_runs_on_a_worker_as_beat_sends_it(committed_db):
    """Sent from the public schema as beat sends it (a dispatch entry reaches every active
    organization); each job succeeds in both test organizations or on the platform."""
    assert Organization.objects.filter(slug__in=[ORGANIZATION_A, ORGANIZATION_B], is_active=True).count() == 2
    expected = {}
    for job in JOBS:
        why = "ran without success" if job.job in app.tasks else "not registered"
        for slug in [ORGANIZATION_A, ORGANIZATION_B] if job.per_organization else [None]:
            expected[(job.job, slug)] = why
    started = timezone.now()
    connection.set_schema_to_public()

    with celery_worker("beat-entries"):
        for entry in SCHEDULE.values():
            app.send_task(entry["task"], args=entry.get("args", ()), kwargs=entry.get("kwargs", {}))
        deadline = time.monotonic() + 120
        registered = {key: why for key, why in expected.items() if why != "not registered"}
        while _not_done(registered, started) and time.monotonic() < deadline:
            time.sleep(0.2)
        heartbeat = caches["platform"].get(heartbeat_key("public"))

    assert heartbeat is not None
    assert _not_done(expected, started) == {}
    assert HEARTBEAT_TASK not in {job for job, _ in expected}
