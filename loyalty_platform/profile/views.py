"""The customer's self-service profile on the organization's host."""

import json
import math
import uuid
from functools import wraps
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone, translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods, require_POST

from loyalty_platform.campaigns.referral_views import (
    referral_after_sign_in,
    referral_after_signup,
    referral_invite_context,
)
from loyalty_platform.campaigns.selectors import organization_zone
from loyalty_platform.core import errors
from loyalty_platform.core.errors import ORGANIZATION_SUSPENDED, DomainError, ErrorType
from loyalty_platform.core.formats import day_display, money_figure
from loyalty_platform.core.i18n import SESSION_LANGUAGE_KEY, SUPPORTED
from loyalty_platform.core.sms import sms_configured
from loyalty_platform.core.throttle import client_ip
from loyalty_platform.customers.login import (
    login_email_wait,
    login_link_consume,
    login_link_send,
    safe_next_path,
)
from loyalty_platform.customers.models import ConsentEvent, Customer
from loyalty_platform.customers.phone_change import (
    customer_phone_change_confirm,
    customer_phone_change_request,
    phone_change_waiting,
    phone_verified_by_code,
)
from loyalty_platform.customers.selectors import consent_history, customer_by_email
from loyalty_platform.customers.services import (
    customer_birth_date_set,
    customer_enroll,
    customer_erase,
    customer_export,
    customer_language_set,
    customer_marketing_consent_set,
)
from loyalty_platform.customers.session import current_customer, customer_session_end, customer_session_start
from loyalty_platform.identification.joining import customer_join_finish, join_link_check, login_text_request
from loyalty_platform.identification.models import QrLoginSession
from loyalty_platform.identification.services import (
    invitation_accept,
    qr_card_session_identify,
    qr_login_session_confirm,
    qr_login_session_decline,
    qr_login_session_scan,
)
from loyalty_platform.orders.claims import receipt_claim_verify
from loyalty_platform.orders.selectors import order_by_external_id
from loyalty_platform.orders.services import order_claim
from loyalty_platform.profile.legal import money_left_refusal
from loyalty_platform.profile.selectors import dashboard_context, qr_login_shop_name
from loyalty_platform.profile.services import customer_details_set, customer_expiry_warnings_set
from loyalty_platform.profile.webapp import CACHE_KEY_HEADER, offline_cache_key
from loyalty_platform.realtime.publish import customer_channel
from loyalty_platform.realtime.signing import app_key
from loyalty_platform.rewards.models import RewardReception
from loyalty_platform.rewards.services import reward_take
from loyalty_platform.wallet.selectors import wallet_buttons


def _message(request: HttpRequest, error: ErrorType) -> HttpResponse:
    text = error.message or _("This could not be done. Please ask the staff.")
    return render(request, "profile/message.html", {"title": _("Sorry"), "text": text}, status=error.status)


def _too_many_sign_in_emails(request: HttpRequest, wait_seconds: int) -> HttpResponse:
    minutes = math.ceil(wait_seconds / 60)
    response = render(
        request,
        "profile/message.html",
        {
            "title": gettext("Too many sign-in emails"),
            "text": ngettext(
                "We sent enough sign-in links for now. Try again in %(minutes)d minute, "
                "or use the last link we sent.",
                "We sent enough sign-in links for now. Try again in %(minutes)d minutes, "
                "or use the last link we sent.",
                minutes,
            )
            % {"minutes": minutes},
        },
        status=429,
    )
    response["Retry-After"] = str(wait_seconds)
    return response


def customer_required(view):
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs):
        customer = current_customer(request)
        if customer is None:
            return redirect("/me/login?" + urlencode({"next": request.get_full_path()}))
        request.customer = customer
        return view(request, *args, **kwargs)

    return wrapper


def realtime_context(request: HttpRequest) -> dict:
    return {"realtime": {"key": app_key(), "channel": customer_channel(request.customer.pk)}}


@customer_required
def dashboard(request: HttpRequest) -> HttpResponse:
    response = render(
        request,
        "profile/dashboard.html",
        {
            **dashboard_context(request.customer),
            **realtime_context(request),
            **referral_invite_context(request, request.customer),
            "wallet": wallet_buttons(),
            # What the offline copy of this page says it shows (the organization's time).
            "updated_at": timezone.localtime(timezone.now(), organization_zone()),
        },
    )
    # The service worker keeps the last copy of this page for offline use, filed under the
    # customer (docs/decisions/0057-installable-profile.md).
    response[CACHE_KEY_HEADER] = offline_cache_key(request.customer)
    return response


@require_http_methods(["GET", "HEAD", "POST"])
def login(request: HttpRequest) -> HttpResponse:
    next_path = safe_next_path(request.GET.get("next") or request.POST.get("next") or "/me/")
    if request.method == "POST":
        email = request.POST.get("email", "").strip()[:254]
        # Counted for unknown addresses too, so being limited tells nothing about membership.
        if wait := login_email_wait(email=email, ip=client_ip(request)):
            return _too_many_sign_in_emails(request, wait)
        customer = customer_by_email(email) if email else None
        if customer is not None:
            login_link_send(customer=customer, next_path=next_path)
        # The same answer whether or not the address is known.
        return render(
            request,
            "profile/message.html",
            {
                "title": gettext("Check your email"),
                "text": gettext(
                    "If this address belongs to a member, a sign-in link is on its way. "
                    "It works once, for 15 minutes."
                ),
            },
        )
    return render(request, "profile/login.html", {"next": next_path, "sms": sms_configured()})


@require_POST
def login_by_phone(request: HttpRequest) -> HttpResponse:
    """A member without an email (who joined by phone) asks for a sign-in link by text; the
    same answer whether or not the number is a member's."""
    try:
        wait = login_text_request(phone=request.POST.get("phone", "")[:32], ip=client_ip(request))
    except DomainError as error:
        return _message(request, error.error)
    if wait:
        return _too_many_sign_in_emails(request, wait)
    return render(
        request,
        "profile/message.html",
        {
            "title": gettext("Check your messages"),
            "text": gettext(
                "If this number belongs to a member without an email, a sign-in link is on its way "
                "by text message. It works once, for 15 minutes."
            ),
        },
    )


@require_http_methods(["GET", "HEAD", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    next_path = safe_next_path(request.GET.get("next") or request.POST.get("next") or "/me/")
    if request.organization.is_suspended:
        # Members keep signing in and seeing their balances; nobody new joins.
        return _message(request, ORGANIZATION_SUSPENDED)
    errors = {}
    values = {"email": "", "name": "", "phone": ""}
    if request.method == "POST":
        values = {key: request.POST.get(key, "").strip()[:254] for key in values}
        if wait := login_email_wait(email=values["email"], ip=client_ip(request)):
            return _too_many_sign_in_emails(request, wait)
        try:
            customer, is_new = customer_enroll(
                email=values["email"],
                name=values["name"][:150],
                phone=values["phone"],
                consent_terms=request.POST.get("consent_terms") == "on",
                consent_privacy=request.POST.get("consent_privacy") == "on",
                consent_marketing=request.POST.get("consent_marketing") == "on",
                consent_sms=request.POST.get("consent_sms") == "on",
                source="profile",
            )
        except DomainError as error:
            errors[error.code] = True
        else:
            referral_after_signup(request, customer=customer, is_new=is_new)
            login_link_send(customer=customer, next_path=next_path)
            return render(
                request,
                "profile/message.html",
                {
                    "title": gettext("Check your email"),
                    "text": gettext("We sent you a sign-in link. Open it on this device to continue."),
                },
            )
    return render(
        request,
        "profile/signup.html",
        {"next": next_path, "errors": errors, "values": values},
        status=422 if errors else 200,
    )


# The consents and fields a POST of the page may carry; every other field is ignored.
FINISH_CONSENTS = ("consent_terms", "consent_privacy", "consent_marketing", "consent_sms")


@require_http_methods(["GET", "HEAD", "POST"])
def finish_joining(request: HttpRequest, token: str) -> HttpResponse:
    """The page of the link texted to a member a till enrolled by phone: opening it changes
    nothing (message previews open links too); the POST consents and finishes joining, once,
    and signs the new member in (docs/decisions/0052-joining-by-phone.md)."""
    token = token[:100]
    try:
        link = join_link_check(token=token)
    except DomainError as error:
        return _message(request, error.error)
    errors_found: dict[str, bool] = {}
    values = {"name": "", "email": ""}
    if request.method == "POST":
        values = {
            "name": request.POST.get("name", "").strip()[:150],
            "email": request.POST.get("email", "")[:254],
        }
        try:
            customer = customer_join_finish(
                token=token,
                **{name: request.POST.get(name) == "on" for name in FINISH_CONSENTS},
                **values,
            )
        except DomainError as error:
            if error.code not in FINISH_FORM_ERRORS:
                return _message(request, error.error)
            errors_found[error.code] = True
        else:
            customer_session_start(request, customer)
            messages.success(request, gettext("Welcome! You're a member now."))
            return redirect("/me/")
    return render(
        request,
        "profile/finish_joining.html",
        {"customer": None, "pending": link.customer, "values": values, "errors": errors_found},
        status=422 if errors_found else 200,
    )


# Refusals the page shows next to its fields; any other (the link spent meanwhile) is a page.
FINISH_FORM_ERRORS = {"consent_terms_required", "consent_privacy_required", "invalid_email", "email_taken"}


def login_with_link(request: HttpRequest, token: str) -> HttpResponse:
    try:
        link = login_link_consume(token=token)
    except DomainError as error:
        return _message(request, error.error)
    customer_session_start(request, link.customer)
    referral_after_sign_in(request, customer=link.customer)
    return redirect(link.next_path or "/me/")


@require_POST
def logout(request: HttpRequest) -> HttpResponse:
    customer_session_end(request)
    return redirect("/me/login")


@customer_required
@require_http_methods(["GET", "HEAD", "POST"])
def export(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":  # GET and HEAD show the page; only the POST exports
        return render(
            request,
            "profile/confirm.html",
            {
                "title": gettext("Download your data"),
                "text": gettext(
                    "A JSON file with everything we hold about you: "
                    "profile, consents, cards, history, coupons."
                ),
                "button": gettext("Download"),
            },
        )
    response = HttpResponse(
        json.dumps(customer_export(customer=request.customer), indent=2), content_type="application/json"
    )
    response["Content-Disposition"] = f'attachment; filename="my-data-{timezone.now():%Y%m%d}.json"'
    return response


@customer_required
@require_POST
def birth_date(request: HttpRequest) -> HttpResponse:
    """Set or clear (an empty field) the customer's own birth date; a bad one changes nothing."""
    try:
        customer_birth_date_set(customer=request.customer, birth_date=request.POST.get("birth_date", "")[:20])
    except DomainError as error:
        return _message(request, error.error)
    return redirect("/me/#birthday-title")


@require_POST
def language(request: HttpRequest) -> HttpResponse:
    """Choose the language of the pages (a cookie; for a signed-in customer also their
    emails, Customer.language); one we do not have is refused and changes nothing."""
    chosen = request.POST.get("language", "")
    if chosen not in SUPPORTED:
        text = gettext("Please choose one of the languages offered.")
        return render(request, "profile/message.html", {"title": gettext("Sorry"), "text": text}, status=422)
    customer = current_customer(request)
    if customer is not None:
        customer_language_set(customer=customer, language=chosen)
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=False):
        target = "/me/"
    return _language_applied(request, redirect(target), chosen)


def _language_applied(request: HttpRequest, response: HttpResponse, chosen: str) -> HttpResponse:
    """The pages follow `chosen` from the next request on ("": the browser's language again)."""
    if not chosen:
        request.session.pop(SESSION_LANGUAGE_KEY, None)
        response.delete_cookie(settings.LANGUAGE_COOKIE_NAME, samesite="Lax")
        return response
    if current_customer(request) is not None:
        request.session[SESSION_LANGUAGE_KEY] = chosen
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        chosen,
        max_age=365 * 24 * 3600,
        samesite="Lax",
        secure=request.is_secure(),
        httponly=True,
    )
    return response


# --- My details: name, birth date, language, phone, marketing consent per channel -------------

DETAILS_FORM_ERRORS = {"name_invalid", "birth_date_invalid", "language_invalid"}
PHONE_FORM_ERRORS = {
    "phone_invalid",
    "phone_unchanged",
    "phone_required",
    "phone_taken",
    "phone_code_too_many",
}
CODE_FORM_ERRORS = {"phone_code_invalid", "phone_code_expired", "phone_change_not_found", "phone_taken"}
CONSENT_CHOICES = {"give": True, "withdraw": False}


def _details_page(
    request: HttpRequest,
    *,
    errors_found: dict | None = None,
    values: dict | None = None,
    status: int = 200,
) -> HttpResponse:
    customer = Customer.objects.get(pk=request.customer.pk)  # as saved, whatever a refusal left
    channels = [
        {
            "channel": channel,
            "given_at": getattr(customer, field),
            "needs_phone": channel == ConsentEvent.Channel.SMS and not customer.phone,
        }
        for channel, field in (
            (ConsentEvent.Channel.EMAIL, "consent_marketing_at"),
            (ConsentEvent.Channel.SMS, "consent_sms_at"),
        )
        # A member without an email sees the email channel only to withdraw a consent given.
        if channel != ConsentEvent.Channel.EMAIL or customer.email or customer.consent_marketing_at
    ]
    context = {
        "customer": customer,
        "values": values
        or {
            "name": customer.name,
            "birth_date": customer.birth_date.isoformat() if customer.birth_date else "",
            "language": customer.language,
            "phone": "",
        },
        "errors": errors_found or {},
        "phone_error": bool(set(errors_found or {}) & PHONE_FORM_ERRORS),
        "code_error": next(
            (
                text
                for code, text in (errors_found or {}).items()
                if code in CODE_FORM_ERRORS - {"phone_taken"}
            ),
            "",
        ),
        "languages": settings.LANGUAGES,
        "verified_by_code": phone_verified_by_code(),
        "waiting": phone_change_waiting(customer),
        "channels": channels,
        "consent_history": consent_history(customer, limit=100),
    }
    return render(request, "profile/details.html", context, status=status)


def _form_refusal(request: HttpRequest, error: DomainError, *, values: dict | None = None) -> HttpResponse:
    """The page again, the refusal next to its field, the input kept: 422 for what was wrong
    with the input, 429 (Retry-After) for too many codes."""
    status = 429 if error.status == 429 else 422
    response = _details_page(
        request, errors_found={error.code: error.error.message}, values=values, status=status
    )
    if "retry_after" in error.extra:
        response["Retry-After"] = str(error.extra["retry_after"])
    return response


@customer_required
@require_http_methods(["GET", "HEAD", "POST"])
def details(request: HttpRequest) -> HttpResponse:
    """The customer's own name, birth date and language; a refusal changes nothing."""
    if request.method != "POST":
        return _details_page(request)
    values = {
        "name": request.POST.get("name", "")[:1000],
        "birth_date": request.POST.get("birth_date", "")[:20],
        "language": request.POST.get("language", "")[:20],
        "phone": "",
    }
    try:
        customer_details_set(
            customer=request.customer,
            name=values["name"],
            birth_date=values["birth_date"],
            language=values["language"],
        )
    except DomainError as error:
        if error.code not in DETAILS_FORM_ERRORS:
            return _message(request, error.error)
        return _form_refusal(request, error, values=values)
    if values["language"]:
        translation.activate(values["language"])
    messages.success(request, gettext("Saved: your details."))
    return _language_applied(request, redirect("/me/details"), values["language"])


@customer_required
@require_POST
def details_phone(request: HttpRequest) -> HttpResponse:
    """A new phone number: texted a code to confirm it where texts can be sent, else saved."""
    phone = request.POST.get("phone", "")[:32]
    try:
        change = customer_phone_change_request(
            customer=request.customer, phone=phone, language=translation.get_language() or ""
        )
    except DomainError as error:
        if error.code not in PHONE_FORM_ERRORS:
            return _message(request, error.error)
        return _form_refusal(request, error, values=None)
    if change is not None:
        messages.info(
            request, gettext("We texted a code to %(phone)s. Enter it below.") % {"phone": change.phone}
        )
        return redirect("/me/details#phone-code")
    if request.customer.phone:
        messages.success(request, gettext("Saved: your phone number."))
    else:
        messages.success(request, gettext("Your phone number is removed."))
    return redirect("/me/details#phone-title")


@customer_required
@require_POST
def details_phone_confirm(request: HttpRequest) -> HttpResponse:
    """The texted code: the new number is the customer's once it matches."""
    try:
        customer_phone_change_confirm(customer=request.customer, code=request.POST.get("code", "")[:20])
    except DomainError as error:
        if error.code not in CODE_FORM_ERRORS:
            return _message(request, error.error)
        return _form_refusal(request, error)
    messages.success(request, gettext("Saved: your phone number is confirmed."))
    return redirect("/me/details#phone-title")


@customer_required
@require_POST
def consent(request: HttpRequest) -> HttpResponse:
    """Give or withdraw marketing consent on one channel, in one click."""
    given = CONSENT_CHOICES.get(request.POST.get("action", ""))
    channel = request.POST.get("channel", "")[:10]
    try:
        if given is None:
            raise errors.CONSENT_CHANNEL_INVALID(field="action")
        customer_marketing_consent_set(
            customer=request.customer, channel=channel, given=given, source=ConsentEvent.Source.PROFILE
        )
    except DomainError as error:
        if error.code not in {"consent_channel_invalid", "consent_sms_phone_required"}:
            return _message(request, error.error)
        return _form_refusal(request, error)
    messages.success(request, CONSENT_SAVED[(channel, given)])
    return redirect("/me/details#consent-title")


CONSENT_SAVED = {
    ("email", True): _("Saved: we may email you our offers."),
    ("email", False): _("Saved: we will not email you offers any more."),
    ("sms", True): _("Saved: we may text you our offers."),
    ("sms", False): _("Saved: we will not text you offers any more."),
}


# What the customer reads when taking a reward is refused (the catalog's own messages are
# worded for tills and other callers too).
REWARD_REFUSALS = {
    errors.REWARD_NOT_FOUND: _("This reward is not in the catalogue any more. Nothing was taken."),
    errors.PRE_REDEEM_NOT_ALLOWED: _("This reward cannot be taken in advance: ask for it at the till."),
    errors.INSUFFICIENT_BALANCE: _("You do not have enough points for this reward yet. Nothing was taken."),
    errors.CUSTOMER_BLOCKED: _("Your account is blocked, so no reward can be taken. Please ask the staff."),
    errors.CARD_BLOCKED: _("Your card is blocked, so no reward can be taken. Please ask the staff."),
    errors.PROGRAM_NOT_FOUND: errors.PROGRAM_NOT_FOUND.message,
    errors.ORGANIZATION_SUSPENDED: _(
        "The programme is paused for now, so no reward can be taken. Nothing was taken."
    ),
}
REWARD_FORM_INVALID = _("This form is not valid any more. Please reload the page and try again.")


def _refusal(request: HttpRequest, error: ErrorType, text) -> HttpResponse:
    context = {"title": gettext("Sorry"), "text": text, "error_code": error.code}
    return render(request, "profile/message.html", context, status=error.status)


def _reward_form(request: HttpRequest) -> tuple[int, uuid.UUID]:
    """The reward's id and the form's idempotency key, or reward_invalid / key_invalid."""
    raw_reward = request.POST.get("reward", "")
    if not (raw_reward.isascii() and raw_reward.isdigit() and len(raw_reward) < 19):
        raise errors.field_error("reward", "invalid")(field="reward")
    try:
        key = uuid.UUID(request.POST.get("key", "")[:64])
    except ValueError:
        raise errors.field_error("key", "invalid")(field="key") from None
    return int(raw_reward), key


@customer_required
@require_POST
def take_reward(request: HttpRequest) -> HttpResponse:
    """The customer takes a reward with their points: it waits for them at the till. Once per
    form (its hidden key): a double submit or a retry shows the same reward, taken once."""
    try:
        reward_id, key = _reward_form(request)
    except DomainError as error:
        return _refusal(request, error.error, REWARD_FORM_INVALID)
    try:
        taken = reward_take(customer=request.customer, reward_id=reward_id, form_key=key)
    except DomainError as error:
        text = REWARD_REFUSALS.get(error.error) or error.error.message or gettext("This could not be done.")
        return _refusal(request, error.error, text)
    name = taken.reception.reward.name
    if taken.again and taken.reception.status == RewardReception.Status.COLLECTABLE:
        text = gettext("You took %(reward)s already: it is waiting for you at the till.")
        messages.info(request, text % {"reward": name})
    elif taken.again:  # collected, reversed or expired since
        messages.info(request, gettext("You took %(reward)s already.") % {"reward": name})
    else:
        messages.success(
            request,
            gettext("%(reward)s is yours: show it at the till to collect it.") % {"reward": name},
        )
    return redirect("/me/#to-collect-title")


EXPIRY_WARNING_CHOICES = {"on": True, "off": False}


@customer_required
@require_POST
def expiry_warnings(request: HttpRequest) -> HttpResponse:
    """Turn the emails before points expire on or off; anything but "on" or "off" is refused
    and changes nothing."""
    enabled = EXPIRY_WARNING_CHOICES.get(request.POST.get("points_expiry_warnings", ""))
    if enabled is None:
        text = gettext("Please choose whether we should email you before your points expire.")
        return render(request, "profile/message.html", {"title": gettext("Sorry"), "text": text}, status=422)
    customer_expiry_warnings_set(customer=request.customer, enabled=enabled)
    if enabled:
        messages.success(request, gettext("Saved: we will email you before your points expire."))
    else:
        messages.success(request, gettext("Saved: we will not email you before your points expire."))
    return redirect("/me/")


@customer_required
@require_http_methods(["GET", "HEAD", "POST"])
def delete_account(request: HttpRequest) -> HttpResponse:
    if request.method == "GET" or request.POST.get("confirm") != "DELETE":
        return render(
            request,
            "profile/confirm.html",
            {
                "title": gettext("Delete your account"),
                # DELETE is the word typed to confirm; it stays the same in every language.
                "text": gettext(
                    "Your personal data is erased and your points, stamps and coupons are lost. "
                    "Type %(word)s to confirm."
                )
                % {"word": "DELETE"},
                "button": gettext("Delete my account"),
                "confirm_word": "DELETE",
                "error": request.method == "POST",
            },
            status=422 if request.method == "POST" else 200,
        )
    try:
        customer_erase(customer=request.customer)
    except DomainError as error:
        if error.error is errors.CUSTOMER_HAS_MONEY:
            return money_left_refusal(request, error)
        return _message(request, error.error)
    customer_session_end(request)
    return render(
        request,
        "profile/message.html",
        {"title": gettext("Account deleted"), "text": gettext("Your account is gone.")},
    )


@customer_required
def identify(request: HttpRequest, session_id: str) -> HttpResponse:
    try:
        session = qr_card_session_identify(session_id=session_id[:32], customer=request.customer)
    except DomainError as error:
        return _message(request, error.error)
    if session.device_name:
        text = gettext("The till %(device)s now knows it's you.") % {"device": session.device_name}
    else:
        text = gettext("The till now knows it's you.")
    return render(
        request,
        "profile/message.html",
        {"title": gettext("You're identified"), "text": text, "identified": True},
    )


QR_LOGIN_ANSWERS = {"confirm": qr_login_session_confirm, "decline": qr_login_session_decline}


@customer_required
@require_http_methods(["GET", "HEAD", "POST"])
def qr_login(request: HttpRequest, session_id: str) -> HttpResponse:
    """An e-shop's screen asks to sign in as the customer: opening the page shows who asks
    (the shop hears that it was scanned); the customer's POST confirms or declines."""
    answer = QR_LOGIN_ANSWERS.get(request.POST.get("action", "")) if request.method == "POST" else None
    try:
        if answer is not None:
            session = answer(session_id=session_id[:32], customer=request.customer)
        else:
            session = qr_login_session_scan(session_id=session_id[:32], customer=request.customer)
    except DomainError as error:
        text = error.error.message or gettext("This could not be done.")
        context = {"state": "refused", "text": text, "customer": request.customer}
        return render(request, "profile/qr_login.html", context, status=error.error.status)
    state = {
        QrLoginSession.Status.AUTHENTICATED: "confirmed",
        QrLoginSession.Status.CANCELLED: "declined",
    }.get(session.status, "ask")
    context = {
        "state": state,
        "session": session,
        "device": session.device_name,
        "shop_name": qr_login_shop_name(session),
        "customer": request.customer,
    }
    # A POST without a known answer changed nothing: the question again.
    status = 422 if request.method == "POST" and answer is None else 200
    return render(request, "profile/qr_login.html", context, status=status)


def join(request: HttpRequest, invitation_id: str) -> HttpResponse:
    customer = current_customer(request)
    if customer is None:
        return redirect("/me/signup?" + urlencode({"next": request.get_full_path()}))
    try:
        invitation_accept(invitation_id=invitation_id[:32], customer=customer)
    except DomainError as error:
        return _message(request, error.error)
    return render(
        request,
        "profile/message.html",
        {"title": gettext("Welcome!"), "text": gettext("You're a member now.")},
    )


@require_http_methods(["GET", "HEAD", "POST"])
def claim(request: HttpRequest) -> HttpResponse:
    """A receipt's claim link: the order's points go to the signed-in customer, once."""
    external_id = request.GET.get("o", "")[:128]
    try:
        receipt_claim_verify(
            organization=connection.tenant,
            external_id=external_id,
            expires=request.GET.get("e", "")[:12],
            signature=request.GET.get("s", "")[:64],
        )
    except DomainError as error:
        return _message(request, error.error)
    customer = current_customer(request)
    if customer is None:
        return redirect("/me/signup?" + urlencode({"next": request.get_full_path()}))
    order = order_by_external_id(external_id)
    if order is None:
        return _message(request, errors.ORDER_NOT_FOUND)
    if order.customer_id is not None:
        return _message(request, errors.CLAIM_USED)
    points = order.points_earned - order.points_returned
    if request.method == "POST":
        try:
            order_claim(order_external_id=external_id, customer=customer)
        except DomainError as error:
            return _message(request, error.error)
        return render(
            request,
            "profile/message.html",
            {
                "title": gettext("Points added"),
                "text": ngettext(
                    "%(points)d point from your receipt is on your card now.",
                    "%(points)d points from your receipt are on your card now.",
                    points,
                )
                % {"points": points},
            },
        )
    return render(
        request,
        "profile/confirm.html",
        {
            "title": gettext("Add your receipt's points"),
            "text": ngettext(
                "Your purchase of %(total)s %(currency)s on %(day)s earned %(points)d point.",
                "Your purchase of %(total)s %(currency)s on %(day)s earned %(points)d points.",
                points,
            )
            % {
                "total": money_figure(order.total, order.currency),
                "currency": order.currency,
                "day": day_display(timezone.localtime(order.created_at)),
                "points": points,
            },
            "button": ngettext("Add %(points)d point to my card", "Add %(points)d points to my card", points)
            % {"points": points},
        },
    )
