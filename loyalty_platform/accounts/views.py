"""Staff pages outside the admin's models, on the merchant site: accepting an invitation and
the two-factor steps. They are reachable before `has_permission` holds, so each checks who
may see it itself."""

from collections.abc import Callable

import django_otp
from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth import logout as auth_logout
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django_otp.plugins.otp_totp.models import TOTPDevice

from loyalty_platform.accounts import two_factor
from loyalty_platform.accounts.forms import CodeForm, PortalSetPasswordForm
from loyalty_platform.accounts.models import User
from loyalty_platform.accounts.services import (
    StaffError,
    invitation_accept,
    invitation_find,
    two_factor_device,
    two_factor_enrolment_confirm,
    two_factor_enrolment_start,
)
from loyalty_platform.accounts.support import SUPPORT_SESSION_KEY
from loyalty_platform.audit.services import audit_record
from loyalty_platform.core.admin_sites import merchant_admin_site
from loyalty_platform.core.qr import qr_svg
from tenants.handoff import handoff_redeem
from tenants.models import PortalHandoff

SITE = merchant_admin_site


def _context(request: HttpRequest, **extra) -> dict:
    return {**SITE.each_context(request), **extra}


def _next_url(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse("merchant_admin:index")


def _too_many(wait: int) -> str:
    return _("Too many failed sign-ins. Try again in %(minutes)d minutes.") % {
        "minutes": max(1, round(wait / 60))
    }


def _signed_in_staff(request: HttpRequest) -> bool:
    user = request.user
    return user.is_authenticated and user.is_active and user.is_staff


def _code_accepted(request: HttpRequest, form: CodeForm, check: Callable[[str], bool], device) -> bool:
    """Check a typed code; a refused one counts as a failed sign-in (core.throttle, shared
    with wrong passwords) and says why on the form."""
    if wait := two_factor.code_blocked_for(request):
        form.is_valid()
        form.add_error(None, _too_many(wait))
        return False
    if form.is_valid():
        # django-otp's own back-off per device: seconds after each wrong code, doubling.
        allowed, _details = device.verify_is_allowed()
        if allowed and check(form.cleaned_data["code"]):
            return True
        form.add_error(
            "code",
            _("That code is not right. Try the code your app shows now.")
            if allowed
            else _("Too many wrong codes in a row. Wait a few seconds, then type the code your app shows."),
        )
    two_factor.code_failed(request)
    return False


@never_cache
def accept_invite(request: HttpRequest, token: str) -> HttpResponse:
    invitation = invitation_find(token=token)
    if invitation is None:
        context = _context(request, title=_("Invitation not valid"))
        return render(request, "accounts/invite_invalid.html", context, status=404)
    form = PortalSetPasswordForm(invitation.user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = invitation_accept(token=token, password=form.cleaned_data["new_password1"])
        except StaffError:
            context = _context(request, title=_("Invitation not valid"))
            return render(request, "accounts/invite_invalid.html", context, status=404)
        auth_login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, _("Welcome! Your password is set."))
        return HttpResponseRedirect(reverse("merchant_admin:index"))
    context = _context(request, title=_("Set your password"), form=form, invited=invitation.user)
    return render(request, "accounts/accept_invite.html", context)


@never_cache
def handoff(request: HttpRequest, token: str) -> HttpResponse:
    """Spend a one-time link from the platform host (tenants.handoff) and sign its staff
    member in: the new owner after sign-up, or an operator's support session."""
    spent = handoff_redeem(organization=request.organization, token=token)
    user = None
    if spent is not None:
        user = User.objects.filter(email__iexact=spent.staff_email, is_active=True, is_staff=True).first()
    if user is None:
        context = _context(request, title=_("Link not valid"))
        return render(request, "accounts/handoff_invalid.html", context, status=404)
    auth_login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    if spent.purpose == PortalHandoff.Purpose.SUPPORT:
        request.session[SUPPORT_SESSION_KEY] = {"operator": spent.operator_email, "reason": spent.reason}
        audit_record(
            actor=user,
            action="support.session_start",
            target=None,
            target_type="support_session",
            target_repr=spent.operator_email,
            details={"operator": spent.operator_email, "reason": spent.reason},
        )
    return HttpResponseRedirect(reverse("merchant_admin:index"))


@never_cache
def two_factor_verify(request: HttpRequest) -> HttpResponse:
    """The second sign-in step: the code of the person's authenticator."""
    if not _signed_in_staff(request):
        return HttpResponseRedirect(reverse("merchant_admin:login"))
    if request.method == "POST" and "cancel" in request.POST:
        auth_logout(request)
        return HttpResponseRedirect(reverse("merchant_admin:login"))
    device = two_factor_device(request.user)
    if device is None or two_factor.is_verified(request):
        return HttpResponseRedirect(_next_url(request))
    form = CodeForm(request.POST or None)
    if request.method == "POST" and _code_accepted(
        request, form, lambda code: django_otp.verify_token(request.user, device.persistent_id, code), device
    ):
        request.session.cycle_key()
        django_otp.login(request, device)
        return HttpResponseRedirect(_next_url(request))
    context = _context(request, title=_("Two-factor sign-in"), form=form, next=_next_url(request))
    return render(request, "accounts/two_factor_verify.html", context)


@never_cache
def two_factor_enrol(request: HttpRequest) -> HttpResponse:
    """Set up an authenticator app: scan the QR code, type a code it shows."""
    if not _signed_in_staff(request):
        return HttpResponseRedirect(reverse("merchant_admin:login"))
    user = request.user
    if two_factor_device(user) is not None and not two_factor.is_verified(request):
        # Replacing a device needs the current one first: a password alone must not do it.
        return HttpResponseRedirect(reverse("merchant_admin:two_factor_verify"))
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first() or two_factor_enrolment_start(
        user=user
    )
    form = CodeForm(request.POST or None)
    confirmed = None

    def confirm(code: str) -> bool:
        nonlocal confirmed
        confirmed = two_factor_enrolment_confirm(user=user, token=code)
        return confirmed is not None

    if request.method == "POST" and _code_accepted(request, form, confirm, device):
        django_otp.login(request, confirmed)
        two_factor.forget_step(request)
        messages.success(
            request, _("Two-factor sign-in is on. You will be asked for a code at each sign-in.")
        )
        return HttpResponseRedirect(_next_url(request))
    uri = two_factor.otpauth_uri(device)
    context = _context(
        request,
        title=_("Set up two-factor sign-in"),
        form=form,
        # Our own SVG (qrcode's path image): no script, no style attribute.
        qr=mark_safe(qr_svg(uri, pixels=240)),  # noqa: S308
        secret=uri.split("secret=", 1)[1].split("&", 1)[0],
        required=two_factor.enrolment_required(request),
        next=_next_url(request),
    )
    return render(request, "accounts/two_factor_enrol.html", context)
