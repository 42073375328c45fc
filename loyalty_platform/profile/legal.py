"""The organization's terms and privacy pages on its host, open to everyone (no sign-in):
the current version with its date, or an earlier published version by ?version=<id>
(docs/decisions/0056-legal-pages-and-deletion-with-money.md)."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_safe

from loyalty_platform.branding.models import LegalVersion
from loyalty_platform.branding.selectors import contact_email, legal_page, legal_versions
from loyalty_platform.core.errors import DomainError
from loyalty_platform.core.text import ascii_digits
from loyalty_platform.core.views import not_found
from loyalty_platform.customers.session import current_customer
from loyalty_platform.stored_value.money_left import money_left_explanation, money_left_lines

TITLES = {LegalVersion.Kind.TERMS: _("Terms"), LegalVersion.Kind.PRIVACY: _("Privacy policy")}


def _legal(request: HttpRequest, kind: str) -> HttpResponse:
    raw_version = request.GET.get("version")
    version_id = None
    if raw_version is not None:
        if not (ascii_digits(raw_version) and len(raw_version) < 19):
            return not_found(request)
        version_id = int(raw_version)
    page = legal_page(kind, version_id=version_id)
    if page is None:
        return not_found(request)
    versions = legal_versions(kind)
    context = {
        "title": TITLES[kind],
        "kind": kind,
        "page": page,
        "is_current": page.is_default or page.version == versions[0],
        "current_url": f"/{kind}",
        "earlier": [version for version in versions if version != page.version],
        "contact_email": contact_email(),
        "customer": current_customer(request),
    }
    return render(request, "profile/legal.html", context)


@require_safe
def terms(request: HttpRequest) -> HttpResponse:
    return _legal(request, LegalVersion.Kind.TERMS)


@require_safe
def privacy(request: HttpRequest) -> HttpResponse:
    return _legal(request, LegalVersion.Kind.PRIVACY)


def money_left_refusal(request: HttpRequest, error: DomainError) -> HttpResponse:
    """The deletion's refusal while money is left (customer_has_money): how much, and how to
    get it back."""
    contact = contact_email()
    context = {
        "title": _("Your account still holds money"),
        "error_code": error.code,
        "lines": money_left_lines(error.extra["money_left"]),
        # The address is a link of its own below the sentence.
        "explanation": money_left_explanation(organization=request.organization.name, contact_email=None),
        "contact_email": contact,
        "customer": request.customer,
    }
    return render(request, "profile/money_left.html", context, status=error.status)
