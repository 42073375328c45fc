"""The portal pages of onboarding: share the join link (page, QR poster, "copied" record) and
dismiss the dashboard's checklist. Each checks its permission before anything else, so a
staff member without it gets 403 whatever the method."""

import base64

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext as _

from loyalty_platform.accounts.roles import VIEW_DASHBOARD
from loyalty_platform.core.admin_sites import merchant_admin_site
from loyalty_platform.core.errors import METHOD_NOT_ALLOWED
from loyalty_platform.core.qr import qr_png
from loyalty_platform.onboarding.poster import join_poster_pdf
from loyalty_platform.onboarding.selectors import CHECKLIST_PERMISSION, join_url
from loyalty_platform.onboarding.services import checklist_dismiss, join_link_shared

# Who may share the join link: whoever sees the dashboard (owners, managers, marketing).
SHARE_PERMISSION = VIEW_DASHBOARD


def _require(request: HttpRequest, permission: str) -> None:
    if not request.user.has_perm(permission):
        raise PermissionDenied


def _method_not_allowed(allowed: str) -> JsonResponse:
    response = JsonResponse({"error": METHOD_NOT_ALLOWED.code}, status=METHOD_NOT_ALLOWED.status)
    response["Allow"] = allowed
    return response


def share_page(request: HttpRequest) -> HttpResponse:
    _require(request, SHARE_PERMISSION)
    url = join_url(organization=request.organization)
    qr = base64.b64encode(qr_png(url, box_size=8)).decode("ascii")
    context = {
        **merchant_admin_site.each_context(request),
        "title": _("Share your program"),
        "join_url": url,
        "qr_data_uri": f"data:image/png;base64,{qr}",
        "share_config": {
            "recordUrl": reverse("merchant_admin:onboarding_link_copied"),
            "copied": _("Copied. Paste the link wherever your customers will see it."),
            "copyFailed": _("The browser did not let us copy: select the link and copy it yourself."),
        },
    }
    return TemplateResponse(request, "onboarding/share.html", context)


def poster(request: HttpRequest) -> HttpResponse:
    """The poster as PDF. The share page's download button POSTs, which records the share
    (the checklist's step); a GET only reads, so a prefetch or an opened link changes nothing."""
    _require(request, SHARE_PERMISSION)
    if request.method not in ("GET", "POST"):
        return _method_not_allowed("GET, POST")
    organization = request.organization
    pdf = join_poster_pdf(organization=organization, join_url=join_url(organization=organization))
    if request.method == "POST":
        join_link_shared(actor=request.user, how="poster")
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="join-poster-{organization.slug}.pdf"'
    return response


def link_copied(request: HttpRequest) -> HttpResponse:
    _require(request, SHARE_PERMISSION)
    if request.method != "POST":
        return _method_not_allowed("POST")
    state = join_link_shared(actor=request.user, how="link")
    if "application/json" in request.headers.get("Accept", ""):
        return JsonResponse({"data": {"shared_at": state.join_link_shared_at.isoformat()}})
    # The form without its script: nothing was copied, but the link is on the page to copy.
    return redirect("merchant_admin:onboarding_share")


def dismiss(request: HttpRequest) -> HttpResponse:
    _require(request, CHECKLIST_PERMISSION)
    if request.method != "POST":
        return _method_not_allowed("POST")
    checklist_dismiss(actor=request.user)
    messages.success(request, _("The getting-started checklist is hidden for everyone in your organization."))
    return redirect("merchant_admin:index")
