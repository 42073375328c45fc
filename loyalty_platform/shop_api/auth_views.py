"""Sign-in by QR for e-shops, and the link to the customer's profile.

A shop's screen shows the QR of a session (`qr_code`, the profile's /qr-login/<id>); the
customer confirms or declines it there, signed in; the shop hears the answer on the public
channel `qr-login.<session_id>` (event `status_update`) or polls for it. A confirmed
session tells the shop who the customer is, their card, and `token`: a random reference of
this sign-in for the shop's records. The token lets nobody act as the customer (it opens no
profile session and passes no PIN step); the poll shows it to the organization's keys for a
session's lifetime after the confirmation, and only its hash is stored.
"""

from django.utils import translation
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from loyalty_platform.core import errors
from loyalty_platform.identification.models import QrLoginSession
from loyalty_platform.identification.services import (
    QR_LOGIN_EVENT,
    app_link_send,
    qr_login_channel,
    qr_login_session_create,
    qr_login_session_status,
    qr_login_token,
    qr_login_token_visible,
    qr_login_user,
)
from loyalty_platform.pos_api import serializers as s
from loyalty_platform.pos_api.endpoints import Call, row_by_text_id
from loyalty_platform.pos_api.output import IsoDateTimeField, OmitNoneSerializer
from loyalty_platform.shop_api.system_views import QrCardRequest, ScanSessionData
from loyalty_platform.shop_api.wire import LOCALES, ShopApiView, ShopCommand
from loyalty_platform.shops.selectors import open_shop


class QrLoginRequest(QrCardRequest):
    """The QR card session's fields: the screen's name and, optionally, its shop."""


class QrLoginSessionData(ScanSessionData):
    page = "qr-login"
    event_name = QR_LOGIN_EVENT
    channel_of = staticmethod(qr_login_channel)


def qr_login_start(call: Call) -> QrLoginSession:
    shop_id = call.data.get("shop_id")
    if shop_id is not None:
        open_shop(shop_id)
    return qr_login_session_create(
        device_name=call.data["device_name"], shop_id=shop_id, api_key_lookup_id=call.api_key_lookup_id
    )


class QrLoginGenerateView(ShopApiView):
    post = ShopCommand(
        "shop_qr_login_generate",
        QrLoginRequest,
        QrLoginSessionData,
        qr_login_start,
        errors=(errors.SHOP_NOT_FOUND,),
    )


class QrLoginUserData(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    email = serializers.CharField()
    phone = serializers.CharField()


class QrLoginPollData(OmitNoneSerializer):
    session_id = serializers.CharField(source="pk")
    status = serializers.SerializerMethodField()
    expires_at = IsoDateTimeField()
    user = serializers.SerializerMethodField()
    token = serializers.SerializerMethodField(
        help_text="The sign-in's reference for the shop's records, for a while after the confirmation. "
        "It cannot sign anyone in to the customer's profile."
    )
    omit_when_none = ("user", "token")

    @extend_schema_field(serializers.ChoiceField(choices=QrLoginSession.Status.values))
    def get_status(self, session: QrLoginSession) -> str:
        return qr_login_session_status(session)

    @extend_schema_field(QrLoginUserData(required=False))
    def get_user(self, session: QrLoginSession) -> dict | None:
        if session.status == QrLoginSession.Status.AUTHENTICATED and session.customer is not None:
            return qr_login_user(session.customer)
        return None

    @extend_schema_field(serializers.CharField(required=False))
    def get_token(self, session: QrLoginSession) -> str | None:
        return qr_login_token(session) if qr_login_token_visible(session) else None


class QrLoginPollRequest(s.PosRequestSerializer):
    """The SDK sends no body; an empty object is the same."""


class QrLoginPollView(ShopApiView):
    """A read the SDK sends as POST: it counts against the look-up rate limit."""

    path = {"session_id": row_by_text_id(QrLoginSession, errors.QR_SESSION_NOT_FOUND, "customer")}
    post = ShopCommand(
        "shop_qr_login_poll",
        QrLoginPollRequest,
        QrLoginPollData,
        lambda call: call.path["session_id"],
        rate_limit="customer",
        errors=(errors.QR_SESSION_NOT_FOUND,),
    )


class AppLinkRequest(s.PosRequestSerializer):
    phone = s.StrictCharField(max_length=32)
    shop_id = s.StrictIntegerField(min_value=1, max_value=2**62)
    customer_name = s.StrictCharField(
        required=False,
        max_length=150,
        allow_blank=True,
        help_text="Accepted and not used: the email greets the customer with the name they gave us.",
    )
    language = serializers.ChoiceField(
        choices=LOCALES, required=False, help_text="The email's language; by default the path's."
    )


class AppLinkData(serializers.Serializer):
    sent = serializers.SerializerMethodField()
    channels = serializers.ListField(child=serializers.CharField())
    sms = serializers.CharField(
        help_text='"sent": texted to a member without an email (who joined by phone); '
        '"not_configured": not texted (members with an email get it by email).'
    )

    def get_sent(self, result) -> bool:
        return bool(result.channels)


def app_link_call(call: Call):
    return app_link_send(
        phone=call.data["phone"],
        shop_id=call.data["shop_id"],
        language=call.data.get("language") or translation.get_language(),
    )


class SendAppLinkView(ShopApiView):
    post = ShopCommand(
        "shop_send_app_link",
        AppLinkRequest,
        AppLinkData,
        app_link_call,
        errors=(
            errors.PHONE_INVALID,
            errors.SHOP_NOT_FOUND,
            errors.CUSTOMER_NOT_FOUND,
            errors.CUSTOMER_BLOCKED,
            errors.TOO_MANY_REQUESTS,
        ),
    )
