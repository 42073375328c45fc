"""QR identification sessions and invitations at the POS (shared/contracts/realtime.md)."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from loyalty_platform.core import errors
from loyalty_platform.identification.models import Invitation, QrCardSession
from loyalty_platform.identification.services import (
    card_data,
    invitation_channel,
    invitation_send,
    invitation_status,
    invitation_url,
    organization_base_url,
    qr_card_channel,
    qr_card_session_create,
    qr_card_session_status,
)
from loyalty_platform.pos_api import serializers as s
from loyalty_platform.pos_api.endpoints import Call, Command, PosApiView, Query, row_by_text_id
from loyalty_platform.pos_api.output import IsoDateTimeField, OmitNoneSerializer


class QrCardSessionRequest(s.PosRequestSerializer):
    device_name = s.StrictCharField(required=False, max_length=100, allow_blank=True, default="")
    shop_id = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=2**62)


class InvitationRequest(s.PosRequestSerializer):
    phone = s.StrictCharField(required=False, max_length=32, allow_blank=True, default="")
    email = s.StrictCharField(required=False, max_length=254, allow_blank=True, default="")


class SessionData(serializers.Serializer):
    session_id = serializers.CharField(source="pk")
    qr_code = serializers.SerializerMethodField(help_text="The deep link the QR encodes")
    expires_at = IsoDateTimeField()
    channel = serializers.SerializerMethodField()

    def get_qr_code(self, session: QrCardSession) -> str:
        return f"{organization_base_url()}/identify/{session.pk}"

    def get_channel(self, session: QrCardSession) -> str:
        return qr_card_channel(session.pk)


class SessionStatusData(OmitNoneSerializer):
    session_id = serializers.CharField(source="pk")
    status = serializers.SerializerMethodField()
    card_data = serializers.SerializerMethodField()
    expires_at = IsoDateTimeField()
    omit_when_none = ("card_data",)

    @extend_schema_field(serializers.ChoiceField(choices=["pending", "authenticated", "expired"]))
    def get_status(self, session: QrCardSession) -> str:
        return qr_card_session_status(session)

    @extend_schema_field(serializers.DictField(required=False))
    def get_card_data(self, session: QrCardSession) -> dict | None:
        if session.status == QrCardSession.Status.AUTHENTICATED and session.customer is not None:
            return card_data(session.customer)
        return None


def session_start(call: Call) -> QrCardSession:
    return qr_card_session_create(
        device_name=call.data["device_name"],
        shop_id=call.data.get("shop_id"),
        api_key_lookup_id=call.api_key_lookup_id,
    )


class QrCardSessionsView(PosApiView):
    post = Command("qr_card_session_create", QrCardSessionRequest, SessionData, session_start)


class QrCardSessionView(PosApiView):
    path = {"session_id": row_by_text_id(QrCardSession, errors.QR_SESSION_NOT_FOUND, "customer")}
    get = Query("qr_card_session_status", SessionStatusData, lambda call: call.path["session_id"])


class InvitationData(serializers.Serializer):
    invitation_id = serializers.CharField(source="pk")
    url = serializers.SerializerMethodField()
    qr_code = serializers.SerializerMethodField()
    expires_at = IsoDateTimeField()
    channel = serializers.SerializerMethodField()

    def get_url(self, invitation: Invitation) -> str:
        return invitation_url(invitation)

    def get_qr_code(self, invitation: Invitation) -> str:
        return invitation_url(invitation)

    def get_channel(self, invitation: Invitation) -> str:
        return invitation_channel(invitation.pk)


class InvitationStatusData(OmitNoneSerializer):
    invitation_id = serializers.CharField(source="pk")
    status = serializers.SerializerMethodField()
    expires_at = IsoDateTimeField()
    customer_code = serializers.IntegerField(source="customer.customer_code", required=False, allow_null=True)
    omit_when_none = ("customer_code",)

    def get_status(self, invitation: Invitation) -> str:
        return invitation_status(invitation)


def invite(call: Call) -> Invitation:
    return invitation_send(
        phone=call.data["phone"], email=call.data["email"], api_key_lookup_id=call.api_key_lookup_id
    )


INVITATION_ERRORS = (errors.PHONE_OR_EMAIL_REQUIRED, errors.PHONE_INVALID, errors.INVALID_EMAIL)


class InvitationsView(PosApiView):
    post = Command(
        "invitation_create",
        InvitationRequest,
        InvitationData,
        invite,
        rate_limit="customer",
        errors=INVITATION_ERRORS,
    )


class InvitationView(PosApiView):
    path = {"invitation_id": row_by_text_id(Invitation, errors.INVITATION_NOT_FOUND, "customer")}
    get = Query("invitation_status", InvitationStatusData, lambda call: call.path["invitation_id"])
