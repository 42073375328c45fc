"""The body and the signatures (webhooks.signing): the exact bytes, both signatures checked
the way receivers check them (the standardwebhooks library, a plain HMAC of the raw body),
and a rotation's overlap, in which both secrets sign until the old one expires."""

import hashlib
import hmac
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from standardwebhooks import Webhook, WebhookVerificationError

from loyalty_platform.webhooks.models import WebhookEndpoint, WebhookEvent, WebhookSecret
from loyalty_platform.webhooks.signing import event_body, signed_headers, signing_secrets
from tests.webhooks.conftest import new_secret

AT = datetime(2026, 3, 1, 12, 0, 5, 250000, tzinfo=UTC)
EVENT_UUID = uuid.UUID("0123456789abcdef0123456789abcdef")


def _event() -> WebhookEvent:
    return WebhookEvent(
        event_id=EVENT_UUID,
        type="points.earned",
        customer_id=7,
        occurred_at=AT,
        data={"points": 5, "note": "Café"},
    )


def test_the_body_is_compact_utf8_json_in_a_fixed_order():
    body = event_body(_event(), "test-a")
    assert (
        body
        == (
            '{"id":"evt_0123456789abcdef0123456789abcdef","type":"points.earned",'
            '"timestamp":"2026-03-01T12:00:05.250Z","organization":"test-a",'
            '"data":{"points":5,"note":"Café"}}'
        ).encode()
    )
    assert event_body(_event(), "test-a") == body


def test_headers_verify_with_the_library_and_a_plain_hmac():
    secret = new_secret()
    body = event_body(_event(), "test-a")
    headers = signed_headers(event_public_id="evt_x", body=body, secrets=[secret], at=AT)
    assert headers["content-type"] == "application/json"
    assert headers["user-agent"] == "LoyaltyPlatform-Webhooks/1.0"
    assert headers["webhook-id"] == "evt_x"
    assert headers["webhook-timestamp"] == str(int(AT.timestamp()))
    with time_machine.travel(AT, tick=False):
        assert Webhook(secret).verify(body, headers) == _event_json()
        with pytest.raises(WebhookVerificationError):
            Webhook(new_secret()).verify(body, headers)
        with pytest.raises(WebhookVerificationError):
            Webhook(secret).verify(body.replace(b"5", b"6"), headers)
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    assert headers["X-Loyalite-Signature-256"] == f"sha256={expected}"


def _event_json() -> dict:
    return {
        "id": "evt_0123456789abcdef0123456789abcdef",
        "type": "points.earned",
        "timestamp": "2026-03-01T12:00:05.250Z",
        "organization": "test-a",
        "data": {"points": 5, "note": "Café"},
    }


def test_during_an_overlap_both_secrets_sign_newest_first_and_an_expired_one_no_longer(in_organization):
    endpoint = WebhookEndpoint.objects.create(url="http://127.0.0.1:9/", event_types=["*"])
    oldest, old, new = new_secret(), new_secret(), new_secret()
    WebhookSecret.objects.create(
        endpoint=endpoint, secret=oldest, created_at=AT - timedelta(days=9), expires_at=AT - timedelta(days=1)
    )
    WebhookSecret.objects.create(
        endpoint=endpoint, secret=old, created_at=AT - timedelta(days=5), expires_at=AT + timedelta(hours=2)
    )
    WebhookSecret.objects.create(endpoint=endpoint, secret=new, created_at=AT - timedelta(hours=22))

    secrets = signing_secrets(endpoint.pk, now=AT)
    assert secrets == [new, old]
    body = event_body(_event(), "test-a")
    headers = signed_headers(event_public_id="evt_x", body=body, secrets=secrets, at=AT)
    with time_machine.travel(AT, tick=False):
        assert Webhook(new).verify(body, headers)
        assert Webhook(old).verify(body, headers)
        with pytest.raises(WebhookVerificationError):
            Webhook(oldest).verify(body, headers)
    assert len(headers["webhook-signature"].split(" ")) == 2
    assert headers["X-Loyalite-Signature-256"] == ", ".join(
        "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest() for secret in (new, old)
    )
    # Once the overlap ends, the new secret alone signs.
    assert signing_secrets(endpoint.pk, now=AT + timedelta(hours=2)) == [new]
