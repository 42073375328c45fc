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
from loyalty_platform.pos_api.endpoints import Call, Command, PathObject, PosApiView, Query
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
    post = Command(
        operation_id="qr_card_session_create",
        summary="Start a QR identification session (5 minutes)",
        request=QrCardSessionRequest,
        response=SessionData,
        perform=session_start,
        example_request={"device_name": "Till 3"},
        example={
            "session_id": "qs_4kT9pW2mZ7xQ1vB8",
            "qr_code": "https://cafe.example.com/identify/qs_4kT9pW2mZ7xQ1vB8",
            "expires_at": "2026-12-01T10:20:00+00:00",
            "channel": "private-qr-card-session.qs_4kT9pW2mZ7xQ1vB8",
        },
    )


SESSION = PathObject(
    missing=errors.QR_SESSION_NOT_FOUND,
    parse=lambda raw: str(raw)[:32],
    fetch=lambda pk: QrCardSession.objects.select_related("customer").filter(pk=pk).first(),
)


class QrCardSessionView(PosApiView):
    rate_limit_group = "customer"

    get = Query(
        operation_id="qr_card_session_status",
        summary="Poll a QR identification session",
        path={"session_id": SESSION},
        response=SessionStatusData,
        perform=lambda call: call.path["session_id"],
        errors=(errors.QR_SESSION_NOT_FOUND,),
        example={
            "session_id": "qs_4kT9pW2mZ7xQ1vB8",
            "status": "pending",
            "expires_at": "2026-12-01T10:20:00+00:00",
        },
    )


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


class InvitationsView(PosApiView):
    rate_limit_group = "customer"

    post = Command(
        operation_id="invitation_create",
        summary="Invite a person who is not a member, by phone or email",
        request=InvitationRequest,
        response=InvitationData,
        perform=invite,
        errors=(errors.PHONE_OR_EMAIL_REQUIRED, errors.PHONE_INVALID, errors.INVALID_EMAIL),
        example_request={"email": "new.member@example.com"},
        example={
            "invitation_id": "in_7QmZ2kP9tX4wB1vR",
            "url": "https://cafe.example.com/join/in_7QmZ2kP9tX4wB1vR",
            "qr_code": "https://cafe.example.com/join/in_7QmZ2kP9tX4wB1vR",
            "expires_at": "2026-12-08T10:00:00+00:00",
            "channel": "private-invitation.in_7QmZ2kP9tX4wB1vR",
        },
    )


INVITATION = PathObject(
    missing=errors.INVITATION_NOT_FOUND,
    parse=lambda raw: str(raw)[:32],
    fetch=lambda pk: Invitation.objects.select_related("customer").filter(pk=pk).first(),
)


class InvitationView(PosApiView):
    rate_limit_group = "customer"

    get = Query(
        operation_id="invitation_status",
        summary="Poll an invitation",
        path={"invitation_id": INVITATION},
        response=InvitationStatusData,
        perform=lambda call: call.path["invitation_id"],
        errors=(errors.INVITATION_NOT_FOUND,),
        example={
            "invitation_id": "in_7QmZ2kP9tX4wB1vR",
            "status": "pending",
            "expires_at": "2026-12-08T10:00:00+00:00",
        },
    )
