import base64
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import connection, transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac

from loyalty_platform.core import errors, throttle
from loyalty_platform.core.faults import task_send_on_commit
from loyalty_platform.core.sms import sms_configured
from loyalty_platform.core.tokens import token_hash
from loyalty_platform.customers.models import Customer
from loyalty_platform.customers.selectors import customer_by_phone
from loyalty_platform.customers.services import customer_updated_record, normalize_phone
from loyalty_platform.identification.emails import (
    app_link_email_send_on_commit,
    app_link_sms_send_on_commit,
    invitation_email_send_on_commit,
)
from loyalty_platform.identification.models import (
    Invitation,
    QrCardSession,
    QrLoginSession,
    invitation_channel,
)
from loyalty_platform.programs.models import Card, Program
from loyalty_platform.programs.selectors import active_programs
from loyalty_platform.realtime.publish import publish_public_on_commit, publish_to_customer_on_commit
from loyalty_platform.shops.selectors import open_shop
from tenants.limits import organization_writable_check
from tenants.platform import base_url


def qr_card_channel(session_id: str) -> str:
    return f"qr-card.{session_id}"


def organization_base_url() -> str:
    organization = connection.tenant
    domain = organization.domains.filter(is_primary=True).first()
    return base_url(domain.domain)


def qr_card_session_create(
    *, device_name: str = "", shop_id: int | None = None, api_key_lookup_id: str = ""
) -> QrCardSession:
    from loyalty_platform.identification.tasks import expire_qr_card_session

    session = QrCardSession.objects.create(
        device_name=device_name,
        shop_id=shop_id,
        api_key_lookup_id=api_key_lookup_id,
        expires_at=timezone.now() + timedelta(seconds=settings.QR_CARD_SESSION_SECONDS),
    )
    task_send_on_commit(expire_qr_card_session, (session.pk,), countdown=settings.QR_CARD_SESSION_SECONDS + 1)
    return session


def qr_card_session_status(session: QrCardSession) -> str:
    if session.status == QrCardSession.Status.PENDING and session.expires_at <= timezone.now():
        return QrCardSession.Status.EXPIRED
    return session.status


def card_data(customer: Customer) -> dict:
    """What the POS learns about an identified customer (the contract's card_data)."""
    organization = connection.tenant
    programs = active_programs()
    cards = {card.program_id: card for card in Card.objects.filter(customer=customer)}
    point_program = programs.get(Program.Kind.POINT)
    stamp_program = programs.get(Program.Kind.STAMP)
    point_card = cards.get(point_program.pk) if point_program else None
    stamp_card = cards.get(stamp_program.pk) if stamp_program else None
    main_card = point_card or stamp_card
    return {
        "id": main_card.pk if main_card else None,
        "customer_code": customer.customer_code,
        "card_number": main_card.card_number if main_card else None,
        "points_balance": point_card.balance if point_card else 0,
        "stamp_count": stamp_card.balance if stamp_card else 0,
        "status": main_card.status if main_card else "active",
        "user": {"id": customer.pk, "name": customer.name, "phone": customer.phone, "email": customer.email},
        "partner": {"id": organization.pk, "name": organization.name},
        "redemption": {
            "enabled": point_program is not None,
            "points_per_currency": point_program.redeem_points_per_unit if point_program else None,
            "currency_amount": "1.00",
            "min_points": point_program.min_redeem_points if point_program else None,
        },
        "created_at": (main_card.created_at if main_card else customer.created_at).isoformat(),
        "updated_at": (main_card.updated_at if main_card else customer.updated_at).isoformat(),
    }


def qr_card_session_identify(*, session_id: str, customer: Customer) -> QrCardSession:
    """Complete a session for this customer, once: the first opener wins."""
    organization_writable_check()
    now = timezone.now()
    with transaction.atomic():
        session = QrCardSession.objects.select_for_update().filter(pk=session_id).first()
        if session is None:
            raise errors.QR_SESSION_NOT_FOUND()
        if session.status == QrCardSession.Status.AUTHENTICATED:
            if session.customer_id == customer.pk:
                return session  # the same customer opening the link again
            raise errors.QR_SESSION_USED()
        if qr_card_session_status(session) == QrCardSession.Status.EXPIRED:
            raise errors.QR_SESSION_EXPIRED()
        session.status = QrCardSession.Status.AUTHENTICATED
        session.customer = customer
        session.authenticated_at = now
        session.save(update_fields=["status", "customer", "authenticated_at"])
        publish_public_on_commit(
            channel=qr_card_channel(session.pk),
            event="card_identified",
            data={
                "session_id": session.pk,
                "status": "authenticated",
                "card_data": card_data(customer),
                "timestamp": now.isoformat(),
            },
        )
        publish_to_customer_on_commit(
            customer_id=customer.pk,
            event="identified",
            data={"device_name": session.device_name, "at": now.isoformat()},
        )
    return session


def qr_card_session_expire(*, session_id: str) -> bool:
    with transaction.atomic():
        updated = QrCardSession.objects.filter(
            pk=session_id, status=QrCardSession.Status.PENDING, expires_at__lte=timezone.now()
        ).update(status=QrCardSession.Status.EXPIRED)
        if updated:
            publish_public_on_commit(
                channel=qr_card_channel(session_id),
                event="session_expired",
                data={"session_id": session_id, "status": "expired"},
            )
    return bool(updated)


def invitation_create(*, phone: str = "", email: str = "", api_key_lookup_id: str = "") -> Invitation:
    return Invitation.objects.create(
        phone=phone,
        email=email,
        api_key_lookup_id=api_key_lookup_id,
        expires_at=timezone.now() + timedelta(seconds=settings.INVITATION_SECONDS),
    )


def invitation_url(invitation: Invitation) -> str:
    return f"{organization_base_url()}/join/{invitation.pk}"


def invitation_send(*, phone: str = "", email: str = "", api_key_lookup_id: str = "") -> Invitation:
    """Invite a person by phone or email (normalized, at least one); an email invitation is
    mailed once the invitation is committed."""
    phone = normalize_phone(phone) if phone else ""
    email = email.strip().lower()
    if email:
        try:
            validate_email(email)
        except ValidationError:
            raise errors.INVALID_EMAIL() from None
    if not phone and not email:
        raise errors.PHONE_OR_EMAIL_REQUIRED()
    invitation = invitation_create(phone=phone, email=email, api_key_lookup_id=api_key_lookup_id)
    if email:
        invitation_email_send_on_commit(invitation_id=invitation.pk, url=invitation_url(invitation))
    return invitation


def invitation_status(invitation: Invitation) -> str:
    if invitation.status == Invitation.Status.PENDING and invitation.expires_at <= timezone.now():
        return Invitation.Status.EXPIRED
    return invitation.status


def invitation_accept(*, invitation_id: str, customer: Customer) -> Invitation:
    organization_writable_check()
    with transaction.atomic():
        invitation = Invitation.objects.select_for_update().filter(pk=invitation_id).first()
        if invitation is None:
            raise errors.INVITATION_NOT_FOUND()
        if invitation.status == Invitation.Status.ACCEPTED:
            if invitation.customer_id == customer.pk:
                return invitation
            raise errors.INVITATION_USED()
        if invitation_status(invitation) == Invitation.Status.EXPIRED:
            raise errors.INVITATION_EXPIRED()
        invitation.status = Invitation.Status.ACCEPTED
        invitation.customer = customer
        invitation.accepted_at = timezone.now()
        invitation.save(update_fields=["status", "customer", "accepted_at"])
        if invitation.phone and not customer.phone:
            Customer.objects.filter(pk=customer.pk).update(phone=invitation.phone)
            customer.phone = invitation.phone
            customer_updated_record(customer, changed=["phone"])
        publish_public_on_commit(
            channel=invitation_channel(invitation.pk),
            event="invitation_accepted",
            data={"invitation_id": invitation.pk, "customer_code": customer.customer_code},
        )
    return invitation


# --- Sign-in by QR (an e-shop's screen) and the app link ----------------------------------------

QR_LOGIN_EVENT = "status_update"
# Open sessions: a customer may still answer them.
_QR_LOGIN_OPEN = (QrLoginSession.Status.PENDING, QrLoginSession.Status.SCANNED)


def qr_login_channel(session_id: str) -> str:
    return f"qr-login.{session_id}"


def qr_login_session_create(
    *, device_name: str = "", shop_id: int | None = None, api_key_lookup_id: str = ""
) -> QrLoginSession:
    """A session for an e-shop's QR, open as long as a QR card session."""
    from loyalty_platform.identification.tasks import expire_qr_login_session  # a cycle: tasks import us

    lifetime = settings.QR_CARD_SESSION_SECONDS
    session = QrLoginSession.objects.create(
        device_name=device_name,
        shop_id=shop_id,
        api_key_lookup_id=api_key_lookup_id,
        expires_at=timezone.now() + timedelta(seconds=lifetime),
    )
    task_send_on_commit(expire_qr_login_session, (session.pk,), countdown=lifetime + 1)
    return session


def qr_login_session_status(session: QrLoginSession) -> str:
    """The status, with an open session past its end read as expired (before the task ran)."""
    if session.status in _QR_LOGIN_OPEN and session.expires_at <= timezone.now():
        return QrLoginSession.Status.EXPIRED
    return session.status


def qr_login_token(session: QrLoginSession) -> str:
    """The sign-in reference of a confirmed session: random (its nonce) and derived with the
    platform's secret, so the poll can show it again while only its hash is stored. It names
    this sign-in for the e-shop's records; it opens no profile session and passes no PIN."""
    digest = salted_hmac(
        "identification.qr_login_token",
        f"{connection.schema_name}:{session.pk}:{session.token_nonce}",
        algorithm="sha256",
    ).digest()
    return "qrl_" + base64.urlsafe_b64encode(digest).decode().rstrip("=")


def qr_login_token_visible(session: QrLoginSession) -> bool:
    """The poll shows the token for a session's lifetime after the customer confirmed."""
    return (
        session.status == QrLoginSession.Status.AUTHENTICATED
        and session.completed_at is not None
        and timezone.now() < session.completed_at + timedelta(seconds=settings.QR_CARD_SESSION_SECONDS)
    )


def qr_login_user(customer: Customer) -> dict:
    return {"id": customer.pk, "name": customer.name, "email": customer.email, "phone": customer.phone}


def _qr_login_publish(session_id: str, status: str, **data: object) -> None:
    publish_public_on_commit(
        channel=qr_login_channel(session_id),
        event=QR_LOGIN_EVENT,
        data={"session_id": session_id, "status": status, **data},
    )


def _qr_login_locked(session_id: str) -> QrLoginSession:
    session = QrLoginSession.objects.select_for_update().filter(pk=session_id).first()
    if session is None:
        raise errors.QR_SESSION_NOT_FOUND()
    return session


def _qr_login_refuse_closed(session: QrLoginSession, customer: Customer) -> None:
    """The refusal for a session nobody may answer any more."""
    status = qr_login_session_status(session)
    if status == QrLoginSession.Status.AUTHENTICATED:
        raise errors.QR_SESSION_USED() if session.customer_id != customer.pk else errors.QR_LOGIN_CLOSED()
    if status == QrLoginSession.Status.EXPIRED:
        raise errors.QR_LOGIN_EXPIRED()
    if status == QrLoginSession.Status.CANCELLED:
        raise errors.QR_LOGIN_CLOSED()


def qr_login_session_scan(*, session_id: str, customer: Customer) -> QrLoginSession:
    """The customer opened the session's page: an open session becomes `scanned` (the shop's
    screen may say so). A session this customer confirmed is returned as it is."""
    organization_writable_check()
    with transaction.atomic():
        session = _qr_login_locked(session_id)
        if session.status == QrLoginSession.Status.AUTHENTICATED and session.customer_id == customer.pk:
            return session
        _qr_login_refuse_closed(session, customer)
        if session.status == QrLoginSession.Status.PENDING:
            session.status = QrLoginSession.Status.SCANNED
            session.scanned_at = timezone.now()
            session.save(update_fields=["status", "scanned_at"])
            _qr_login_publish(session.pk, QrLoginSession.Status.SCANNED)
    return session


def qr_login_session_confirm(*, session_id: str, customer: Customer) -> QrLoginSession:
    """The customer signs the shop's screen in as themselves, once: the first confirmer wins,
    an expired or declined session cannot complete. The shop hears who it is on the
    session's channel, with the sign-in reference and the card."""
    organization_writable_check()
    with transaction.atomic():
        session = _qr_login_locked(session_id)
        if session.status == QrLoginSession.Status.AUTHENTICATED and session.customer_id == customer.pk:
            return session  # the same customer confirming again (a second tap, a reload)
        _qr_login_refuse_closed(session, customer)
        session.status = QrLoginSession.Status.AUTHENTICATED
        session.customer = customer
        session.completed_at = timezone.now()
        session.token_nonce = secrets.token_hex(16)
        token = qr_login_token(session)
        session.token_hash = token_hash(token)
        session.save(update_fields=["status", "customer", "completed_at", "token_nonce", "token_hash"])
        _qr_login_publish(
            session.pk,
            QrLoginSession.Status.AUTHENTICATED,
            user=qr_login_user(customer),
            token=token,
            card=card_data(customer),
        )
    return session


def qr_login_session_decline(*, session_id: str, customer: Customer) -> QrLoginSession:
    """The customer refuses the sign-in: the session is over for everyone."""
    organization_writable_check()
    with transaction.atomic():
        session = _qr_login_locked(session_id)
        if session.status == QrLoginSession.Status.CANCELLED:
            return session
        _qr_login_refuse_closed(session, customer)
        session.status = QrLoginSession.Status.CANCELLED
        session.completed_at = timezone.now()
        session.save(update_fields=["status", "completed_at"])
        _qr_login_publish(session.pk, QrLoginSession.Status.CANCELLED)
    return session


def qr_login_session_expire(*, session_id: str) -> bool:
    """End an open session past its end and tell the shop; False when it was answered."""
    with transaction.atomic():
        updated = QrLoginSession.objects.filter(
            pk=session_id, status__in=_QR_LOGIN_OPEN, expires_at__lte=timezone.now()
        ).update(status=QrLoginSession.Status.EXPIRED)
        if updated:
            _qr_login_publish(session_id, QrLoginSession.Status.EXPIRED)
    return bool(updated)


# The app link goes by email; only a member without an email (one who joined by phone) is
# texted it, where the platform has an SMS sender.
SMS_STATUS = "not_configured"


@dataclass(frozen=True)
class AppLinkSent:
    channels: tuple[str, ...]
    sms: str


def app_link_send(*, phone: str, shop_id: int, language: str) -> AppLinkSent:
    """Email the customer with this phone a sign-in link to their profile (once committed),
    in `language` where a template of it exists. A few per customer an hour: a shop cannot
    flood a person's inbox."""
    phone = normalize_phone(phone)
    open_shop(shop_id)
    customer = customer_by_phone(phone)
    if customer is None:
        raise errors.CUSTOMER_NOT_FOUND()
    if customer.status == Customer.Status.BLOCKED:
        raise errors.CUSTOMER_BLOCKED()
    if customer.status == Customer.Status.PENDING:
        raise errors.CUSTOMER_NOT_FOUND()  # not a member until they finish joining
    if not customer.email and not sms_configured():
        return AppLinkSent(channels=(), sms=SMS_STATUS)  # nowhere to send it
    wait = throttle.attempt(throttle.limit("app_link_customer"), str(customer.pk))
    if wait is not None:
        raise errors.TOO_MANY_REQUESTS(retry_after=wait)
    if not customer.email:
        app_link_sms_send_on_commit(customer_id=customer.pk, language=language)
        return AppLinkSent(channels=("sms",), sms="sent")
    app_link_email_send_on_commit(customer_id=customer.pk, shop_id=shop_id, language=language)
    return AppLinkSent(channels=("email",), sms=SMS_STATUS)
