"""core.jobs.scheduled_job: what a run records in tenants.JobStatus, what it logs, and that a
run that PostgreSQL failed under is tried again (in this process, and on a real worker)."""

import logging
import re
import time
from contextlib import contextmanager
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone
from django_tenants.utils import tenant_context

from loyalty_platform.core.faults import SERVICE_FAULTS
from loyalty_platform.core.jobs import JOB_MAX_RETRIES, JOB_RETRY_BACKOFF_MAX, scheduled_job
from tenants.models import JobStatus, SignupRequest
from tenants.tasks import purge_signup_requests
from tests.pos_fixtures import held_by_another_session
from tests.processes import celery_worker

RUNS: list[str] = []


@scheduled_job
def judged_job(expired: int = 0, fail: bool = False) -> dict[str, int]:
    RUNS.append(connection.schema_name)
    if fail:
        raise ValueError("no such program")
    return {"expired": expired, "cards": 1 if expired else 0}


@scheduled_job
def once_cancelled_job() -> dict[str, int]:
    """Its first run meets a real PostgreSQL error (a statement cancelled by its timeout)."""
    RUNS.append(connection.schema_name)
    if len(RUNS) == 1:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL statement_timeout = 1")
            cursor.execute("SELECT pg_sleep(1)")
    return {"runs": len(RUNS)}


JUDGED = "tests.core.test_jobs.judged_job"


@pytest.fixture(autouse=True)
def _no_runs_yet():
    RUNS.clear()


def _status(job: str, organization=None) -> JobStatus:
    return JobStatus.objects.get(job=job, organization=organization)


def test_a_job_is_a_task_named_after_its_function_that_retries_service_faults():
    assert judged_job.name == JUDGED
    assert purge_signup_requests.name == "tenants.tasks.purge_signup_requests"
    assert (judged_job.autoretry_for, judged_job.max_retries) == (SERVICE_FAULTS, JOB_MAX_RETRIES)
    assert (judged_job.retry_backoff, judged_job.retry_backoff_max) == (True, JOB_RETRY_BACKOFF_MAX)


def test_a_success_records_when_it_ran_and_what_it_did(organization):
    before = timezone.now()
    with tenant_context(organization):
        result = judged_job.apply(kwargs={"expired": 3}).get()

    status = _status(JUDGED, organization)
    assert result == {"expired": 3, "cards": 1}
    assert status.last_summary == {"expired": 3, "cards": 1}
    assert before <= status.last_started_at <= status.last_succeeded_at <= timezone.now()
    assert (status.last_failed_at, status.last_error) == (None, "")
    assert [organization.schema_name] == RUNS


def test_a_failure_records_the_error_and_is_raised_not_retried_keeping_the_last_success(organization):
    with tenant_context(organization):
        judged_job.apply(kwargs={"expired": 2}).get()
        succeeded = _status(JUDGED, organization).last_succeeded_at
        with pytest.raises(ValueError, match="no such program"):
            judged_job.apply(kwargs={"fail": True}).get()

    status = _status(JUDGED, organization)
    assert status.last_error == "ValueError: no such program"
    assert status.last_failed_at > succeeded
    assert (status.last_succeeded_at, status.last_summary) == (succeeded, {"expired": 2, "cards": 1})
    assert [organization.schema_name] * 2 == RUNS  # not retried: not a database or Redis fault


def test_a_database_fault_is_retried_and_the_retry_records_its_success(organization):
    with tenant_context(organization):
        result = once_cancelled_job.apply().get()

    status = _status("tests.core.test_jobs.once_cancelled_job", organization)
    assert result == {"runs": 2}
    assert status.last_error == "OperationalError: canceling statement due to statement timeout"
    assert status.last_failed_at <= status.last_succeeded_at
    assert status.last_summary == {"runs": 2}


def test_each_organization_and_the_platform_keep_their_own_status(organization, other_organization):
    with tenant_context(organization):
        judged_job.apply(kwargs={"expired": 5}).get()
    with tenant_context(other_organization), pytest.raises(ValueError):
        judged_job.apply(kwargs={"fail": True}).get()
    connection.set_schema_to_public()
    judged_job.apply().get()

    rows = JobStatus.objects.filter(job=JUDGED).order_by("organization_id")
    assert [
        (row.organization_id, row.last_summary, row.last_error, row.last_succeeded_at is not None)
        for row in rows
    ] == [
        (organization.pk, {"expired": 5, "cards": 1}, "", True),
        (other_organization.pk, {}, "ValueError: no such program", False),
        (None, {"expired": 0, "cards": 0}, "", True),
    ]


def _job_lines(caplog) -> list[tuple[str, str]]:
    return [(r.levelname, r.getMessage()) for r in caplog.records if r.name == "loyalty_platform.jobs"]


def test_one_info_line_for_a_run_that_did_something_none_for_an_idle_one(organization, caplog):
    with tenant_context(organization), caplog.at_level(logging.INFO, logger="loyalty_platform.jobs"):
        judged_job.apply(kwargs={"expired": 4}).get()
        busy = _job_lines(caplog)
        caplog.clear()
        judged_job.apply(kwargs={"expired": 0}).get()
        idle = _job_lines(caplog)
        caplog.clear()
        with pytest.raises(ValueError):
            judged_job.apply(kwargs={"fail": True}).get()
        failed = _job_lines(caplog)

    assert len(busy) == 1
    assert busy[0][0] == "INFO"
    assert re.fullmatch(rf"job {JUDGED} in org_test_a: expired=4 cards=1 \(\d+\.\d\d s\)", busy[0][1])
    assert idle == []
    assert failed == [("WARNING", f"job {JUDGED} in org_test_a failed: ValueError")]
    # The idle run is still recorded: /healthz counts it as a success.
    assert _status(JUDGED, organization).last_summary == {"expired": 0, "cards": 0}


def _wait_for(condition, seconds: float = 60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"not within {seconds} s")


@contextmanager
def _table_locked(model):
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"LOCK TABLE {model._meta.db_table} IN ACCESS EXCLUSIVE MODE")
        yield


def test_on_a_worker_a_job_whose_database_gave_up_is_retried_until_it_succeeds(committed_db):
    """The worker's sessions give up a lock wait after 200 ms (PGOPTIONS); the sign-up table
    is locked by another session, so the first run fails with PostgreSQL's lock timeout and is
    recorded; the lock goes, and a retry purges the stale sign-up."""
    stale = SignupRequest.objects.create(
        name="Stale",
        slug="job-retry-stale",
        email="stale@job-retry.example",
        password_hash="x",
        country="LT",
        token_hash="job-retry-stale-token",
        expires_at=timezone.now() - timedelta(days=8),
        timezone="UTC",
    )
    started = timezone.now()
    job = purge_signup_requests.name

    statuses = JobStatus.objects.filter(job=job, organization=None)

    with celery_worker("job-retry", PGOPTIONS="-c lock_timeout=200"):
        with held_by_another_session(lambda: _table_locked(SignupRequest)):
            purge_signup_requests.delay()
            failure = _wait_for(lambda: statuses.filter(last_failed_at__gte=started).first())
        status = _wait_for(lambda: statuses.filter(last_succeeded_at__gte=started).first())

    assert failure.last_error == "OperationalError: canceling statement due to lock timeout"
    assert status.last_succeeded_at > failure.last_failed_at
    assert status.last_summary == {"purged": 1}
    assert not SignupRequest.objects.filter(pk=stale.pk).exists()
