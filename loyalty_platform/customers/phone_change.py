"""A customer changes their own phone number on the profile (docs/decisions/0055).

Where the platform has an SMS sender, the new number is verified: a PhoneChange waits, a
Celery task (sent once committed) draws a six-digit code, keeps only its hash and texts it to
the new number; the number changes when the customer enters the code, once, before it expires
and within a few tries. Codes are limited per customer and per number (ABUSE_LIMITS), so the
page cannot be used to flood someone's phone. Without an SMS sender nothing can be verified
and the number is saved at once, as the staff's edit does; it is then contact data only (no
sign-in by text exists without a sender either). Removing one's number needs no code.
"""

import secrets
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone, translation
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext

from loyalty_platform.audit.services import audit_record
from loyalty_platform.core import errors, throttle
from loyalty_platform.core.faults import task_send_on_commit
from loyalty_platform.core.sms import SmsError, send_sms, sms_configured
from loyalty_platform.customers.models import Customer, PhoneChange
from loyalty_platform.customers.services import customer_updated_record, normalize_phone, phone_change_check

CODE_DIGITS = 6


def phone_code_hash(change_id: int, code: str) -> str:
    """Over the organization's schema too: primary keys repeat across schemas, a code can
    only ever match its own organization's row."""
    return salted_hmac(
        "customers.phone_change", f"{connection.schema_name}:{change_id}:{code}", algorithm="sha256"
    ).hexdigest()


def phone_verified_by_code() -> bool:
    """Whether a new number must be confirmed by a texted code: only when texts can be sent."""
    return sms_configured()


def _locked_customer(customer: Customer) -> Customer:
    locked = Customer.objects.select_for_update().get(pk=customer.pk)
    if locked.status == Customer.Status.DELETED:
        raise errors.CUSTOMER_ERASED()
    return locked


def _taken_check(customer: Customer, phone: str) -> None:
    """On their own, a customer may not take a number another member holds: phone_taken (a
    staff edit keeps the rule of docs/decisions/0052, unique among members without email)."""
    phone_change_check(customer=customer, phone=phone)
    if (
        phone
        and Customer.objects.filter(phone=phone)
        .exclude(pk=customer.pk)
        .exclude(status=Customer.Status.DELETED)
        .exists()
    ):
        raise errors.PHONE_TAKEN(field="phone")


def _phone_apply(customer: Customer, phone: str, *, verified: bool) -> None:
    """The number changes (the caller holds the row lock): audit record and customer.updated."""
    old = customer.phone
    customer.phone = phone
    try:
        with transaction.atomic():
            customer.save(update_fields=["phone", "updated_at"])
    except IntegrityError:
        # Given to another member without an email at this moment (customer_phone_only_unique).
        customer.phone = old
        raise errors.PHONE_TAKEN(field="phone") from None
    audit_record(
        actor=None,
        action="customers.phone_change",
        target=customer,
        details={"changes": {"phone": [old, phone]}, "verified": verified},
    )
    customer_updated_record(customer, changed=["phone"])


def customer_phone_change_request(
    *, customer: Customer, phone: object, language: str = ""
) -> PhoneChange | None:
    """The customer asks for a new number (or none: ""). Returns the PhoneChange waiting for
    its code, or None when the number changed at once (removed, or no SMS sender). Refusals
    change nothing: phone_invalid, phone_unchanged, phone_required (a member known by their
    phone alone), phone_taken, phone_code_too_many (retry_after), customer_erased."""
    if not isinstance(phone, str):
        raise errors.PHONE_INVALID(field="phone")
    new = normalize_phone(phone) if phone.strip() else ""
    with transaction.atomic():
        locked = _locked_customer(customer)
        if new == locked.phone:
            raise errors.PHONE_UNCHANGED(field="phone")
        _taken_check(locked, new)
        if not new or not phone_verified_by_code():
            _phone_apply(locked, new, verified=False)
            customer.phone = new
            return None
        for rule, subject in (
            ("phone_change_customer", str(locked.pk)),
            ("phone_change_phone", throttle.digest(new)),
        ):
            wait = throttle.attempt(throttle.limit(rule), subject)
            if wait is not None:
                raise errors.PHONE_CODE_TOO_MANY(field="phone", retry_after=wait)
        # One change waits at a time: a new request makes an earlier code useless.
        PhoneChange.objects.filter(customer=locked, confirmed_at__isnull=True).delete()
        now = timezone.now()
        change = PhoneChange.objects.create(
            customer=locked,
            phone=new,
            remaining_attempts=settings.PHONE_CHANGE_CODE_ATTEMPTS,
            created_at=now,
            expires_at=now + timedelta(minutes=settings.PHONE_CHANGE_CODE_MINUTES),
        )
        # A cycle: the tasks module imports this one for phone_change_code_send.
        from loyalty_platform.customers.tasks import send_phone_change_code

        task_send_on_commit(send_phone_change_code, (change.pk, language or locked.language))
    return change


def phone_change_waiting(customer: Customer) -> PhoneChange | None:
    """The change of number waiting for its code, if one is still usable."""
    return (
        PhoneChange.objects.filter(
            customer=customer,
            confirmed_at__isnull=True,
            expires_at__gt=timezone.now(),
            remaining_attempts__gt=0,
        )
        .order_by("-pk")
        .first()
    )


def phone_change_code_send(*, change_id: int, language: str = "") -> bool:
    """Draw the code, keep its hash, text it to the new number (the Celery task's work: the
    code never waits in the broker). False when there is nothing to send any more (texted
    already, replaced, confirmed or expired)."""
    change = PhoneChange.objects.filter(
        pk=change_id, confirmed_at__isnull=True, code_hash="", expires_at__gt=timezone.now()
    ).first()
    if change is None:
        return False
    code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
    drawn = PhoneChange.objects.filter(pk=change.pk, code_hash="")
    if not drawn.update(code_hash=phone_code_hash(change.pk, code)):
        return False  # another run of the task drew one first
    organization = connection.tenant
    with translation.override(language or organization.language):
        text = gettext(
            "%(organization)s: your code to confirm this phone number is %(code)s. "
            "It works for %(minutes)s minutes."
        ) % {"organization": organization.name, "code": code, "minutes": settings.PHONE_CHANGE_CODE_MINUTES}
    try:
        send_sms(change.phone, text)
    except SmsError:
        # The task retries and draws a code of its own: none stays valid that nobody received.
        PhoneChange.objects.filter(pk=change.pk).update(code_hash="")
        raise
    return True


def customer_phone_change_confirm(*, customer: Customer, code: object) -> Customer:
    """The customer enters the texted code: the number changes, once. phone_code_invalid
    (remaining_attempts; a try used), phone_code_expired (too late, or tried wrong too often),
    phone_change_not_found (nothing waits), phone_taken (someone took the number meanwhile):
    the number stays as it was."""
    if not isinstance(code, str) or not (code := code.strip()).isascii() or not code.isdigit():
        raise errors.PHONE_CODE_INVALID(field="code")
    refusal: errors.DomainError | None = None
    with transaction.atomic():
        locked = _locked_customer(customer)
        change = (
            PhoneChange.objects.select_for_update()
            .filter(customer=locked, confirmed_at__isnull=True)
            .order_by("-pk")
            .first()
        )
        if change is None:
            raise errors.PHONE_CHANGE_NOT_FOUND(field="code")
        if change.expires_at <= timezone.now() or change.remaining_attempts <= 0:
            raise errors.PHONE_CODE_EXPIRED(field="code")
        matches = bool(change.code_hash) and constant_time_compare(
            phone_code_hash(change.pk, code), change.code_hash
        )
        if not matches:
            change.remaining_attempts -= 1
            change.save(update_fields=["remaining_attempts"])
            # Raised once the used try is committed.
            refusal = errors.PHONE_CODE_INVALID(field="code", remaining_attempts=change.remaining_attempts)
        else:
            _taken_check(locked, change.phone)
            _phone_apply(locked, change.phone, verified=True)
            PhoneChange.objects.filter(pk=change.pk).update(confirmed_at=timezone.now())
    if refusal is not None:
        raise refusal
    customer.phone = locked.phone
    return locked
