"""Emails to an organization's owners before its subscription lapses and when it has
(tenants.tasks.notify_subscription_lapses, hourly, in the public schema; docs/decisions/
0045-retention.md).

An organization is covered while an active or trialing subscription's period holds the
moment (tenants.selectors); a lapsed organization's POS API refuses every change
(pos_api.authentication). Following the covering periods from now, one after the other, gives
the moment the organization lapses and the subscription whose end that is. Its owners hear
SUBSCRIPTION_NOTICE_DAYS before it (the nearest of those days only, so a late first run sends
one notice, not two), and once it has passed when no subscription covers now. A renewal that
covers the end removes the notice before it is due; a subscription whose end is moved later
gets notices for its new end.

Each notice is a SubscriptionNotice row, unique per subscription, kind, days and end, claimed
before the email goes out: inserted (ON CONFLICT DO NOTHING) or taken again with a
conditional update, so of two workers at once only one sends it. A send that fails is
recorded and tried again on a run SUBSCRIPTION_NOTICE_RETRY_MINUTES later while the notice is
still due (at most SUBSCRIPTION_NOTICE_MAX_ATTEMPTS tries); one whose worker died between the
claim and the record of its outcome is taken again SUBSCRIPTION_NOTICE_STALE_MINUTES later,
so a crash may send a notice twice but never loses it."""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import connection
from django.db.models import F, Q
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django_tenants.utils import tenant_context

from loyalty_platform.accounts import roles
from loyalty_platform.accounts.models import User
from loyalty_platform.core.mail import email_build, email_language
from tenants.models import Organization, Subscription, SubscriptionNotice
from tenants.platform import base_url
from tenants.services import organization_primary_hostname

logger = logging.getLogger(__name__)

COVERING_STATUSES = (Subscription.Status.ACTIVE, Subscription.Status.TRIALING)
_NOTICE = SubscriptionNotice._meta.db_table

_CLAIM_NEW_SQL = (
    f"INSERT INTO {_NOTICE} (subscription_id, kind, days_before, ends_at, status, attempts, "  # noqa: S608
    "recipients, created_at, claimed_at, last_error) "
    "VALUES (%s, %s, %s, %s, 'sending', 1, '[]', %s, %s, '') "
    "ON CONFLICT (subscription_id, kind, days_before, ends_at) DO NOTHING RETURNING id"
)


@dataclass(frozen=True)
class DueNotice:
    organization: Organization
    subscription: Subscription
    kind: str
    days_before: int

    @property
    def ends_at(self) -> datetime:
        return self.subscription.ends_at


def _covers(subscription: Subscription, moment: datetime) -> bool:
    return subscription.started_at <= moment and (
        subscription.ends_at is None or moment < subscription.ends_at
    )


def coverage_end(subscriptions: list[Subscription], now: datetime) -> Subscription | None:
    """Of an organization's active and trialing subscriptions: the one whose end ends the
    coverage that holds `now` (periods that overlap or follow each other without a gap count
    as one). None when nothing covers now, or when an open-ended subscription carries on."""
    moment, last = now, None
    while True:
        covering = [subscription for subscription in subscriptions if _covers(subscription, moment)]
        if not covering:
            return last
        if any(subscription.ends_at is None for subscription in covering):
            return None
        last = max(covering, key=lambda subscription: (subscription.ends_at, subscription.pk))
        moment = last.ends_at  # later than `moment`: the loop ends


def _due_for(
    organization: Organization, subscriptions: list[Subscription], now: datetime
) -> DueNotice | None:
    if any(_covers(subscription, now) for subscription in subscriptions):
        last = coverage_end(subscriptions, now)
        if last is None:
            return None
        days = [
            days for days in settings.SUBSCRIPTION_NOTICE_DAYS if now >= last.ends_at - timedelta(days=days)
        ]
        if not days:
            return None
        return DueNotice(organization, last, SubscriptionNotice.Kind.ENDING, min(days))
    ended = [
        subscription
        for subscription in subscriptions
        if subscription.ends_at is not None
        and subscription.ends_at <= now
        and subscription.ends_at > now - timedelta(days=settings.SUBSCRIPTION_LAPSED_NOTICE_DAYS)
    ]
    if not ended:
        return None
    lapsed = max(ended, key=lambda subscription: (subscription.ends_at, subscription.pk))
    return DueNotice(organization, lapsed, SubscriptionNotice.Kind.LAPSED, 0)


def notices_due(*, now: datetime) -> list[DueNotice]:
    """The notice each active organization's owners should have by now (at most one each)."""
    recent = now - timedelta(days=settings.SUBSCRIPTION_LAPSED_NOTICE_DAYS)
    subscriptions: dict[int, list[Subscription]] = {}
    for subscription in (
        Subscription.objects.filter(
            Q(ends_at__isnull=True) | Q(ends_at__gt=recent),
            status__in=COVERING_STATUSES,
            organization__is_active=True,
            organization__status=Organization.Status.ACTIVE,
        )
        .select_related("organization", "plan")
        .order_by("organization_id", "pk")
    ):
        subscriptions.setdefault(subscription.organization_id, []).append(subscription)
    due = (
        _due_for(periods[0].organization, periods, now) for _organization_id, periods in subscriptions.items()
    )
    return [notice for notice in due if notice is not None]


def _claim(due: DueNotice, *, now: datetime) -> SubscriptionNotice | None:
    """The notice row, taken for sending by this worker; None when another worker has it,
    it was sent, or its failures wait for their next try (or used up their tries)."""
    with connection.cursor() as cursor:
        cursor.execute(
            _CLAIM_NEW_SQL, [due.subscription.pk, due.kind, due.days_before, due.ends_at, now, now]
        )
        row = cursor.fetchone()
    if row is None:
        retry_from = now - timedelta(minutes=settings.SUBSCRIPTION_NOTICE_RETRY_MINUTES)
        stale_from = now - timedelta(minutes=settings.SUBSCRIPTION_NOTICE_STALE_MINUTES)
        existing = SubscriptionNotice.objects.filter(
            Q(status=SubscriptionNotice.Status.FAILED, claimed_at__lte=retry_from)
            | Q(status=SubscriptionNotice.Status.SENDING, claimed_at__lte=stale_from),
            subscription_id=due.subscription.pk,
            kind=due.kind,
            days_before=due.days_before,
            ends_at=due.ends_at,
            attempts__lt=settings.SUBSCRIPTION_NOTICE_MAX_ATTEMPTS,
        )
        # A conditional update: of two workers, the second finds the row claimed just now.
        if not existing.update(
            status=SubscriptionNotice.Status.SENDING, attempts=F("attempts") + 1, claimed_at=now
        ):
            return None
        return SubscriptionNotice.objects.get(
            subscription_id=due.subscription.pk,
            kind=due.kind,
            days_before=due.days_before,
            ends_at=due.ends_at,
        )
    return SubscriptionNotice.objects.get(pk=row[0])


def organization_owner_emails(organization: Organization) -> list[str]:
    """The addresses of the organization's active owners (accounts.roles), from its schema;
    the platform's support accounts are not owners of the business."""
    with tenant_context(organization):
        return sorted(
            set(
                User.objects.filter(
                    is_active=True, is_platform_support=False, groups__name=roles.OWNER
                ).values_list("email", flat=True)
            )
        )


def _email(due: DueNotice, recipients: list[str]) -> EmailMultiAlternatives:
    """The notice in the organization's language (its owners have none of their own, decision
    0058) and time zone, as its customers' pages and emails have."""
    organization = due.organization
    subscription = due.subscription
    hostname = organization_primary_hostname(organization=organization)
    lapsed = due.kind == SubscriptionNotice.Kind.LAPSED
    trial = subscription.status == Subscription.Status.TRIALING

    # Under the email's language: the end's month name is a word.
    def when() -> str:
        moment = date_format(timezone.localtime(subscription.ends_at), "DATETIME_FORMAT")
        return f"{moment} ({organization.timezone})"

    def subject() -> str:
        values = {"name": organization.name, "when": when()}
        if lapsed:
            return _("The subscription of %(name)s has ended") % values
        if trial:
            return _("The trial of %(name)s ends on %(when)s") % values
        return _("The subscription of %(name)s ends on %(when)s") % values

    with timezone.override(organization.timezone):
        return email_build(
            language=email_language(organization.language),
            template="tenants/emails/subscription_notice",
            subject=subject,
            context=lambda: {
                "lapsed": lapsed,
                "trial": trial,
                "plan": subscription.plan.name,
                "ends_at": subscription.ends_at,
                "when": when(),
                "days": due.days_before,
                "plan_url": f"{base_url(hostname)}/admin/plan/",
            },
            to=recipients,
            organization=organization,
        )


@dataclass(frozen=True)
class NoticeOutcome:
    status: str
    error: str = ""


def _send(due: DueNotice, notice: SubscriptionNotice) -> NoticeOutcome:
    recipients = organization_owner_emails(due.organization)
    if not recipients:
        logger.warning(
            "subscription notice %s skipped: %s has no active owner", notice.pk, due.organization.slug
        )
        return NoticeOutcome(SubscriptionNotice.Status.SKIPPED, "no active owner")
    SubscriptionNotice.objects.filter(pk=notice.pk).update(recipients=recipients)
    try:
        # From the public schema: the platform's own email, not counted as the organization's.
        _email(due, recipients).send()
    except OSError as error:  # SMTP refused or unreachable (smtplib's errors are OSErrors)
        logger.warning(
            "subscription notice %s not sent (attempt %s): %s",
            notice.pk,
            notice.attempts,
            type(error).__name__,
        )
        return NoticeOutcome(SubscriptionNotice.Status.FAILED, f"{type(error).__name__}: {error}"[:255])
    return NoticeOutcome(SubscriptionNotice.Status.SENT)


def subscription_notices_send(*, now: datetime | None = None) -> dict[str, int]:
    """Claim and send every notice that is due; counts of what happened to them."""
    now = now or timezone.now()
    counts = {"notices_sent": 0, "notices_failed": 0, "notices_skipped": 0}
    for due in notices_due(now=now):
        notice = _claim(due, now=now)
        if notice is None:
            continue
        outcome = _send(due, notice)
        SubscriptionNotice.objects.filter(pk=notice.pk).update(
            status=outcome.status,
            last_error=outcome.error,
            sent_at=timezone.now() if outcome.status == SubscriptionNotice.Status.SENT else None,
        )
        counts[f"notices_{outcome.status}"] += 1
    return counts
