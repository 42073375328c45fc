"""The console's list of scheduled jobs (tenants.JobStatus): read-only, failing ones first,
then stale ones, the longest without success first."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tenants.models import JobStatus

LIST_URL = "/admin/tenants/jobstatus/"
TICK = "loyalty_platform.campaigns.tasks.campaigns_tick"  # stale after an hour
ROLLUPS = "loyalty_platform.reports.tasks.build_daily_rollups"  # stale after 36 hours


@pytest.fixture
def statuses(db, organization, other_organization):
    JobStatus.objects.all().delete()
    now = timezone.now()
    rows = {
        "ok": JobStatus(
            job=TICK, organization=organization, last_succeeded_at=now, last_summary={"runs_queued": 2}
        ),
        "stale": JobStatus(
            job=TICK, organization=other_organization, last_succeeded_at=now - timedelta(hours=2)
        ),
        "failing": JobStatus(
            job=ROLLUPS,
            organization=organization,
            last_succeeded_at=now - timedelta(hours=1),
            last_failed_at=now,
            last_error="OperationalError: canceling statement due to lock timeout",
        ),
        "recovered": JobStatus(
            job=ROLLUPS,
            organization=other_organization,
            last_succeeded_at=now,
            last_failed_at=now - timedelta(minutes=5),
            last_error="OperationalError: the connection was closed",
        ),
        "platform": JobStatus(job="tenants.tasks.flush_usage", last_succeeded_at=now - timedelta(minutes=10)),
        "never succeeded": JobStatus(
            job="tenants.tasks.purge_signup_requests", last_failed_at=now, last_error="ValueError: bad"
        ),
    }
    JobStatus.objects.bulk_create(rows.values())
    return rows


def test_failing_jobs_come_first_then_stale_ones_then_the_rest(console, statuses):
    response = console.get(LIST_URL)

    assert response.status_code == 200
    shown = [
        (status.state, status.job, status.organization.slug if status.organization else None)
        for status in response.context["cl"].result_list
    ]
    assert shown == [
        (0, "tenants.tasks.purge_signup_requests", None),
        (0, ROLLUPS, "test-a"),
        (1, TICK, "test-b"),
        (2, "tenants.tasks.flush_usage", None),
        (2, TICK, "test-a"),  # succeeded at the same time: by job name
        (2, ROLLUPS, "test-b"),
    ]
    page = response.content.decode()
    for text in ("Failing", "Stale", "Platform", "runs_queued=2", "canceling statement due to lock timeout"):
        assert text in page


def test_the_list_is_read_only(console, statuses):
    status = statuses["failing"]

    assert console.get(f"{LIST_URL}add/").status_code == 403
    assert console.post(f"{LIST_URL}{status.pk}/delete/", {"post": "yes"}).status_code == 403
    assert console.post(f"{LIST_URL}{status.pk}/change/", {"last_error": ""}).status_code == 403
    status.refresh_from_db()
    assert status.last_error == "OperationalError: canceling statement due to lock timeout"


def test_the_console_navigation_links_to_it(console):
    assert LIST_URL in console.get("/admin/").content.decode()
