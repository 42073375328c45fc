from datetime import datetime

from django.core.cache import caches
from django.db import connection
from django.utils import timezone

from loyalty_platform.celery import app as celery_app
from loyalty_platform.core.jobs import BeatJob, beat_jobs
from tenants.models import JobStatus, Organization


def database_status() -> dict:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as error:  # noqa: BLE001 - any failure means "down", and says why
        return {"ok": False, "error": type(error).__name__}
    return {"ok": True}


def redis_status() -> dict:
    try:
        caches["platform"]._cache.get_client().ping()
    except Exception as error:  # noqa: BLE001
        return {"ok": False, "error": type(error).__name__}
    return {"ok": True}


def worker_status(timeout: float = 1.0, *, broker_reachable: bool = True) -> dict:
    from loyalty_platform.core.tasks import heartbeat_key

    if not broker_reachable:
        # Asking through a broker that is down would only add the broker's retry delays.
        return {"ok": False, "error": "broker_unreachable"}
    try:
        replies = celery_app.control.ping(timeout=timeout)
        last_beat = caches["platform"].get(heartbeat_key("public"))
    except Exception as error:  # noqa: BLE001
        return {"ok": False, "error": type(error).__name__}
    return {"ok": bool(replies), "workers": len(replies), "last_heartbeat": last_beat}


# How many stale jobs /healthz names (the most overdue first); stale_count counts them all.
STALE_JOBS_SHOWN = 5

# Every (job, organization) the beat schedule expects, with the time since when it should
# have succeeded: a per-organization job for each active organization from its creation, a
# platform job from the creation of the oldest one (the platform served since then at least).
# Stale: its last success, or that start when it never succeeded, is before its threshold.
# One query whatever the number of organizations; the join is hashable (no IS NOT DISTINCT).
_STALE_JOBS = """
WITH job (name, per_organization, stale_before) AS (VALUES {values}),
expected AS (
    SELECT job.name, organization.id AS organization_id, organization.slug,
           organization.created_at AS since, job.stale_before
    FROM job JOIN {organizations} organization ON job.per_organization AND organization.is_active
    UNION ALL
    SELECT job.name, NULL, NULL,
           (SELECT min(created_at) FROM {organizations} WHERE is_active), job.stale_before
    FROM job WHERE NOT job.per_organization
)
SELECT expected.name, expected.slug, status.last_succeeded_at, status.last_error, count(*) OVER ()
FROM expected LEFT JOIN {statuses} status
    ON status.job = expected.name
    AND COALESCE(status.organization_id, 0) = COALESCE(expected.organization_id, 0)
WHERE COALESCE(status.last_succeeded_at, expected.since) < expected.stale_before
ORDER BY COALESCE(status.last_succeeded_at, expected.since), expected.name, expected.slug NULLS FIRST
LIMIT %s
"""


def _stale_jobs_query(jobs: list[BeatJob], now: datetime) -> tuple[str, list]:
    values = ", ".join(["(%s::text, %s::boolean, %s::timestamptz)"] * len(jobs))
    params: list = []
    for job in jobs:
        params += [job.job, job.per_organization, now - job.stale_after]
    sql = _STALE_JOBS.format(
        values=values,
        organizations=connection.ops.quote_name(Organization._meta.db_table),
        statuses=connection.ops.quote_name(JobStatus._meta.db_table),
    )
    return sql, [*params, STALE_JOBS_SHOWN]


def jobs_status(*, database_reachable: bool = True, now: datetime | None = None) -> dict:
    """The scheduled jobs (core.jobs) that have not succeeded within their threshold
    (core.jobs.stale_after of their beat entry): per organization, or on the platform
    (organization None). Only the error's type is shown: its message may hold data, and the
    platform admin's job list has it whole."""
    if not database_reachable:
        # Nothing to tell from: the outcomes are in the database.
        return {"ok": False, "error": "database_unreachable"}
    jobs = beat_jobs()
    if not jobs:
        return {"ok": True, "stale": [], "stale_count": 0}
    sql, params = _stale_jobs_query(jobs, now or timezone.now())
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
    except Exception as error:  # noqa: BLE001 - any failure means "could not tell", and says why
        return {"ok": False, "error": type(error).__name__}
    stale = [
        {
            "job": job,
            "organization": slug,
            "last_succeeded_at": succeeded_at.isoformat() if succeeded_at else None,
            "last_error": last_error.split(":", 1)[0] if last_error else None,
        }
        for job, slug, succeeded_at, last_error, _count in rows
    ]
    return {"ok": not stale, "stale": stale, "stale_count": rows[0][4] if rows else 0}
