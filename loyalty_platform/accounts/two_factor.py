"""Two-factor sign-in of staff with an authenticator app (TOTP, django-otp).

The password step is Django's admin login; it signs the person in, but while a step is due
the merchant site's `has_permission` is false, so every admin page sends them to it: the code
of their authenticator when they enrolled one, or enrolment itself when the organization
requires two factors of owners and this owner has none."""

from base64 import b32encode
from urllib.parse import quote

from django.db import connection
from django.http import HttpRequest
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from loyalty_platform.accounts import roles
from loyalty_platform.accounts.services import two_factor_device
from loyalty_platform.accounts.support import support_session
from loyalty_platform.core import throttle
from loyalty_platform.core.admin_sites import staff_sign_in_limits

_MEMO = "_two_factor_step"


def is_verified(request: HttpRequest) -> bool:
    check = getattr(request.user, "is_verified", None)
    return bool(check and check())


def enrolment_required(request: HttpRequest) -> bool:
    organization = getattr(request, "organization", None)
    return bool(
        organization is not None
        and organization.staff_two_factor_required
        and roles.role_of(request.user) == roles.OWNER
    )


def _support_session_of_support_account(request: HttpRequest) -> bool:
    """A support session skips the step: the operator signed in to the platform admin and
    came through a one-time link issued there for the platform's own support account
    (docs/decisions/0035-suspension.md)."""
    return bool(getattr(request.user, "is_platform_support", False) and support_session(request) is not None)


def sign_in_step(request: HttpRequest) -> str | None:
    """The URL of the step this signed-in staff member still has to pass, or None."""
    if hasattr(request, _MEMO):
        return getattr(request, _MEMO)
    user = request.user
    step = None
    if (
        user.is_authenticated
        and user.is_active
        and user.is_staff
        and not is_verified(request)
        and not _support_session_of_support_account(request)
    ):
        if two_factor_device(user) is not None:
            step = reverse("merchant_admin:two_factor_verify")
        elif enrolment_required(request):
            step = reverse("merchant_admin:two_factor_enrol")
    setattr(request, _MEMO, step)
    return step


def forget_step(request: HttpRequest) -> None:
    if hasattr(request, _MEMO):
        delattr(request, _MEMO)


def code_blocked_for(request: HttpRequest) -> int | None:
    """Seconds to wait when this login or IP used up its sign-in failures (passwords or codes)."""
    for rule, subject in staff_sign_in_limits(request, request.user.get_username()):
        if wait := throttle.blocked_for(rule, subject):
            return wait
    return None


def code_failed(request: HttpRequest) -> None:
    for rule, subject in staff_sign_in_limits(request, request.user.get_username()):
        throttle.attempt(rule, subject)


def otpauth_uri(device: TOTPDevice) -> str:
    """What the authenticator app reads from the QR code; the issuer is the organization."""
    issuer = getattr(connection.tenant, "name", "") or "Loyalty admin"
    issuer = issuer.replace(":", "")
    label = quote(f"{issuer}:{device.user.get_username()}")
    secret = b32encode(device.bin_key).decode().rstrip("=")
    return (
        f"otpauth://totp/{label}?secret={secret}&algorithm=SHA1&digits={device.digits}"
        f"&period={device.step}&issuer={quote(issuer)}"
    )
