import re

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST, require_safe

from loyalty_platform.customers.session import current_customer
from loyalty_platform.realtime.publish import customer_channel
from loyalty_platform.realtime.signing import app_key, channel_signature

SOCKET_ID = re.compile(r"^\d{1,12}\.\d{1,12}$")


@require_safe
def realtime_config(request: HttpRequest) -> JsonResponse:
    host, _, port = request.get_host().partition(":")
    secure = request.is_secure()
    return JsonResponse(
        {
            "data": {
                "key": app_key(),
                "host": host,
                "port": int(port) if port.isdigit() else (443 if secure else 80),
                "scheme": "wss" if secure else "ws",
                "channel_prefix": {"qr_card": "qr-card."},
                "event": "card_identified",
                "activity_timeout": settings.REALTIME_ACTIVITY_TIMEOUT,
            }
        }
    )


@csrf_exempt  # pusher-js posts without a CSRF token; the answer is bound to the session's customer
@require_POST
def realtime_auth(request: HttpRequest) -> JsonResponse:
    """Sign a private channel for the customer of this session, and only their own."""
    customer = current_customer(request)
    socket_id = request.POST.get("socket_id", "")
    channel_name = request.POST.get("channel_name", "")
    if customer is None or not SOCKET_ID.match(socket_id) or channel_name != customer_channel(customer.pk):
        return JsonResponse({"error": "forbidden"}, status=403)
    signature = channel_signature(
        schema_name=connection.schema_name, socket_id=socket_id, channel_name=channel_name
    )
    return JsonResponse({"auth": signature})
