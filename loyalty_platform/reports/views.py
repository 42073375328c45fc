from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _

from loyalty_platform.core.admin_sites import merchant_admin_site
from loyalty_platform.core.money import currency_exponent
from loyalty_platform.core.replica import replica_reads
from loyalty_platform.onboarding.selectors import CHECKLIST_PERMISSION, onboarding_checklist
from loyalty_platform.reports.forms import PeriodForm
from loyalty_platform.reports.selectors import dashboard_figures

DASHBOARD_PERMISSION = "accounts.view_dashboard"


def dashboard_view(request: HttpRequest) -> HttpResponse:
    """The portal's landing page for staff who may see it (reports/admin.py); the site's index
    view has already checked the sign-in."""
    if not request.user.has_perm(DASHBOARD_PERMISSION):
        raise PermissionDenied
    form = PeriodForm(request.GET or None)
    start, end = form.chosen_period()
    with replica_reads():
        figures = dashboard_figures(start=start, end=end)
    series = {
        "labels": [day.day.isoformat() for day in figures.daily],
        "issued": [day.points_issued for day in figures.daily],
        "redeemed": [day.points_redeemed for day in figures.daily],
        "issuedLabel": _("Points issued"),
        "redeemedLabel": _("Points redeemed"),
    }
    checklist = None
    if request.user.has_perm(CHECKLIST_PERMISSION):
        checklist = onboarding_checklist(organization=request.organization, user=request.user)
    context = {
        **merchant_admin_site.each_context(request),
        "onboarding": checklist if checklist is not None and checklist.visible else None,
        "title": _("Dashboard"),
        "form": form,
        "figures": figures,
        "series": series,
        "decimals": currency_exponent(figures.currency),
        "redemption_percent": None if figures.redemption_rate is None else figures.redemption_rate * 100,
    }
    return TemplateResponse(request, "reports/dashboard.html", context)
