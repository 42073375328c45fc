"""Running a scheduled job on real Celery workers (shared by the coupon, voucher and reward
expiry tests): send it into one organization's schema, wait for what it did, and wait until
every copy sent has finished, so what is asserted afterwards is the final state."""

import time
from collections.abc import Callable

from django.conf import settings
from django_tenants.utils import tenant_context

from loyalty_platform.celery import app
from tenants.models import JobStatus, Organization


def send_job(organization: Organization, task, copies: int = 1) -> None:
    """`copies` messages of the job's task, each run in `organization`'s schema."""
    with tenant_context(organization):
        for _ in range(copies):
            task.delay()


def wait_for(condition: Callable[[], object], seconds: float = 60) -> object:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(0.1)
    raise AssertionError(f"not so within {seconds} s")


def _messages_left() -> int:
    """Messages waiting in the queue or taken and not yet acknowledged (tasks acknowledge
    after they ran: CELERY_TASK_ACKS_LATE)."""
    with app.connection_for_read() as connection:
        channel = connection.default_channel
        client = channel.client
        return client.llen(settings.CELERY_TASK_DEFAULT_QUEUE) + client.hlen(channel.unacked_key)


def wait_until_idle(seconds: float = 60) -> None:
    """Until no message of this run's queue is waiting or running, seen twice in a row (a
    message moves from the queue to the unacknowledged ones in two steps)."""
    quiet = 0
    deadline = time.monotonic() + seconds
    while quiet < 2:
        if time.monotonic() > deadline:
            raise AssertionError(f"the workers were still busy after {seconds} s")
        quiet = quiet + 1 if _messages_left() == 0 else 0
        time.sleep(0.1)


def last_summary(organization: Organization, job: str) -> dict | None:
    status = JobStatus.objects.filter(organization=organization, job=job).first()
    return status.last_summary if status and status.last_succeeded_at else None


def last_error(organization: Organization, job: str) -> str | None:
    """The error of the job's last failed run in the organization, None if no run failed."""
    status = JobStatus.objects.filter(organization=organization, job=job).first()
    return status.last_error if status and status.last_failed_at else None
