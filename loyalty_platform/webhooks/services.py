"""What staff do with outgoing webhooks (docs/decisions/0049-outgoing-webhooks.md): add, change,
enable and disable endpoints, rotate their signing secrets, redeliver and send a test event.
Each call is one transaction with its audit record; whatever it queued for delivery is sent
after commit. A refusal is a DomainError of core.errors and changes nothing."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from loyalty_platform.audit.services import audit_record
from loyalty_platform.core import errors
from loyalty_platform.webhooks.addresses import URL_INVALID, url_problem
from loyalty_platform.webhooks.delivery import deliveries_redeliver
from loyalty_platform.webhooks.events import EVENT_TYPES, TEST_EVENT_TYPE
from loyalty_platform.webhooks.models import (
    ALL_EVENTS,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
    WebhookSecret,
)
from loyalty_platform.webhooks.outbox import deliveries_kick_on_commit

SECRET_PREFIX = "whsec_"  # noqa: S105 (the Standard Webhooks prefix)
SECRET_BYTES = 24
# How long a replaced secret keeps signing, in hours: none, an hour, a day, a week.
ROTATION_OVERLAPS = (0, 1, 24, 168)
URL_MAX_LENGTH = WebhookEndpoint._meta.get_field("url").max_length
DESCRIPTION_MAX_LENGTH = WebhookEndpoint._meta.get_field("description").max_length


def _has_control_characters(text: str) -> bool:
    return any(ord(character) < 32 or ord(character) == 127 for character in text)


def endpoint_url_check(url: str) -> str:
    """The URL as stored, or WEBHOOK_URL_REFUSED with the addresses module's reason. Spaces
    and control characters are refused rather than dropped (urlsplit drops some silently,
    which would check one URL and store another)."""
    url = url.strip()
    if not url or len(url) > URL_MAX_LENGTH or _has_control_characters(url) or " " in url:
        raise errors.WEBHOOK_URL_REFUSED(reason=URL_INVALID)
    if reason := url_problem(url):
        raise errors.WEBHOOK_URL_REFUSED(reason=reason)
    return url


def event_types_clean(event_types: Iterable[str]) -> list[str]:
    """The subscription as stored: [ALL_EVENTS] when it is among them, else the names in
    EVENT_TYPES' order, each once."""
    chosen = set(event_types)
    if not chosen:
        raise errors.WEBHOOK_EVENT_TYPES_REQUIRED()
    for name in sorted(chosen - {ALL_EVENTS}):
        if name not in EVENT_TYPES:
            raise errors.WEBHOOK_EVENT_TYPE_UNKNOWN(event_type=str(name)[:40])
    if ALL_EVENTS in chosen:
        return [ALL_EVENTS]
    return [name for name in EVENT_TYPES if name in chosen]


def description_clean(description: str) -> str:
    description = description.strip()
    if len(description) > DESCRIPTION_MAX_LENGTH or _has_control_characters(description):
        raise errors.WEBHOOK_DESCRIPTION_INVALID()
    return description


def _secret_new() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


@transaction.atomic
def endpoint_create(
    *, url: str, description: str, event_types: Iterable[str], staff_user
) -> tuple[WebhookEndpoint, str]:
    """A new enabled endpoint and its first signing secret, returned as text: the only time
    anyone sees it (the portal shows it once)."""
    url = endpoint_url_check(url)
    event_types = event_types_clean(event_types)
    description = description_clean(description)
    endpoint = WebhookEndpoint.objects.create(
        url=url, description=description, event_types=event_types, created_by=staff_user
    )
    secret = WebhookSecret.objects.create(
        endpoint=endpoint, secret=_secret_new(), created_at=endpoint.created_at
    )
    audit_record(
        actor=staff_user,
        action="webhook_endpoint_create",
        target=endpoint,
        details={"url": url, "description": description, "event_types": event_types},
    )
    return endpoint, secret.secret


def _locked(endpoint: WebhookEndpoint) -> WebhookEndpoint:
    return WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)


@transaction.atomic
def endpoint_update(
    *, endpoint: WebhookEndpoint, url: str, description: str, event_types: Iterable[str], staff_user
) -> WebhookEndpoint:
    """Change where an endpoint points and what it receives; events recorded from the commit on
    follow the new subscription, deliveries already queued keep going to the endpoint."""
    new = {
        "url": endpoint_url_check(url),
        "description": description_clean(description),
        "event_types": event_types_clean(event_types),
    }
    locked = _locked(endpoint)
    changes = {
        name: [getattr(locked, name), value] for name, value in new.items() if getattr(locked, name) != value
    }
    if changes:
        for name, value in new.items():
            setattr(locked, name, value)
        fields = list(changes)
        if "url" in changes:
            # Another receiver: the old one's failures do not count against it.
            locked.failing_since = locked.last_failed_at = None
            fields += ["failing_since", "last_failed_at"]
        locked.save(update_fields=fields)  # a save: the subscribed-types cache is forgotten
        audit_record(
            actor=staff_user, action="webhook_endpoint_update", target=locked, details={"changes": changes}
        )
    return locked


@transaction.atomic
def endpoint_set_enabled(*, endpoint: WebhookEndpoint, enabled: bool, staff_user) -> WebhookEndpoint:
    """Disable (nothing new is queued for it) or enable it again: enabling forgets that it was
    failing, so the automatic disabling counts anew, and sends what waits for it."""
    locked = _locked(endpoint)
    if locked.is_enabled == enabled:
        return locked
    now = timezone.now()
    if enabled:
        locked.is_enabled, locked.disabled_at, locked.disabled_reason, locked.failing_since = (
            True,
            None,
            "",
            None,
        )
    else:
        locked.is_enabled, locked.disabled_at = False, now
        locked.disabled_reason = f"disabled by {staff_user.email}"[:200]
    locked.save(update_fields=["is_enabled", "disabled_at", "disabled_reason", "failing_since"])
    audit_record(
        actor=staff_user,
        action="webhook_endpoint_enable" if enabled else "webhook_endpoint_disable",
        target=locked,
        details={},
    )
    if enabled:
        deliveries_kick_on_commit()
    return locked


@transaction.atomic
def secret_rotate(*, endpoint: WebhookEndpoint, overlap_hours: int, staff_user) -> str:
    """A new signing secret, returned as text (shown once). The one it replaces keeps signing
    beside it for `overlap_hours` (0: it stops now); any older one stops now."""
    if overlap_hours not in ROTATION_OVERLAPS:
        raise errors.WEBHOOK_OVERLAP_INVALID(allowed=list(ROTATION_OVERLAPS))
    locked = _locked(endpoint)
    now = timezone.now()
    current = locked.secrets.first()
    still_signing = Q(expires_at__isnull=True) | Q(expires_at__gt=now)
    older = locked.secrets.filter(still_signing)
    if current is not None:
        older = older.exclude(pk=current.pk)
        current.expires_at = now + timedelta(hours=overlap_hours)
        current.save(update_fields=["expires_at"])
    older.update(expires_at=now)
    secret = WebhookSecret.objects.create(endpoint=locked, secret=_secret_new(), created_at=now)
    audit_record(
        actor=staff_user,
        action="webhook_secret_rotate",
        target=locked,
        details={
            "overlap_hours": overlap_hours,
            "previous_secret_expires_at": current.expires_at.isoformat() if current else None,
        },
    )
    return secret.secret


def _require_enabled(endpoint: WebhookEndpoint) -> None:
    if not endpoint.is_enabled:
        raise errors.WEBHOOK_ENDPOINT_DISABLED()


@transaction.atomic
def delivery_redeliver(*, delivery: WebhookDelivery, staff_user) -> WebhookDelivery:
    """Send a delivery again from the start of the retry schedule, with the same webhook-id
    (webhooks.delivery.deliveries_redeliver). Its log stays and goes on numbering. Refused
    while a worker is sending it."""
    locked = (
        WebhookDelivery.objects.select_for_update(of=("self",))
        .select_related("endpoint", "event")
        .get(pk=delivery.pk)
    )
    _require_enabled(locked.endpoint)
    now = timezone.now()
    if locked.claimed_until is not None and locked.claimed_until > now:
        raise errors.WEBHOOK_DELIVERY_IN_PROGRESS()
    deliveries_redeliver(WebhookDelivery.objects.filter(pk=locked.pk), now=now)
    locked.refresh_from_db()
    audit_record(
        actor=staff_user,
        action="webhook_redeliver",
        target=locked,
        details={"event": locked.event.public_id, "endpoint": locked.endpoint_id},
    )
    return locked


@transaction.atomic
def deliveries_redeliver_failed(*, endpoint: WebhookEndpoint, since: datetime, staff_user) -> int:
    """Send again every failed delivery to the endpoint created at or after `since` (after an
    outage of the receiver); how many. Failed deliveries are never being sent."""
    if timezone.is_naive(since):
        raise ValueError("since must be an aware datetime")
    locked = _locked(endpoint)
    _require_enabled(locked)
    count = deliveries_redeliver(
        WebhookDelivery.objects.filter(
            endpoint=locked, status=WebhookDelivery.Status.FAILED, created_at__gte=since
        )
    )
    audit_record(
        actor=staff_user,
        action="webhook_redeliver_failed",
        target=locked,
        details={"since": since.isoformat(), "count": count},
    )
    return count


@transaction.atomic
def test_event_send(*, endpoint: WebhookEndpoint, staff_user) -> WebhookDelivery:
    """A "webhook.test" event with one delivery, to this endpoint only, signed and logged like
    any other. Written here rather than by the outbox, which records subscribed types only."""
    locked = _locked(endpoint)
    _require_enabled(locked)
    now = timezone.now()
    event = WebhookEvent.objects.create(
        type=TEST_EVENT_TYPE,
        occurred_at=now,
        data={"message": "A test event sent from the portal.", "endpoint": locked.url},
    )
    delivery = WebhookDelivery.objects.create(
        event=event, endpoint=locked, ordering_key=None, next_attempt_at=now, created_at=now
    )
    audit_record(
        actor=staff_user,
        action="webhook_test_send",
        target=locked,
        details={"event": event.public_id, "delivery": delivery.pk},
    )
    deliveries_kick_on_commit()
    return delivery


test_event_send.__test__ = False  # not a pytest test, whatever its name
