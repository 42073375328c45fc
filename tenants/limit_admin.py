"""Plan limits in the merchant portal: on the add pages, the form says so before anything is
tried, and a creation that lost a race for the last place gets the same sentence instead of
an error page; the owner's "Plan and usage" page shows the plan, each limit with its use,
the month's usage and the organization's custom domains."""

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _

from loyalty_platform.core import errors
from loyalty_platform.core.admin_sites import merchant_admin_site
from loyalty_platform.core.errors import DomainError
from loyalty_platform.core.metering import usage_day
from tenants.limits import plan_limit_check, plan_limit_message, plan_limit_uses
from tenants.models import CustomDomain, Subscription
from tenants.selectors import organization_plan
from tenants.usage import MonthUsage, usage_this_month

PLAN_PAGE_PERMISSION = "tenants.change_organization"  # owners


class PlanLimitedAdminMixin:
    """For a ModelAdmin whose add page creates one of the plan's `plan_limit` things; put it
    before the ModelAdmin class."""

    plan_limit: str = ""

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        if obj is not None:
            return form
        organization, limit = request.organization, self.plan_limit

        def clean(form_self):
            cleaned = form.clean(form_self)
            try:
                plan_limit_check(organization=organization, limit=limit)
            except DomainError as error:
                raise forms.ValidationError(plan_limit_message(error), code=error.code) from error
            return cleaned

        return type(form.__name__, (form,), {"clean": clean})

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except DomainError as error:
            if error.error is not errors.PLAN_LIMIT_REACHED:
                raise
            # The admin's transaction rolled back: nothing was created.
            messages.error(request, plan_limit_message(error))
            opts = self.model._meta
            return redirect(f"{self.admin_site.name}:{opts.app_label}_{opts.model_name}_changelist")


def _covering_subscription(organization) -> Subscription | None:
    now = timezone.now()
    return (
        Subscription.objects.filter(
            Q(ends_at__isnull=True) | Q(ends_at__gt=now),
            organization_id=organization.pk,
            started_at__lte=now,
            status__in=[Subscription.Status.ACTIVE, Subscription.Status.TRIALING],
        )
        .select_related("plan")
        .order_by("-started_at")
        .first()
    )


def plan_usage_page(request: HttpRequest) -> HttpResponse:
    if not request.user.has_perm(PLAN_PAGE_PERMISSION):
        raise PermissionDenied
    organization = request.organization
    plan = organization_plan(organization=organization)
    today = usage_day()
    context = {
        **merchant_admin_site.each_context(request),
        "title": _("Plan and usage"),
        "plan": plan,
        "subscription": _covering_subscription(organization),
        "limits": plan_limit_uses(organization=organization, plan=plan),
        "usage": usage_this_month(organization_ids=[organization.pk], today=today).get(
            organization.pk, MonthUsage()
        ),
        "month": today,
        "custom_domains": list(CustomDomain.objects.filter(organization_id=organization.pk)),
    }
    return render(request, "tenants/admin/plan_usage.html", context)


merchant_admin_site.page_urls += [
    path("plan/", merchant_admin_site.admin_view(plan_usage_page), name="plan_usage"),
]
