"""The app key and secret of the Pusher-protocol endpoint, and private-channel signatures.

Customer primary keys repeat in every organization's schema, so `private-customer.7` names a
different person on every host. A signature is therefore made with a secret derived for the
organization (its schema name), and a socket only accepts signatures of the organization whose
host it was opened on: a signature obtained on A's host is worthless on B's."""

import hashlib
import hmac
import re

from django.conf import settings
from django.utils.crypto import constant_time_compare

PRIVATE_CUSTOMER = re.compile(r"^private-customer\.(\d{1,18})$")
PUBLIC_CHANNEL = re.compile(r"^(qr-card|qr-login|invitation)\.[0-9a-f]{32}$")


def app_key() -> str:
    return settings.REALTIME_APP_KEY


def _organization_secret(schema_name: str) -> bytes:
    return hmac.new(
        settings.REALTIME_APP_SECRET.encode(), f"private-channels:{schema_name}".encode(), hashlib.sha256
    ).digest()


def channel_signature(*, schema_name: str, socket_id: str, channel_name: str) -> str:
    """`<app key>:<hex HMAC-SHA256 of "socket_id:channel_name">`, keyed for one organization."""
    digest = hmac.new(
        _organization_secret(schema_name), f"{socket_id}:{channel_name}".encode(), hashlib.sha256
    ).hexdigest()
    return f"{app_key()}:{digest}"


def signature_is_valid(*, auth: object, schema_name: str, socket_id: str, channel_name: str) -> bool:
    expected = channel_signature(schema_name=schema_name, socket_id=socket_id, channel_name=channel_name)
    return isinstance(auth, str) and constant_time_compare(auth, expected)
