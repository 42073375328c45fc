"""Owners hear before their organization's subscription lapses and when it has (tenants.
notices): each notice once, at its time and not before, not for a renewed subscription, and
a failed send again on a later run."""

import uuid
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.utils import timezone
from django_tenants.utils import tenant_context

from loyalty_platform.accounts import roles
from loyalty_platform.accounts.models import User
from loyalty_platform.accounts.services import staff_user_create
from tenants.models import Organization, Subscription, SubscriptionNotice
from tenants.notices import subscription_notices_send
from tenants.services import default_plan
from tests.processes import free_port


def _staff(organization, role: str, **fields) -> str:
    email = f"{role}-{uuid.uuid4().hex[:8]}@example.com"
    with tenant_context(organization):
        user = staff_user_create(email=email, password=None, role=role)
        if fields:
            User.objects.filter(pk=user.pk).update(**fields)
    return email


@pytest.fixture
def owners(organization) -> list[str]:
    """Two active owners of organization A, beside staff who are not told."""
    emails = sorted([_staff(organization, roles.OWNER), _staff(organization, roles.OWNER)])
    _staff(organization, roles.MANAGER)
    _staff(organization, roles.CASHIER)
    _staff(organization, roles.OWNER, is_active=False)
    _staff(organization, roles.OWNER, is_platform_support=True)
    return emails


def _subscription(organization, *, ends_at, status="active") -> Subscription:
    """The organization's one subscription (organization_create made it), ending then."""
    subscription = Subscription.objects.get(organization=organization)
    Subscription.objects.filter(pk=subscription.pk).update(ends_at=ends_at, status=status)
    subscription.refresh_from_db()
    return subscription


def _notices(organization) -> list[tuple]:
    return list(
        SubscriptionNotice.objects.filter(subscription__organization=organization)
        .order_by("pk")
        .values_list("kind", "days_before", "status", "attempts")
    )


def _mails_to(addresses: list[str]) -> list:
    return [message for message in mail.outbox if sorted(message.to) == sorted(addresses)]


def _run_at(moment):
    with time_machine.travel(moment, tick=False):
        return subscription_notices_send()


def test_owners_hear_seven_days_and_one_day_before_and_at_the_lapse_each_once(
    organization, owners, mailoutbox
):
    ends_at = timezone.now() + timedelta(days=10)
    subscription = _subscription(organization, ends_at=ends_at)

    _run_at(ends_at - timedelta(days=7, seconds=1))
    assert _notices(organization) == []
    _run_at(ends_at - timedelta(days=7))
    _run_at(ends_at - timedelta(days=7) + timedelta(hours=1))
    assert _notices(organization) == [("ending", 7, "sent", 1)]
    _run_at(ends_at - timedelta(days=1, seconds=1))
    _run_at(ends_at - timedelta(days=1))
    _run_at(ends_at - timedelta(seconds=1))
    assert _notices(organization) == [("ending", 7, "sent", 1), ("ending", 1, "sent", 1)]
    _run_at(ends_at)
    _run_at(ends_at + timedelta(hours=5))

    assert _notices(organization) == [
        ("ending", 7, "sent", 1),
        ("ending", 1, "sent", 1),
        ("lapsed", 0, "sent", 1),
    ]
    assert (
        list(
            SubscriptionNotice.objects.filter(subscription=subscription).values_list("recipients", flat=True)
        )
        == [owners] * 3
    )
    seven, one, lapsed = _mails_to(owners)
    assert len(mailoutbox) >= 3
    assert seven.subject.startswith("The subscription of Test Org A ends on ")
    assert "in 7 days" in seven.body
    assert "in 1 day," in one.body
    assert seven.subject.endswith("(UTC)")
    for message in (seven, one):
        assert "refuses every change" in message.body
        assert "subscription_required" in message.body
        assert "renew it before then" in message.body
    assert lapsed.subject == "The subscription of Test Org A has ended"
    assert "ended on" in lapsed.body and "no other subscription covers today" in lapsed.body
    assert "To renew, ask the platform operator" in lapsed.body
    for message in (seven, one, lapsed):
        assert "http://test-a.localhost:8000/admin/plan/" in message.body
        (html, kind) = message.alternatives[0]
        assert kind == "text/html"
        assert 'href="http://test-a.localhost:8000/admin/plan/"' in html
        assert "Standard" in message.body


def test_a_late_first_run_sends_only_the_nearest_notice(organization, owners, mailoutbox):
    ends_at = timezone.now() + timedelta(days=10)
    _subscription(organization, ends_at=ends_at)

    _run_at(ends_at - timedelta(hours=12))
    _run_at(ends_at - timedelta(hours=11))

    assert _notices(organization) == [("ending", 1, "sent", 1)]
    assert len(_mails_to(owners)) == 1


def test_a_trial_ending_is_called_a_trial(organization, owners, mailoutbox):
    ends_at = timezone.now() + timedelta(days=3)
    _subscription(organization, ends_at=ends_at, status="trialing")

    _run_at(timezone.now())

    (message,) = _mails_to(owners)
    assert message.subject.startswith("The trial of Test Org A ends on ")
    assert "The trial of Test Org A (Standard) ends on" in message.body


def test_a_subscription_renewed_in_time_gets_no_notice(organization, owners, mailoutbox):
    ends_at = timezone.now() + timedelta(days=10)
    _subscription(organization, ends_at=ends_at)
    Subscription.objects.create(
        organization=organization,
        plan=default_plan(),
        started_at=ends_at,
        ends_at=ends_at + timedelta(days=365),
    )

    for moment in (ends_at - timedelta(days=7), ends_at - timedelta(days=1), ends_at + timedelta(hours=1)):
        _run_at(moment)

    assert _notices(organization) == []
    assert _mails_to(owners) == []


def test_a_renewal_after_the_first_notice_stops_the_others(organization, owners, mailoutbox):
    ends_at = timezone.now() + timedelta(days=10)
    _subscription(organization, ends_at=ends_at)
    _run_at(ends_at - timedelta(days=6))
    # Renewed after the first notice, from the old end on.
    Subscription.objects.create(organization=organization, plan=default_plan(), started_at=ends_at)

    for moment in (ends_at - timedelta(days=1), ends_at + timedelta(hours=1), ends_at + timedelta(days=2)):
        _run_at(moment)

    assert _notices(organization) == [("ending", 7, "sent", 1)]
    assert len(_mails_to(owners)) == 1


def test_a_subscription_whose_end_moved_later_gets_notices_for_its_new_end(organization, owners, mailoutbox):
    ends_at = timezone.now() + timedelta(days=10)
    subscription = _subscription(organization, ends_at=ends_at)
    _run_at(ends_at - timedelta(days=6))
    new_end = ends_at + timedelta(days=30)
    Subscription.objects.filter(pk=subscription.pk).update(ends_at=new_end)

    _run_at(ends_at - timedelta(hours=1))
    _run_at(ends_at + timedelta(hours=1))
    assert _notices(organization) == [("ending", 7, "sent", 1)]
    _run_at(new_end - timedelta(days=7))

    assert list(
        SubscriptionNotice.objects.filter(subscription=subscription)
        .order_by("pk")
        .values_list("days_before", "ends_at")
    ) == [(7, ends_at), (7, new_end)]
    assert len(_mails_to(owners)) == 2


def test_only_a_recent_lapse_is_told(organization, other_organization, owners, mailoutbox):
    _subscription(organization, ends_at=timezone.now() - timedelta(days=2))
    other_owner = _staff(other_organization, roles.OWNER)
    _subscription(other_organization, ends_at=timezone.now() - timedelta(days=8))

    _run_at(timezone.now())

    assert _notices(organization) == [("lapsed", 0, "sent", 1)]
    assert _notices(other_organization) == []
    assert len(_mails_to(owners)) == 1
    assert _mails_to([other_owner]) == []


def test_organizations_without_owners_are_skipped_and_suspended_ones_not_told(
    organization, other_organization, mailoutbox
):
    _subscription(organization, ends_at=timezone.now() + timedelta(days=2))
    _staff(other_organization, roles.OWNER)
    _subscription(other_organization, ends_at=timezone.now() + timedelta(days=2))
    Organization.objects.filter(pk=other_organization.pk).update(status=Organization.Status.SUSPENDED)

    _run_at(timezone.now())
    _run_at(timezone.now() + timedelta(hours=2))

    assert _notices(organization) == [("ending", 7, "skipped", 1)]
    assert _notices(other_organization) == []


def test_a_failed_send_is_tried_again_on_a_later_run(organization, owners, mailoutbox, settings):
    ends_at = timezone.now() + timedelta(days=5)
    _subscription(organization, ends_at=ends_at)
    start = timezone.now()
    # Nothing listens on this port: the SMTP connection is refused.
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", free_port(), 2

    counts = _run_at(start)
    assert counts["notices_failed"] >= 1
    assert _notices(organization) == [("ending", 7, "failed", 1)]
    notice = SubscriptionNotice.objects.get(subscription__organization=organization)
    assert notice.last_error.startswith("ConnectionRefusedError")
    assert notice.sent_at is None

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    _run_at(start + timedelta(minutes=29))
    assert _notices(organization) == [("ending", 7, "failed", 1)]
    assert _mails_to(owners) == []
    _run_at(start + timedelta(minutes=30))
    _run_at(start + timedelta(minutes=90))

    assert _notices(organization) == [("ending", 7, "sent", 2)]
    notice.refresh_from_db()
    assert (notice.last_error, notice.recipients) == ("", owners)
    assert notice.sent_at is not None
    assert len(_mails_to(owners)) == 1


def test_a_send_that_keeps_failing_stops_after_its_tries(organization, owners, mailoutbox, settings):
    _subscription(organization, ends_at=timezone.now() + timedelta(days=5))
    settings.SUBSCRIPTION_NOTICE_MAX_ATTEMPTS = 2
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", free_port(), 2
    start = timezone.now()

    for hours in range(4):
        _run_at(start + timedelta(hours=hours))

    assert _notices(organization) == [("ending", 7, "failed", 2)]


def test_a_notice_left_by_a_worker_that_died_is_sent_later_and_one_being_sent_is_left_alone(
    organization, owners, mailoutbox
):
    ends_at = timezone.now() + timedelta(days=5)
    subscription = _subscription(organization, ends_at=ends_at)
    start = timezone.now()
    # Another worker took it a moment ago (and is sending it now, or died doing so).
    SubscriptionNotice.objects.create(
        subscription=subscription, kind="ending", days_before=7, ends_at=ends_at, attempts=1, claimed_at=start
    )

    _run_at(start + timedelta(minutes=29))
    assert _notices(organization) == [("ending", 7, "sending", 1)]
    assert _mails_to(owners) == []
    _run_at(start + timedelta(minutes=30))
    _run_at(start + timedelta(minutes=31))

    assert _notices(organization) == [("ending", 7, "sent", 2)]
    assert len(_mails_to(owners)) == 1
