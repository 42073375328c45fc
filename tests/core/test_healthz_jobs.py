"""/healthz's jobs check: which scheduled jobs have not succeeded within their threshold, per
organization and on the platform, read from the beat schedule and tenants.JobStatus."""

from datetime import timedelta

import pytest
from django.utils import timezone

from loyalty_platform.core.health import STALE_JOBS_SHOWN, jobs_status
from loyalty_platform.core.jobs import beat_jobs
from tenants.models import JobStatus, Organization

TICK = "loyalty_platform.campaigns.tasks.campaigns_tick"  # every minute: stale after an hour
ROLLUPS = "loyalty_platform.reports.tasks.build_daily_rollups"  # a daily crontab: after 36 h
FLUSH = "tenants.tasks.flush_usage"  # a platform job every 5 minutes: stale after an hour


@pytest.fixture
def now():
    return timezone.now()


@pytest.fixture
def all_done(db, now):
    """Every organization a month old, every job of the schedule succeeded just now in each
    of them and on the platform."""
    JobStatus.objects.all().delete()
    Organization.objects.update(created_at=now - timedelta(days=30))
    organizations = list(Organization.objects.filter(is_active=True))
    rows = []
    for job in beat_jobs():
        for organization in organizations if job.per_organization else [None]:
            rows.append(JobStatus(job=job.job, organization=organization, last_succeeded_at=now))
    JobStatus.objects.bulk_create(rows)
    return organizations


def _succeeded(job: str, organization: Organization | None, at, **fields) -> None:
    JobStatus.objects.filter(job=job, organization=organization).update(last_succeeded_at=at, **fields)


def test_the_schedule_gives_each_job_its_threshold():
    jobs = {job.job: job for job in beat_jobs()}

    assert (jobs[TICK].per_organization, jobs[TICK].stale_after) == (True, timedelta(hours=1))
    assert (jobs[ROLLUPS].per_organization, jobs[ROLLUPS].stale_after) == (True, timedelta(hours=36))
    assert (jobs[FLUSH].per_organization, jobs[FLUSH].stale_after) == (False, timedelta(hours=1))
    recalculate = jobs["loyalty_platform.tiers.tasks.recalculate_tiers"]
    assert recalculate.stale_after == timedelta(days=3)  # daily: three intervals
    assert "loyalty_platform.core.tasks.heartbeat" not in jobs  # the worker check's


def test_nothing_is_stale_when_every_job_succeeded_recently(all_done, now, django_assert_num_queries):
    with django_assert_num_queries(1):
        assert jobs_status(now=now) == {"ok": True, "stale": [], "stale_count": 0}


def test_a_job_past_its_threshold_is_stale_in_its_own_organization_only(
    all_done, now, organization, other_organization
):
    _succeeded(
        TICK,
        organization,
        now - timedelta(minutes=61),
        last_failed_at=now,
        last_error="IntegrityError: duplicate key value (email)=(someone@example.com)",
    )
    _succeeded(TICK, other_organization, now - timedelta(minutes=59))
    _succeeded(ROLLUPS, other_organization, now - timedelta(hours=37))
    _succeeded(FLUSH, None, now - timedelta(hours=2))

    assert jobs_status(now=now) == {
        "ok": False,
        # The most overdue first; the error's type only (its message may hold data).
        "stale": [
            {
                "job": ROLLUPS,
                "organization": "test-b",
                "last_succeeded_at": (now - timedelta(hours=37)).isoformat(),
                "last_error": None,
            },
            {
                "job": FLUSH,
                "organization": None,
                "last_succeeded_at": (now - timedelta(hours=2)).isoformat(),
                "last_error": None,
            },
            {
                "job": TICK,
                "organization": "test-a",
                "last_succeeded_at": (now - timedelta(minutes=61)).isoformat(),
                "last_error": "IntegrityError",
            },
        ],
        "stale_count": 3,
    }


def test_a_new_organization_is_not_stale_until_it_is_older_than_the_threshold(all_done, now):
    new = Organization.objects.bulk_create(
        [Organization(slug="brand-new", name="Brand new", schema_name="org_brand_new")]
    )[0]
    Organization.objects.filter(pk=new.pk).update(created_at=now - timedelta(minutes=59))
    hourly = sorted(
        job.job for job in beat_jobs() if job.per_organization and job.stale_after == timedelta(hours=1)
    )
    assert TICK in hourly and len(hourly) <= STALE_JOBS_SHOWN

    assert jobs_status(now=now)["stale_count"] == 0
    later = jobs_status(now=now + timedelta(minutes=2))
    assert (later["ok"], later["stale_count"]) == (False, len(hourly))
    assert sorted(row["job"] for row in later["stale"]) == hourly
    assert {(row["organization"], row["last_succeeded_at"]) for row in later["stale"]} == {
        ("brand-new", None)
    }


def test_an_inactive_organization_is_not_expected_to_run_jobs(all_done, now, organization):
    JobStatus.objects.filter(organization=organization).delete()
    Organization.objects.filter(pk=organization.pk).update(is_active=False)

    assert jobs_status(now=now) == {"ok": True, "stale": [], "stale_count": 0}


def test_a_platform_job_that_never_succeeded_is_stale_once_the_platform_is_older_than_its_threshold(
    all_done, now
):
    JobStatus.objects.filter(job=FLUSH, organization=None).update(
        last_succeeded_at=None, last_failed_at=now, last_error="OperationalError: no connection"
    )

    assert jobs_status(now=now)["stale"] == [
        {"job": FLUSH, "organization": None, "last_succeeded_at": None, "last_error": "OperationalError"}
    ]
    Organization.objects.update(created_at=now - timedelta(minutes=30))
    assert jobs_status(now=now)["stale"] == []


def test_the_list_is_capped_and_the_count_is_of_all_in_one_query_for_many_organizations(
    all_done, now, django_assert_num_queries
):
    Organization.objects.bulk_create(
        Organization(slug=f"many-{n}", name=f"Many {n}", schema_name=f"org_many_{n}") for n in range(50)
    )
    Organization.objects.filter(slug__startswith="many-").update(created_at=now - timedelta(days=30))
    per_organization = sum(1 for job in beat_jobs() if job.per_organization)

    with django_assert_num_queries(1):
        status = jobs_status(now=now)

    assert (status["ok"], status["stale_count"], len(status["stale"])) == (
        False,
        50 * per_organization,
        STALE_JOBS_SHOWN,
    )
    assert {row["organization"] for row in status["stale"]} <= {f"many-{n}" for n in range(50)}


def test_without_the_database_the_check_says_it_could_not_tell():
    # No database access is allowed in this test: the check does not try.
    assert jobs_status(database_reachable=False) == {"ok": False, "error": "database_unreachable"}


def test_healthz_is_degraded_but_serving_while_a_job_is_stale(all_done, now, platform_client, organization):
    _succeeded(TICK, organization, now - timedelta(hours=2))

    response = platform_client.get("/healthz")

    body = response.json()
    assert (response.status_code, body["status"], body["database"]) == (200, "degraded", {"ok": True})
    assert body["jobs"] == {
        "ok": False,
        "stale": [
            {
                "job": TICK,
                "organization": "test-a",
                "last_succeeded_at": (now - timedelta(hours=2)).isoformat(),
                "last_error": None,
            }
        ],
        "stale_count": 1,
    }


def test_an_organizations_host_names_its_own_stale_jobs_and_only_counts_the_others(
    all_done, now, organization, other_organization
):
    from tests.conftest import HostClient

    _succeeded(TICK, organization, now - timedelta(hours=2))
    _succeeded(TICK, other_organization, now - timedelta(hours=3))

    own = HostClient(organization).get("/healthz").json()["jobs"]
    other = HostClient(other_organization).get("/healthz").json()["jobs"]

    assert [(job["job"], job["organization"]) for job in own["stale"]] == [(TICK, "test-a")]
    assert [(job["job"], job["organization"]) for job in other["stale"]] == [(TICK, "test-b")]
    assert own["stale_count"] == other["stale_count"] == 2
