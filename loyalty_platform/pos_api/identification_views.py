"""QR identification sessions and invitations at the POS (shared/contracts/realtime.md)."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers

from loyalty_platform.core import errors
from loyalty_platform.customers.services import normalize_phone
from loyalty_platform.identification.models import Invitation, QrCardSession
from loyalty_platform.identification.services import (
    card_data,
    invitation_channel,
    invitation_create,
    invitation_status,
    organization_base_url,
    qr_card_channel,
    qr_card_session_create,
    qr_card_session_status,
)
from loyalty_platform.pos_api import serializers as s
from loyalty_platform.pos_api.views import (
    AUTH_ERRORS,
    BODY_ERRORS,
    PosApiView,
    _envelope,
    _errors,
    json_response,
)


class QrCardSessionRequest(s.PosRequestSerializer):
    device_name = s.StrictCharField(required=False, max_length=100, allow_blank=True, default="")
    shop_id = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=2**62)


class InvitationRequest(s.PosRequestSerializer):
    phone = s.StrictCharField(required=False, max_length=32, allow_blank=True, default="")
    email = s.StrictCharField(required=False, max_length=254, allow_blank=True, default="")


SessionData = inline_serializer(
    "QrCardSessionData",
    fields={
        "session_id": serializers.CharField(),
        "qr_code": serializers.URLField(help_text="The deep link the QR encodes"),
        "expires_at": serializers.DateTimeField(),
        "channel": serializers.CharField(),
    },
)
SessionStatusData = inline_serializer(
    "QrCardSessionStatus",
    fields={
        "session_id": serializers.CharField(),
        "status": serializers.ChoiceField(choices=["pending", "authenticated", "expired"]),
        "card_data": serializers.DictField(required=False),
        "expires_at": serializers.DateTimeField(),
    },
)


def _session_payload(session: QrCardSession) -> dict:
    return {
        "session_id": session.pk,
        "qr_code": f"{organization_base_url()}/identify/{session.pk}",
        "expires_at": session.expires_at.isoformat(),
        "channel": qr_card_channel(session.pk),
    }


class QrCardSessionsView(PosApiView):
    @extend_schema(
        operation_id="qr_card_session_create",
        summary="Start a QR identification session (5 minutes)",
        request=QrCardSessionRequest,
        responses={
            200: _envelope("QrCardSessionCreated", SessionData),
            422: _errors(*BODY_ERRORS),
            401: _errors(*AUTH_ERRORS),
        },
    )
    def post(self, request):
        data = QrCardSessionRequest(data=request.data).validated()
        session = qr_card_session_create(
            device_name=data["device_name"],
            shop_id=data.get("shop_id"),
            api_key_lookup_id=request.auth.lookup_id,
        )
        return json_response({"data": _session_payload(session)})


class QrCardSessionView(PosApiView):
    rate_limit_group = "customer"

    @extend_schema(
        operation_id="qr_card_session_status",
        summary="Poll a QR identification session",
        responses={
            200: _envelope("QrCardSessionPolled", SessionStatusData),
            404: _errors("qr_session_not_found"),
            401: _errors(*AUTH_ERRORS),
        },
    )
    def get(self, request, session_id: str):
        session = QrCardSession.objects.select_related("customer").filter(pk=session_id[:32]).first()
        if session is None:
            raise errors.QR_SESSION_NOT_FOUND()
        payload = {
            "session_id": session.pk,
            "status": qr_card_session_status(session),
            "expires_at": session.expires_at.isoformat(),
        }
        if session.status == QrCardSession.Status.AUTHENTICATED and session.customer is not None:
            payload["card_data"] = card_data(session.customer)
        return json_response({"data": payload})


def _invitation_payload(invitation: Invitation) -> dict:
    url = f"{organization_base_url()}/join/{invitation.pk}"
    return {
        "invitation_id": invitation.pk,
        "url": url,
        "qr_code": url,
        "expires_at": invitation.expires_at.isoformat(),
        "channel": invitation_channel(invitation.pk),
    }


class InvitationsView(PosApiView):
    rate_limit_group = "customer"

    @extend_schema(
        operation_id="invitation_create",
        summary="Invite a person who is not a member, by phone or email",
        request=InvitationRequest,
        responses={
            200: _envelope(
                "InvitationCreated",
                inline_serializer(
                    "InvitationData",
                    fields={
                        "invitation_id": serializers.CharField(),
                        "url": serializers.URLField(),
                        "qr_code": serializers.URLField(),
                        "expires_at": serializers.DateTimeField(),
                        "channel": serializers.CharField(),
                    },
                ),
            ),
            422: _errors("phone_or_email_required", "phone_invalid", "invalid_email", *BODY_ERRORS),
            401: _errors(*AUTH_ERRORS),
        },
    )
    def post(self, request):
        from loyalty_platform.identification.emails import invitation_email_send_on_commit

        data = InvitationRequest(data=request.data).validated()
        phone = normalize_phone(data["phone"]) if data["phone"] else ""
        email = data["email"].strip().lower()
        if email:
            try:
                validate_email(email)
            except DjangoValidationError:
                raise errors.INVALID_EMAIL() from None
        if not phone and not email:
            raise errors.PHONE_OR_EMAIL_REQUIRED()
        invitation = invitation_create(phone=phone, email=email, api_key_lookup_id=request.auth.lookup_id)
        payload = _invitation_payload(invitation)
        if email:
            invitation_email_send_on_commit(invitation_id=invitation.pk, url=payload["url"])
        return json_response({"data": payload})


class InvitationView(PosApiView):
    rate_limit_group = "customer"

    @extend_schema(
        operation_id="invitation_status",
        summary="Poll an invitation",
        responses={
            200: _envelope(
                "InvitationPolled",
                inline_serializer(
                    "InvitationStatus",
                    fields={
                        "invitation_id": serializers.CharField(),
                        "status": serializers.CharField(),
                        "customer_code": serializers.IntegerField(required=False),
                    },
                ),
            ),
            404: _errors("invitation_not_found"),
            401: _errors(*AUTH_ERRORS),
        },
    )
    def get(self, request, invitation_id: str):
        invitation = Invitation.objects.select_related("customer").filter(pk=invitation_id[:32]).first()
        if invitation is None:
            raise errors.INVITATION_NOT_FOUND()
        payload = {
            "invitation_id": invitation.pk,
            "status": invitation_status(invitation),
            "expires_at": invitation.expires_at.isoformat(),
        }
        if invitation.customer is not None:
            payload["customer_code"] = invitation.customer.customer_code
        return json_response({"data": payload})
