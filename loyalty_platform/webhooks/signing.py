"""What a delivery sends (docs/decisions/0049-outgoing-webhooks.md): the body, built from the
stored event so that every attempt and redelivery sends the same bytes, and the headers that
sign it both ways integrators know: Standard Webhooks (`webhook-id`, `webhook-timestamp`,
`webhook-signature`) and the Loyalite `X-Loyalite-Signature-256`. During a rotation overlap
every signing secret signs, newest first, so a receiver holding either one verifies."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable
from datetime import UTC, datetime

from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Q
from standardwebhooks import Webhook

from loyalty_platform.webhooks.models import WebhookEvent, WebhookSecret

USER_AGENT = "LoyaltyPlatform-Webhooks/1.0"
LOYALITE_SIGNATURE_HEADER = "X-Loyalite-Signature-256"


def event_timestamp(moment: datetime) -> str:
    """ISO 8601 in UTC with a Z, to the millisecond: 2026-01-10T09:00:00.000Z."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def event_body(event: WebhookEvent, organization_slug: str) -> bytes:
    """The POST body: compact UTF-8 JSON, the same bytes for the same stored event."""
    payload = {
        "id": event.public_id,
        "type": event.type,
        "timestamp": event_timestamp(event.occurred_at),
        "organization": organization_slug,
        "data": event.data,
    }
    return json.dumps(payload, cls=DjangoJSONEncoder, separators=(",", ":"), ensure_ascii=False).encode()


def signing_secrets_by_endpoint(endpoint_ids: Iterable[int], *, now: datetime) -> dict[int, list[str]]:
    """The secrets that sign each endpoint's deliveries now, newest first: the current one and
    any replaced one whose overlap has not ended."""
    rows = (
        WebhookSecret.objects.filter(
            Q(expires_at__isnull=True) | Q(expires_at__gt=now), endpoint_id__in=endpoint_ids
        )
        .order_by("endpoint_id", "-created_at", "-pk")
        .values_list("endpoint_id", "secret")
    )
    secrets: dict[int, list[str]] = {}
    for endpoint_id, secret in rows:
        secrets.setdefault(endpoint_id, []).append(secret)
    return secrets


def signing_secrets(endpoint_id: int, *, now: datetime) -> list[str]:
    return signing_secrets_by_endpoint([endpoint_id], now=now).get(endpoint_id, [])


def loyalite_signature(secret: str, body: bytes) -> str:
    """sha256=<hex HMAC-SHA256 of the raw body>, keyed with the secret string as shown."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signed_headers(*, event_public_id: str, body: bytes, secrets: list[str], at: datetime) -> dict[str, str]:
    """The request headers of one attempt made at `at`, signed with each of `secrets` (newest
    first)."""
    at = at.astimezone(UTC)
    text = body.decode()
    return {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": event_public_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": " ".join(
            Webhook(secret).sign(msg_id=event_public_id, timestamp=at, data=text) for secret in secrets
        ),
        LOYALITE_SIGNATURE_HEADER: ", ".join(loyalite_signature(secret, body) for secret in secrets),
    }
