"""Joining by phone (docs/decisions/0052-joining-by-phone.md): a till enrolls a phone number
without an email, where the organization allows it and the platform can send SMS. The number
becomes a pending member and gets a text with a link; on the page it opens, the person accepts
the terms and privacy notice (marketing optional), may add a name and an email, and becomes an
active member. The till hears it on the invitation channel it was given, as for invitations."""

import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext

from loyalty_platform.core import errors, throttle
from loyalty_platform.core.faults import task_send_on_commit
from loyalty_platform.core.sms import send_sms, sms_configured
from loyalty_platform.core.tokens import token_hash
from loyalty_platform.customers.models import Customer
from loyalty_platform.customers.selectors import customer_by_phone
from loyalty_platform.customers.services import (
    customer_code_candidate,
    customer_with_email,
    normalize_birth_date,
    normalize_email,
    normalize_phone,
    pending_member_activate,
)
from loyalty_platform.identification.emails import app_link_sms_send_on_commit
from loyalty_platform.identification.models import Invitation, JoinLink
from loyalty_platform.identification.services import organization_base_url
from tenants.limits import current_organization, organization_writable_check, plan_limit_reserve

JOIN_TOKEN_PREFIX = "jn_"  # noqa: S105 (a prefix, not a secret)
_CODE_ATTEMPTS = 20


@dataclass(frozen=True)
class Enrollment:
    """What POST /webhook/customer answers: the customer, whether they are new, and for a
    pending member the invitation whose channel tells the till when they finished joining."""

    customer: Customer
    is_new: bool
    invitation: Invitation | None = None


def phone_enrollment_enabled() -> bool:
    """The organization lets tills enroll by phone, and the platform has an SMS sender."""
    return bool(connection.tenant.phone_enrollment) and sms_configured()


def join_link_hash(token: str) -> str:
    """The stored digest: over the organization's schema as well, so a token found on another
    organization's host matches nothing even where rows repeat."""
    return token_hash(f"{connection.schema_name}:{token}")


def _invite_pending(customer: Customer, *, api_key_lookup_id: str) -> Invitation:
    """A new invitation (the till's channel) for a pending member, and the text with its link
    once committed. A few texts an hour per member: a till cannot flood a person's phone."""
    wait = throttle.attempt(throttle.limit("join_sms_customer"), str(customer.pk))
    if wait is not None:
        raise errors.TOO_MANY_REQUESTS(retry_after=wait)
    invitation = Invitation.objects.create(
        phone=customer.phone,
        customer=customer,
        api_key_lookup_id=api_key_lookup_id,
        expires_at=timezone.now() + timedelta(hours=settings.JOIN_LINK_HOURS),
    )
    # A cycle: tasks import this module for join_sms_send.
    from loyalty_platform.identification.tasks import send_join_sms

    task_send_on_commit(send_join_sms, (invitation.pk,))
    return invitation


def customer_phone_enroll(
    *, phone: object, name: str = "", birth_date: object = None, api_key_lookup_id: str = ""
) -> Enrollment:
    """Enroll a phone number without an email, as a pending member texted a link to finish
    joining. Where the organization does not allow it (or no SMS sender exists) the call is
    refused as an enrollment without an email always was: email_required. A number already a
    member's returns that member as they are; a pending one is texted a new link."""
    if not phone_enrollment_enabled():
        raise errors.EMAIL_REQUIRED()
    if not isinstance(phone, str):
        raise errors.PHONE_INVALID(field="phone")
    phone = normalize_phone(phone)
    birth_date = normalize_birth_date(birth_date)
    organization_writable_check()
    for _ in range(_CODE_ATTEMPTS):
        existing = customer_by_phone(phone)
        if existing is not None:
            if existing.status != Customer.Status.PENDING:
                return Enrollment(customer=existing, is_new=False)
            with transaction.atomic():
                invitation = _invite_pending(existing, api_key_lookup_id=api_key_lookup_id)
            return Enrollment(customer=existing, is_new=False, invitation=invitation)
        try:
            with transaction.atomic():
                plan_limit_reserve(organization=current_organization(), limit="customers")
                customer = Customer.objects.create(
                    customer_code=customer_code_candidate(),
                    email="",
                    phone=phone,
                    name=name.strip()[:150],
                    birth_date=birth_date,
                    status=Customer.Status.PENDING,
                )
                invitation = _invite_pending(customer, api_key_lookup_id=api_key_lookup_id)
            return Enrollment(customer=customer, is_new=True, invitation=invitation)
        except IntegrityError:
            continue  # the number enrolled at this moment by another call, or the code taken
    raise RuntimeError("could not draw a free customer code")


def join_link_create(*, invitation: Invitation) -> str:
    """A link to finish joining, valid JOIN_LINK_HOURS and once."""
    return _join_link_new(invitation)[0]


def _join_link_new(invitation: Invitation) -> tuple[str, JoinLink]:
    token = JOIN_TOKEN_PREFIX + secrets.token_urlsafe(32)
    link = JoinLink.objects.create(
        invitation=invitation,
        customer_id=invitation.customer_id,
        token_hash=join_link_hash(token),
        expires_at=timezone.now() + timedelta(hours=settings.JOIN_LINK_HOURS),
    )
    return f"{organization_base_url()}/me/finish/{token}", link


def join_sms_send(*, invitation_id: str) -> bool:
    """Text the pending member their link (run by a Celery task: the token never waits in the
    broker), in the organization's language. False when there is nothing to send any more
    (they finished joining since, or were erased)."""
    invitation = Invitation.objects.select_related("customer").filter(pk=invitation_id).first()
    if invitation is None or invitation.customer is None:
        return False
    if invitation.customer.status != Customer.Status.PENDING:
        return False
    organization = connection.tenant
    url, link = _join_link_new(invitation)
    with translation.override(organization.language):
        text = gettext(
            "%(organization)s: tap to finish joining our loyalty program: %(url)s (valid %(hours)s hours)"
        ) % {"organization": organization.name, "url": url, "hours": settings.JOIN_LINK_HOURS}
    try:
        send_sms(invitation.customer.phone, text)
    except Exception:
        # The task retries with a link of its own: none is left valid that nobody received.
        link.delete()
        raise
    return True


def join_link_check(*, token: str) -> JoinLink:
    """The link, if it may still finish joining: join_link_invalid (unknown here),
    join_link_expired, join_link_used (spent, or the member joined by another link)."""
    link = JoinLink.objects.select_related("customer").filter(token_hash=join_link_hash(token or "")).first()
    if link is None or link.customer.status not in (Customer.Status.PENDING, Customer.Status.ACTIVE):
        raise errors.JOIN_LINK_INVALID()
    if link.used_at is not None or link.customer.status != Customer.Status.PENDING:
        raise errors.JOIN_LINK_USED()
    if link.expires_at <= timezone.now():
        raise errors.JOIN_LINK_EXPIRED()
    return link


def customer_join_finish(
    *,
    token: str,
    consent_terms: bool,
    consent_privacy: bool,
    consent_marketing: bool = False,
    name: str = "",
    email: str = "",
    consent_sms: bool = False,
) -> Customer:
    """The pending member consents (terms and privacy required, offers by email and by text
    optional) and may
    add a name and an email: they become an active member, the link is spent, and every till
    that enrolled them hears invitation_accepted on its channel. A refusal changes nothing."""
    organization_writable_check()
    join_link_check(token=token)
    if consent_terms is not True:
        raise errors.CONSENT_TERMS_REQUIRED()
    if consent_privacy is not True:
        raise errors.CONSENT_PRIVACY_REQUIRED()
    email = normalize_email(email) if email.strip() else ""
    if email and customer_with_email(email) is not None:
        raise errors.EMAIL_TAKEN()
    try:
        with transaction.atomic():
            link = JoinLink.objects.select_for_update().get(token_hash=join_link_hash(token))
            customer = Customer.objects.select_for_update().get(pk=link.customer_id)
            # Again under the locks: a second tab may have finished a moment ago.
            if link.used_at is not None or customer.status != Customer.Status.PENDING:
                raise errors.JOIN_LINK_USED()
            pending_member_activate(
                customer=customer,
                email=email,
                name=name,
                consent_marketing=consent_marketing,
                consent_sms=consent_sms,
                source="phone",
            )
            JoinLink.objects.filter(pk=link.pk).update(used_at=timezone.now())
    except IntegrityError:
        raise errors.EMAIL_TAKEN() from None  # the email enrolled by someone else meanwhile
    return customer


def login_text_request(*, phone: object, ip: str) -> int | None:
    """A member without an email asks for a sign-in link by text (the profile's sign-in page):
    it is sent to the active member known by this number alone, once committed. The seconds
    to wait when the number or the IP asked too often, else None; the same answer whether or
    not the number is a member's (PHONE_INVALID for what is no phone number)."""
    phone = normalize_phone(phone if isinstance(phone, str) else "")
    wait = throttle.attempt(throttle.limit("login_email_ip"), ip)
    if wait is None:
        wait = throttle.attempt(throttle.limit("login_sms_phone"), throttle.digest(phone))
    if wait is not None:
        return wait
    customer = Customer.objects.filter(phone=phone, email="", status=Customer.Status.ACTIVE).first()
    if customer is not None and sms_configured():
        app_link_sms_send_on_commit(customer_id=customer.pk, language=translation.get_language() or "en")
    return None
