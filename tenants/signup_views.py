"""The platform host's sign-up pages (tenants.signup does the work): the form, the live
address check, the confirmation link's page and the platform's terms."""

from django import forms
from django.conf import settings
from django.contrib.auth.password_validation import password_validators_help_texts, validate_password
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_safe

from loyalty_platform.core import throttle
from tenants import signup
from tenants.handoff import handoff_issue
from tenants.models import PortalHandoff
from tenants.platform import base_url, platform_hostname, platform_port_suffix
from tenants.services import organization_primary_hostname

HONEYPOT_FIELD = "website"
SLUG_QUERY_MAX = 100


class SignupForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Business name"), max_length=signup.NAME_MAX_LENGTH)
    slug = forms.CharField(label=gettext_lazy("Address of your loyalty pages"), max_length=SLUG_QUERY_MAX)
    email = forms.EmailField(label=gettext_lazy("Your email"))
    password = forms.CharField(label=gettext_lazy("Password"), strip=False, widget=forms.PasswordInput)
    country = forms.ChoiceField(label=gettext_lazy("Country"))
    terms = forms.BooleanField(label=gettext_lazy("I accept the platform's terms"))
    sample_data = forms.BooleanField(label=gettext_lazy("Start with sample data"), required=False)
    timezone = forms.CharField(required=False, max_length=64)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["country"].choices = [
            ("", _("Choose your country")),
            *signup.country_choices(get_language()),
        ]
        self.fields["terms"].error_messages["required"] = _("Please accept the terms.")

    def clean_slug(self) -> str:
        slug = signup.slug_normalized(self.cleaned_data["slug"])
        if problem := signup.slug_problem(slug):
            raise forms.ValidationError(signup.SLUG_MESSAGES[problem], code=problem)
        return slug

    def clean_password(self) -> str:
        password = self.cleaned_data["password"]
        validate_password(password)
        return password


def _page(
    request: HttpRequest, template: str, context: dict | None = None, status: int = 200
) -> HttpResponse:
    return render(request, f"signup/{template}", context or {}, status=status)


def _message(request: HttpRequest, *, title: str, text: str, status: int, code: str, **extra) -> HttpResponse:
    context = {"title": title, "text": text, "code": code, **extra}
    return _page(request, "message.html", context, status=status)


def _too_many(request: HttpRequest, wait: int) -> HttpResponse:
    response = _message(
        request,
        title=_("Too many sign-ups"),
        text=_("Too many sign-ups came from here. Please try again in %(minutes)d minutes.")
        % {"minutes": max(1, (wait + 59) // 60)},
        status=429,
        code="rate_limited",
    )
    response["Retry-After"] = str(wait)
    return response


def _signup_wait(request: HttpRequest, email: str) -> int | None:
    """Count an attempt that would send an email; the seconds to wait when this IP or the
    address's domain asked too often, else None. Both are counted, refused or not."""
    wait_ip = throttle.attempt(throttle.limit("signup_ip"), throttle.client_ip(request))
    wait_domain = None
    if domain := signup.email_domain(email):
        wait_domain = throttle.attempt(throttle.limit("signup_email_domain"), throttle.digest(domain))
    return max(wait_ip or 0, wait_domain or 0) or None


def _sent(request: HttpRequest, email: str) -> HttpResponse:
    return _page(request, "sent.html", {"email": email})


def _form_context(form: SignupForm) -> dict:
    return {
        "form": form,
        "host_suffix": "." + platform_hostname() + platform_port_suffix(),
        "password_help": password_validators_help_texts(),
    }


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def signup_page(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return _page(
            request, "signup.html", _form_context(SignupForm(initial={"slug": request.GET.get("slug", "")}))
        )
    email = request.POST.get("email", "")[:254]
    if request.POST.get(HONEYPOT_FIELD):
        # A robot filled the field people never see: it gets the page people get, and nothing.
        if wait := _signup_wait(request, email):
            return _too_many(request, wait)
        return _sent(request, email)
    form = SignupForm(request.POST)
    if not form.is_valid():
        return _page(request, "signup.html", _form_context(form), status=400)
    data = form.cleaned_data
    if wait := _signup_wait(request, data["email"]):
        return _too_many(request, wait)
    try:
        signup.signup_request_create(
            name=data["name"],
            slug=data["slug"],
            email=data["email"],
            password=data["password"],
            country=data["country"],
            sample_data=data["sample_data"],
            timezone_hint=data["timezone"],
            language=get_language(),
        )
    except signup.SignupError as error:
        form.add_error(None, str(error))
        return _page(request, "signup.html", _form_context(form), status=400)
    return _sent(request, data["email"])


@never_cache
@require_safe
def signup_address(request: HttpRequest) -> JsonResponse:
    """Is `<slug>.<platform host>` free for a new sign-up? 200 with available true/false for a
    well-formed slug, 400 for one that can never be an address, 429 when asked too often."""
    if wait := throttle.attempt(throttle.limit("signup_address_ip"), throttle.client_ip(request)):
        response = JsonResponse({"error": "rate_limited", "retry_after": wait}, status=429)
        response["Retry-After"] = str(wait)
        return response
    raw = request.GET.get("slug", "")
    slug = signup.slug_normalized(raw)[:SLUG_QUERY_MAX]
    problem = signup.slug_problem(slug)
    body = {"slug": slug, "address": signup.slug_address(slug) if slug else "", "available": problem is None}
    if problem is None:
        body["message"] = _("%(address)s is available.") % {"address": body["address"]}
        return JsonResponse(body)
    body.update(error=problem, message=str(signup.SLUG_MESSAGES[problem]))
    return JsonResponse(body, status=400 if problem in signup.SLUG_FORMAT_ERRORS else 200)


@never_cache
@require_http_methods(["POST"])
def signup_resend(request: HttpRequest) -> HttpResponse:
    """Send the link again (a new one). The page is the same whether a sign-up was pending
    or not, so it tells no one which addresses signed up."""
    email = request.POST.get("email", "")[:254]
    if not signup.email_domain(email):
        return _message(
            request,
            title=_("Email address missing"),
            text=_("Give the email address you signed up with."),
            status=400,
            code="email_invalid",
        )
    if wait := _signup_wait(request, email):
        return _too_many(request, wait)
    signup.signup_link_resend(email=email, language=get_language())
    return _sent(request, email)


def _link_refused(request: HttpRequest, token: str, error: signup.SignupError) -> HttpResponse:
    texts = {
        "signup_link_invalid": (
            _("Link not valid"),
            _(
                "This confirmation link is not valid. Check that you opened the whole link from the "
                "email, or sign up again."
            ),
        ),
        "signup_link_expired": (
            _("Link expired"),
            _("This confirmation link has expired. Please sign up again."),
        ),
        "signup_link_used": (
            _("Already confirmed"),
            _("This sign-up is confirmed and its organization exists. Sign in to its portal."),
        ),
    }
    title, text = texts.get(error.code, (_("Sign-up not possible"), str(error)))
    login_url = ""
    if error.code == "signup_link_used":
        used = signup.signup_link_state(token=token)
        if used is not None and used.organization is not None:
            login_url = (
                base_url(organization_primary_hostname(organization=used.organization)) + "/admin/login/"
            )
    return _message(
        request, title=title, text=text, status=error.status, code=error.code, login_url=login_url
    )


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def signup_verify(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows what will be created and a button; only the POST creates it, so a mail
    scanner that opens links creates nothing."""
    try:
        pending = signup.signup_find(token=token)
    except signup.SignupError as error:
        return _link_refused(request, token, error)
    if request.method != "POST":
        problem = signup.slug_problem(pending.slug)
        return _confirm_page(request, pending, problem, status=409 if problem else 200)
    new_slug = request.POST.get("slug", "")[:SLUG_QUERY_MAX]
    try:
        confirmed = signup.signup_confirm(token=token, slug=new_slug)
    except signup.SignupError as error:
        if error.code.startswith("slug_"):
            if new_slug:
                pending.slug = signup.slug_normalized(new_slug)
            return _confirm_page(request, pending, error.code, status=409)
        return _link_refused(request, token, error)
    url = handoff_issue(
        organization=confirmed.organization, purpose=PortalHandoff.Purpose.SIGNUP, staff_email=confirmed.email
    )
    return HttpResponseRedirect(url)


def _confirm_page(request: HttpRequest, pending, problem: str | None, status: int) -> HttpResponse:
    context = {
        "pending": pending,
        "address": signup.slug_address(pending.slug),
        "slug_error": signup.SLUG_MESSAGES[problem] if problem else "",
        "slug_error_code": problem or "",
        "host_suffix": "." + platform_hostname() + platform_port_suffix(),
    }
    response = _page(request, "confirm.html", context, status=status)
    # The confirmation redirects to the new organization's host; a browser holds a form's
    # redirect to the form-action policy too, which is 'self' (the platform host) elsewhere.
    response._csp_update = {"form-action": [f"{settings.PLATFORM_SCHEME}://*.{settings.PLATFORM_HOST}"]}
    return response


@require_safe
def terms(request: HttpRequest) -> HttpResponse:
    return _page(request, "terms.html")
