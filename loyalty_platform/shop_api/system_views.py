"""Credentials, health, shops, the QR card scan and the realtime configuration."""

from django.conf import settings
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from loyalty_platform.core import errors
from loyalty_platform.identification.models import QrCardSession
from loyalty_platform.identification.services import (
    card_data,
    organization_base_url,
    qr_card_channel,
    qr_card_session_create,
    qr_card_session_status,
)
from loyalty_platform.pos_api import serializers as s
from loyalty_platform.pos_api.endpoints import Call, row_by_text_id
from loyalty_platform.pos_api.output import IsoDateTimeField, OmitNoneSerializer
from loyalty_platform.realtime.signing import app_key
from loyalty_platform.shop_api.wire import (
    PageParams,
    QueryBooleanField,
    ShopApiView,
    ShopCommand,
    ShopQuery,
    paginate,
)
from loyalty_platform.shops.models import Shop
from loyalty_platform.shops.selectors import open_shop


class ShopData(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    address = serializers.CharField()
    is_active = serializers.BooleanField()
    is_virtual = serializers.SerializerMethodField(help_text="Always false: every shop here is a place.")
    created_at = IsoDateTimeField()

    def get_is_virtual(self, shop: Shop) -> bool:
        return False


class ShopsParams(PageParams):
    is_active = QueryBooleanField(required=False)
    is_virtual = QueryBooleanField(required=False)


def shops_list(call: Call):
    shops = Shop.objects.order_by("name", "pk")
    if "is_active" in call.data:
        shops = shops.filter(is_active=call.data["is_active"])
    if call.data.get("is_virtual"):
        shops = shops.none()
    return paginate(shops, call.data)


class ShopsView(ShopApiView):
    get = ShopQuery("shop_shops_list", ShopData, shops_list, params=ShopsParams)


class CredentialsData(serializers.Serializer):
    """Who the key is: its organization (the partner), the shop it stands in, its label."""

    def to_representation(self, call: Call) -> dict:
        organization = call.organization
        api_key = call.api_key
        shop = Shop.objects.filter(pk=api_key.shop_id).first() if api_key.shop_id else None
        return {
            "valid": True,
            "partner": {"id": organization.pk, "name": organization.name, "currency": organization.currency},
            "shop": {"id": shop.pk, "name": shop.name} if shop else None,
            "api_key": {"key": f"lty_{api_key.lookup_id}", "expires_at": _iso(api_key.expires_at)},
        }


def _iso(moment) -> str | None:
    return moment.isoformat() if moment else None


class ValidateCredentialsView(ShopApiView):
    post = ShopCommand(
        "shop_validate_credentials", None, CredentialsData, lambda call: call, rate_limit="customer"
    )


class HealthData(serializers.Serializer):
    def to_representation(self, call: Call) -> dict:
        return {"status": "ok", "timestamp": timezone.now().isoformat()}


class HealthView(ShopApiView):
    """The API answers and the key is good (the platform's own /healthz checks the rest)."""

    get = ShopQuery("shop_system_health", HealthData, lambda call: call)


class QrCardRequest(s.PosRequestSerializer):
    device_name = s.StrictCharField(required=False, max_length=100, allow_blank=True, default="")
    shop_id = s.StrictIntegerField(required=False, min_value=1, max_value=2**62)


class ScanSessionData(serializers.Serializer):
    """A session a customer answers by scanning its QR with their phone (QR card scan, QR
    login): the profile page the QR opens, and where the shop hears the answer."""

    page = ""  # the profile's path the QR opens, before the session id
    event_name = ""

    session_id = serializers.CharField(source="pk")
    qr_code = serializers.SerializerMethodField(help_text="The deep link the QR encodes.")
    expires_at = IsoDateTimeField()
    channel = serializers.SerializerMethodField()
    event = serializers.SerializerMethodField()

    @staticmethod
    def channel_of(session_id) -> str:
        raise NotImplementedError

    def get_qr_code(self, session) -> str:
        return f"{organization_base_url()}/{self.page}/{session.pk}"

    def get_channel(self, session) -> str:
        return self.channel_of(session.pk)

    def get_event(self, session) -> str:
        return self.event_name


class QrCardSessionData(ScanSessionData):
    page = "identify"
    event_name = "card_identified"
    channel_of = staticmethod(qr_card_channel)


def qr_card_start(call: Call) -> QrCardSession:
    shop_id = call.data.get("shop_id")
    if shop_id is not None:
        open_shop(shop_id)
    return qr_card_session_create(
        device_name=call.data["device_name"], shop_id=shop_id, api_key_lookup_id=call.api_key_lookup_id
    )


class QrCardGenerateView(ShopApiView):
    post = ShopCommand(
        "shop_qr_card_generate",
        QrCardRequest,
        QrCardSessionData,
        qr_card_start,
        errors=(errors.SHOP_NOT_FOUND,),
    )


# The guide's polling loop waits for "completed" (the POS API's sessions say "authenticated").
SHOP_STATUS = {"pending": "pending", "authenticated": "completed", "expired": "expired"}


class QrCardStatusData(OmitNoneSerializer):
    session_id = serializers.CharField(source="pk")
    status = serializers.SerializerMethodField()
    card_data = serializers.SerializerMethodField()
    expires_at = IsoDateTimeField()
    omit_when_none = ("card_data",)

    @extend_schema_field(serializers.ChoiceField(choices=sorted(SHOP_STATUS.values())))
    def get_status(self, session: QrCardSession) -> str:
        return SHOP_STATUS[qr_card_session_status(session)]

    @extend_schema_field(serializers.DictField(required=False))
    def get_card_data(self, session: QrCardSession) -> dict | None:
        if session.status == QrCardSession.Status.AUTHENTICATED and session.customer is not None:
            return card_data(session.customer)
        return None


class QrCardStatusView(ShopApiView):
    path = {"session_id": row_by_text_id(QrCardSession, errors.QR_SESSION_NOT_FOUND, "customer")}
    get = ShopQuery("shop_qr_card_status", QrCardStatusData, lambda call: call.path["session_id"])


class RealtimeConfigData(serializers.Serializer):
    """Where the Pusher-protocol socket is, as the SDK reads it: `scheme` is the page's
    (`https` makes it open `wss://`)."""

    def to_representation(self, call: Call) -> dict:
        request = call.request
        host, _, port = request.get_host().partition(":")
        secure = request.is_secure()
        return {
            "key": app_key(),
            "host": host,
            "port": int(port) if port.isdigit() else (443 if secure else 80),
            "scheme": "https" if secure else "http",
            "channel_prefix": {"qr_card": "qr-card.", "qr_login": "qr-login."},
            "events": {"qr_card": "card_identified", "qr_login": "status_update"},
            "activity_timeout": settings.REALTIME_ACTIVITY_TIMEOUT,
        }


class RealtimeConfigView(ShopApiView):
    get = ShopQuery("shop_realtime_config", RealtimeConfigData, lambda call: call)
