"""The app key and secret of the Pusher-protocol endpoint, and private-channel signatures."""

import hashlib
import hmac
import re

from django.conf import settings
from django.utils.crypto import constant_time_compare

PRIVATE_CUSTOMER = re.compile(r"^private-customer\.(\d{1,18})$")
PUBLIC_CHANNEL = re.compile(r"^(qr-card|invitation)\.[0-9a-f]{32}$")


def app_key() -> str:
    return settings.REALTIME_APP_KEY


def channel_signature(socket_id: str, channel_name: str) -> str:
    digest = hmac.new(
        settings.REALTIME_APP_SECRET.encode(), f"{socket_id}:{channel_name}".encode(), hashlib.sha256
    ).hexdigest()
    return f"{app_key()}:{digest}"


def signature_is_valid(auth: object, socket_id: str, channel_name: str) -> bool:
    return isinstance(auth, str) and constant_time_compare(auth, channel_signature(socket_id, channel_name))
