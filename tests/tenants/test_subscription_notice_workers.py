"""Subscription notices with real Celery workers (not eager mode): two workers given the job
several times at once send each notice once."""

import time
import uuid
from contextlib import ExitStack
from datetime import timedelta

from django.utils import timezone
from django_tenants.utils import tenant_context

from loyalty_platform.accounts import roles
from loyalty_platform.accounts.services import staff_user_create
from tenants.models import Subscription, SubscriptionNotice
from tenants.notices import subscription_notices_send
from tenants.tasks import notify_subscription_lapses
from tests.mail_files import emails_to
from tests.pos_fixtures import committed_organization
from tests.processes import celery_worker


def _organization_with_owner(prefix: str, *, ends_at):
    organization, _ = committed_organization(f"{prefix}-{uuid.uuid4().hex[:6]}", f"{prefix.title()} Café")
    owner = f"owner-{uuid.uuid4().hex[:8]}@example.com"
    with tenant_context(organization):
        staff_user_create(email=owner, password=None, role=roles.OWNER)
    Subscription.objects.filter(organization=organization).update(ends_at=ends_at)
    return organization, owner


def _sent(organization) -> list[tuple]:
    return list(
        SubscriptionNotice.objects.filter(subscription__organization=organization, status="sent").values_list(
            "kind", "days_before", "attempts"
        )
    )


def test_two_workers_given_the_job_at_once_send_each_notice_once(committed_db, tmp_path):
    ending, ending_owner = _organization_with_owner("ending", ends_at=timezone.now() + timedelta(days=3))
    lapsed, lapsed_owner = _organization_with_owner("lapsed", ends_at=timezone.now() - timedelta(hours=1))

    with ExitStack() as stack:
        for name in ("notices-one", "notices-two"):
            stack.enter_context(celery_worker(name, TEST_EMAIL_FILE_PATH=str(tmp_path)))
        for _ in range(4):
            notify_subscription_lapses.delay()
        deadline = time.monotonic() + 60
        while not (_sent(ending) and _sent(lapsed)):
            assert time.monotonic() < deadline, "the workers did not send both notices"
            time.sleep(0.2)
    # Leaving the block stopped both workers, each after the run it was doing.

    assert _sent(ending) == [("ending", 7, 1)]
    assert _sent(lapsed) == [("lapsed", 0, 1)]
    assert SubscriptionNotice.objects.filter(subscription__organization__in=[ending, lapsed]).count() == 2
    (ending_mail,) = emails_to(tmp_path, ending_owner)
    (lapsed_mail,) = emails_to(tmp_path, lapsed_owner)
    assert str(ending_mail["Subject"]).strip().startswith(f"The subscription of {ending.name} ends on ")
    assert str(lapsed_mail["Subject"]).strip() == f"The subscription of {lapsed.name} has ended"
    # A run after them finds nothing left to send for these two.
    subscription_notices_send()
    assert len(emails_to(tmp_path, ending_owner)) == 1
    assert SubscriptionNotice.objects.filter(subscription__organization__in=[ending, lapsed]).count() == 2
