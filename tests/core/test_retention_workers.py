"""The clean-up jobs on a real Celery worker (not eager mode): purge_expired_records sent into
one organization's schema purges there only, purge_platform_records purges the public
schema's handoffs; both record their run for /healthz."""

import time
import uuid
from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from django_tenants.utils import tenant_context

from loyalty_platform.core.tasks import purge_expired_records
from loyalty_platform.customers.models import LoginLink
from loyalty_platform.verification.models import PinChallenge
from tenants.models import JobStatus, PortalHandoff
from tenants.tasks import purge_platform_records
from tests.pos_fixtures import committed_organization, create_customer
from tests.processes import celery_worker


def _wait_for_success(job: str, organization_id: int | None, since, seconds: float = 60) -> JobStatus:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        status = JobStatus.objects.filter(
            job=job, organization_id=organization_id, last_succeeded_at__gte=since
        ).first()
        if status is not None:
            return status
        time.sleep(0.2)
    raise AssertionError(f"{job} did not succeed within {seconds} s")


def _old_and_recent(organization) -> tuple[set, set]:
    """(PIN challenge and login link ids past their retention, ids inside it)."""
    customer = create_customer(organization)
    now = timezone.now()
    old = now - timedelta(days=settings.RETENTION_DAYS["pin_challenge"] + 1)
    with tenant_context(organization):
        gone = {
            PinChallenge.objects.create(
                customer=customer, action="earn", pin_hash="x", pin_length=4, status="spent", expires_at=old
            ).pk,
            LoginLink.objects.create(customer=customer, token_hash=uuid.uuid4().hex, expires_at=old).pk,
        }
        kept = {
            PinChallenge.objects.create(
                customer=customer, action="earn", pin_hash="x", pin_length=4, status="spent", expires_at=now
            ).pk,
            LoginLink.objects.create(customer=customer, token_hash=uuid.uuid4().hex, expires_at=now).pk,
        }
    return gone, kept


def _rows(organization) -> set:
    with tenant_context(organization):
        return set(PinChallenge.objects.values_list("pk", flat=True)) | set(
            LoginLink.objects.values_list("pk", flat=True)
        )


def test_a_worker_purges_an_organizations_expired_records_in_its_schema_only(committed_db):
    organization, _ = committed_organization(f"purge-{uuid.uuid4().hex[:6]}", "Purge Café")
    bystander, _ = committed_organization(f"purge-{uuid.uuid4().hex[:6]}", "Bystander Café")
    gone, kept = _old_and_recent(organization)
    bystander_gone, bystander_kept = _old_and_recent(bystander)
    started = timezone.now()

    with celery_worker("retention"):
        with tenant_context(organization):
            purge_expired_records.delay()
        status = _wait_for_success(purge_expired_records.name, organization.pk, started)

    assert _rows(organization) == kept
    assert _rows(bystander) == bystander_gone | bystander_kept
    assert status.last_summary == {
        "pin_challenges": 1,
        "login_links": 1,
        "qr_card_sessions": 0,
        "invitations": 0,
        "staff_invitations": 0,
        "receipt_claims": 0,
        "webhook_events": 0,
        "realtime_listeners": 0,
    }
    assert not gone & _rows(organization)


def test_a_worker_purges_the_platforms_old_portal_handoffs(committed_db):
    organization, _ = committed_organization(f"purge-{uuid.uuid4().hex[:6]}", "Handoff Café")
    now = timezone.now()

    def handoff(expires_at) -> int:
        return PortalHandoff.objects.create(
            organization=organization,
            token_hash=uuid.uuid4().hex,
            purpose="signup",
            staff_email="owner@example.com",
            expires_at=expires_at,
        ).pk

    old = handoff(now - timedelta(days=settings.RETENTION_DAYS["portal_handoff"], minutes=1))
    recent = handoff(now - timedelta(minutes=1))
    started = timezone.now()

    with celery_worker("platform-retention"):
        purge_platform_records.delay()
        status = _wait_for_success(purge_platform_records.name, None, started)

    assert set(PortalHandoff.objects.filter(pk__in=[old, recent]).values_list("pk", flat=True)) == {recent}
    assert status.last_summary["portal_handoffs"] >= 1
