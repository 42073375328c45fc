"""Scheduled jobs: the Celery tasks beat starts (loyalty_platform.celery's beat_schedule, the
one place their schedule lives), most of them once per organization.

`scheduled_job` makes a function such a task. Each run logs one line saying what it did,
records its outcome in tenants.JobStatus (per organization; /healthz reports a job that has
not succeeded for too long) and is tried again with backoff when PostgreSQL or Redis failed
under it. The job itself must be idempotent and work in chunks that each commit: a retry, a
second worker running the same job, or a run after a crash half-way only finds what is left.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from celery import shared_task
from celery.schedules import crontab
from django.db import connection
from django.utils import timezone
from tenant_schemas_celery.task import TenantTask

from loyalty_platform.celery import app
from loyalty_platform.core.faults import SERVICE_FAULTS
from loyalty_platform.core.logs import HEARTBEAT_TASK
from tenants.models import JobStatus

logger = logging.getLogger("loyalty_platform.jobs")

JOB_MAX_RETRIES = 5
JOB_RETRY_BACKOFF_MAX = 600

# The beat entries whose task sends args[0] into every active organization's schema.
DISPATCH_TASK = "loyalty_platform.core.tasks.dispatch_to_organizations"


def _organization_id() -> int | None:
    tenant = getattr(connection, "tenant", None)
    if tenant is None or connection.schema_name == "public":
        return None
    return tenant.pk


def _record(job: str, organization_id: int | None, **fields) -> None:
    """Best effort: a job whose database is down cannot record that either; the staleness
    /healthz sees says it anyway."""
    try:
        JobStatus.objects.update_or_create(job=job, organization_id=organization_id, defaults=fields)
    except SERVICE_FAULTS:
        logger.warning("job %s: could not record its outcome", job)


def _error_text(error: BaseException) -> str:
    """The error's type and the first line of its message (PostgreSQL's go on with the
    statement they quote), cut to the column."""
    lines = str(error).splitlines()
    return f"{type(error).__name__}: {lines[0] if lines else ''}"[:255]


def _summary(result) -> dict:
    if isinstance(result, dict):
        return result
    if result is None:
        return {}
    return {"result": result}


def scheduled_job(function: Callable) -> Callable:
    """A Celery task named after `function` (module.name, so beat entries name it), run in the
    organization's schema it was sent to. `function` returns what it did: a dict of counts
    (logged and kept as the last summary), a number, or None."""
    name = f"{function.__module__}.{function.__name__}"

    @shared_task(
        base=TenantTask,
        name=name,
        ignore_result=True,
        autoretry_for=SERVICE_FAULTS,
        retry_backoff=True,
        retry_backoff_max=JOB_RETRY_BACKOFF_MAX,
        max_retries=JOB_MAX_RETRIES,
    )
    @functools.wraps(function)
    def task(*args, **kwargs):
        organization_id = _organization_id()
        started = timezone.now()
        clock = time.monotonic()
        try:
            result = function(*args, **kwargs)
        except Exception as error:
            _record(
                name,
                organization_id,
                last_started_at=started,
                last_failed_at=timezone.now(),
                last_error=_error_text(error),
            )
            logger.warning("job %s in %s failed: %s", name, connection.schema_name, type(error).__name__)
            raise
        summary = _summary(result)
        _record(
            name,
            organization_id,
            last_started_at=started,
            last_succeeded_at=timezone.now(),
            last_summary=summary,
        )
        if any(summary.values()):
            details = " ".join(f"{key}={value}" for key, value in summary.items())
            logger.info(
                "job %s in %s: %s (%.2f s)",
                name,
                connection.schema_name,
                details,
                time.monotonic() - clock,
            )
        return result

    return task


def stale_after(schedule) -> timedelta:
    """How long a job may go without success before /healthz reports it: three of its
    intervals, and at least an hour (a daily crontab: a day and a half)."""
    if isinstance(schedule, crontab):
        return timedelta(hours=36)
    seconds = schedule.total_seconds() if isinstance(schedule, timedelta) else float(schedule)
    return timedelta(seconds=max(3 * seconds, 3600))


@dataclass(frozen=True)
class BeatJob:
    """One scheduled job as the beat schedule starts it."""

    entry: str  # the beat entry's name
    job: str  # the task that records a JobStatus
    per_organization: bool  # sent into each active organization (JobStatus.organization set)
    stale_after: timedelta


def beat_jobs(schedule: dict | None = None) -> list[BeatJob]:
    """The jobs of the beat schedule (loyalty_platform.celery, or `schedule`), read from it
    so the schedule stays the one place: a dispatch entry's job is its first argument and runs
    per organization, any other entry's task is a platform job. The heartbeat is no job (the
    worker check reports it)."""
    if schedule is None:
        schedule = app.conf.beat_schedule
    jobs = []
    for entry, spec in schedule.items():
        per_organization = spec["task"] == DISPATCH_TASK
        job = spec["args"][0] if per_organization else spec["task"]
        if job == HEARTBEAT_TASK:
            continue
        jobs.append(BeatJob(entry, job, per_organization, stale_after(spec["schedule"])))
    return jobs
