from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError
from django.db.models import Case, F, IntegerField, Prefetch, Q, QuerySet, Value, When
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import filesizeformat
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from unfold.admin import ModelAdmin, TabularInline

from loyalty_platform.accounts.services import StaffError
from loyalty_platform.core.admin_sites import ReadOnlyAdmin, platform_admin_site
from loyalty_platform.core.errors import PLAN_LIMIT_REACHED, DomainError
from loyalty_platform.core.jobs import beat_jobs
from tenants.console_forms import OrganizationOpenForm, ReasonForm
from tenants.lifecycle import (
    LifecycleError,
    export_path,
    organization_deletion_schedule,
    organization_export_open,
    organization_open,
    organization_reactivate,
    organization_suspend,
    support_session_open,
)
from tenants.limits import plan_limit_message
from tenants.models import (
    ApiKey,
    Domain,
    JobStatus,
    OperatorAction,
    Organization,
    OrganizationExport,
    Plan,
    Subscription,
)
from tenants.services import OrganizationError, api_key_revoke, organization_form_save
from tenants.usage import MonthUsage, usage_this_month


class DomainInline(TabularInline):
    model = Domain
    extra = 0


class SubscriptionInline(TabularInline):
    model = Subscription
    extra = 0


def _current_subscription(organization: Organization) -> Subscription | None:
    # Prefetched by OrganizationAdmin.get_queryset (newest first), so no query per row.
    subscriptions = list(organization.subscriptions.all())
    return subscriptions[0] if subscriptions else None


# What each action page says and does: (title, button, service, success message).
_STATUS_ACTIONS = {
    "suspend": (
        gettext_lazy("Suspend %(name)s"),
        gettext_lazy("Suspend"),
        gettext_lazy(
            "The POS API will refuse every call (organization_suspended), the portal turns "
            "read-only with a banner giving your reason, and customers still see their balances."
        ),
        gettext_lazy("%(name)s is suspended."),
    ),
    "reactivate": (
        gettext_lazy("Reactivate %(name)s"),
        gettext_lazy("Reactivate"),
        gettext_lazy("The API and the portal work again; a scheduled deletion is cancelled."),
        gettext_lazy("%(name)s is active again."),
    ),
    "delete": (
        gettext_lazy("Schedule the deletion of %(name)s"),
        gettext_lazy("Schedule deletion"),
        gettext_lazy(
            "The organization is suspended now; an export of its data is built, and its schema and "
            "rows are deleted after the grace period once the export exists. Reactivating before "
            "then cancels the deletion."
        ),
        gettext_lazy("The deletion of %(name)s is scheduled; its export is being built."),
    ),
    "support": (
        gettext_lazy("Open the portal of %(name)s for support"),
        gettext_lazy("Open the portal"),
        gettext_lazy(
            "You are signed into the organization's portal as its platform support account (an owner). "
            "Its staff see a banner with your email and reason, and the session in their audit log."
        ),
        "",
    ),
}


@admin.register(Organization, site=platform_admin_site)
class OrganizationAdmin(ModelAdmin):
    """The operator's console: each organization's status, plan, subscription, usage this
    month and last activity; create one for a merchant (its owner invited), suspend,
    reactivate, schedule its deletion (an export first) or open its portal for support."""

    change_form_template = "tenants/admin/organization_change_form.html"
    list_display = [
        "slug",
        "name",
        "status_display",
        "plan_display",
        "subscription_display",
        "api_calls_display",
        "customers_display",
        "storage_display",
        "last_activity_at",
    ]
    search_fields = ["slug", "name", "domains__domain"]
    list_filter = ["status", ("subscriptions__plan", admin.RelatedOnlyFieldListFilter)]
    inlines = [DomainInline, SubscriptionInline]
    readonly_fields = [
        "slug",
        "schema_name",
        "created_at",
        "status",
        "status_reason",
        "status_changed_at",
        "deletion_due_at",
        "last_activity_at",
        "plan_display",
        "subscription_display",
        "api_calls_display",
        "customers_display",
        "storage_display",
        "exports_display",
        "history_display",
    ]
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "slug",
                    "name",
                    "schema_name",
                    "currency",
                    "country",
                    "timezone",
                    "language",
                    "verification_preset",
                    "pin_length",
                    "brand_color",
                    "rate_limits",
                    "staff_two_factor_required",
                    "is_active",
                    "created_at",
                )
            },
        ),
        (
            gettext_lazy("Status"),
            {"fields": ("status", "status_reason", "status_changed_at", "deletion_due_at")},
        ),
        (
            gettext_lazy("Subscription and usage this month"),
            {
                "fields": (
                    "plan_display",
                    "subscription_display",
                    "api_calls_display",
                    "customers_display",
                    "storage_display",
                    "last_activity_at",
                )
            },
        ),
        (gettext_lazy("Exports and operator actions"), {"fields": ("exports_display", "history_display")}),
    )

    def save_model(self, request, obj, form, change) -> None:
        # Only the edited fields: the status belongs to tenants.lifecycle.
        organization_form_save(organization=obj, form=form)

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .prefetch_related(
                Prefetch(
                    "subscriptions",
                    queryset=Subscription.objects.select_related("plan").order_by("-started_at"),
                )
            )
        )

    def get_changelist(self, request, **kwargs):
        base = super().get_changelist(request, **kwargs)

        class UsageChangeList(base):
            """Loads the page's usage in one query (tenants.usage), not one per row."""

            def get_results(self, request):
                super().get_results(request)
                self.result_list = list(self.result_list)
                _attach_usage(self.result_list)

        return UsageChangeList

    def get_object(self, request, object_id, from_field=None):
        organization = super().get_object(request, object_id, from_field)
        if organization is not None:
            _attach_usage([organization])
        return organization

    def has_delete_permission(self, request, obj=None) -> bool:
        # Deleting drops a merchant's data: only through the scheduled deletion (with its export).
        return False

    # --- Columns --------------------------------------------------------------------------

    @admin.display(description=gettext_lazy("Status"), ordering="status")
    def status_display(self, organization: Organization) -> str:
        return organization.get_status_display()

    @admin.display(description=gettext_lazy("Plan"))
    def plan_display(self, organization: Organization) -> str:
        subscription = _current_subscription(organization)
        return subscription.plan.name if subscription else "—"

    @admin.display(description=gettext_lazy("Subscription"))
    def subscription_display(self, organization: Organization) -> str:
        subscription = _current_subscription(organization)
        if subscription is None:
            return "—"
        if subscription.ends_at is None:
            return _("%(status)s, open-ended") % {"status": subscription.get_status_display()}
        return _("%(status)s, ends %(date)s") % {
            "status": subscription.get_status_display(),
            "date": timezone.localtime(subscription.ends_at).date().isoformat(),
        }

    @admin.display(description=gettext_lazy("API calls this month"))
    def api_calls_display(self, organization: Organization) -> int:
        return _usage(organization).api_calls

    @admin.display(description=gettext_lazy("Customers"))
    def customers_display(self, organization: Organization) -> str:
        customers = _usage(organization).customers
        return "—" if customers is None else str(customers)

    @admin.display(description=gettext_lazy("Storage"))
    def storage_display(self, organization: Organization) -> str:
        storage = _usage(organization).storage_bytes
        return "—" if storage is None else filesizeformat(storage)

    @admin.display(description=gettext_lazy("Exports"))
    def exports_display(self, organization: Organization) -> str:
        exports = list(organization.exports.all()[:5])
        if not exports:
            return "—"
        return format_html_join(
            "",
            "<div>{}</div>",
            ((_export_link(export),) for export in exports),
        )

    @admin.display(description=gettext_lazy("Operator actions"))
    def history_display(self, organization: Organization) -> str:
        actions = list(organization.operator_actions.all()[:10])
        if not actions:
            return "—"
        return format_html_join(
            "",
            "<div>{}: {} by {}{}</div>",
            (
                (
                    timezone.localtime(action.created_at).strftime("%Y-%m-%d %H:%M"),
                    action.action,
                    action.operator_email or _("the platform"),
                    f" ({action.reason})" if action.reason else "",
                )
                for action in actions
            ),
        )

    # --- Pages ------------------------------------------------------------------------------

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path(
                "<int:object_id>/suspend/",
                view(self.action_view),
                {"action": "suspend"},
                name="tenants_organization_suspend",
            ),
            path(
                "<int:object_id>/reactivate/",
                view(self.action_view),
                {"action": "reactivate"},
                name="tenants_organization_reactivate",
            ),
            path(
                "<int:object_id>/schedule-deletion/",
                view(self.action_view),
                {"action": "delete"},
                name="tenants_organization_delete_schedule",
            ),
            path(
                "<int:object_id>/support/",
                view(self.action_view),
                {"action": "support"},
                name="tenants_organization_support",
            ),
            path(
                "exports/<int:export_id>/download/",
                view(self.export_download_view),
                name="tenants_organization_export_download",
            ),
            *super().get_urls(),
        ]

    def _page(
        self, request: HttpRequest, template: str, title: str, status: int = 200, **extra
    ) -> HttpResponse:
        context = {
            **self.admin_site.each_context(request),
            "opts": Organization._meta,
            "title": title,
            **extra,
        }
        return render(request, template, context, status=status)

    def add_view(self, request: HttpRequest, form_url="", extra_context=None) -> HttpResponse:
        """Create an organization for a merchant and invite its owner (not Django's model form:
        an organization needs its schema, host and subscription, which only the service makes)."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = OrganizationOpenForm(request.POST or None)
        status = 200
        if request.method == "POST":
            status = 422
            if form.is_valid():
                data = form.cleaned_data
                try:
                    organization, _url = organization_open(
                        slug=data["slug"],
                        name=data["name"],
                        country=data["country"],
                        plan=data["plan"],
                        owner_email=data["owner_email"],
                        operator=request.user,
                    )
                except OrganizationError as error:
                    form.add_error(
                        "slug" if "slug" in str(error) or "host" in str(error) else "name", str(error)
                    )
                except StaffError as error:
                    form.add_error("owner_email", str(error))
                except DomainError as error:
                    # The chosen plan leaves no staff seat for the owner (plan_limit_reached).
                    limited = error.error.code == PLAN_LIMIT_REACHED.code
                    form.add_error("plan", plan_limit_message(error) if limited else error.error.description)
                except IntegrityError:
                    # Another operator created the same address at this moment.
                    form.add_error("slug", _("An organization with this address exists already."))
                else:
                    messages.success(
                        request,
                        _("%(name)s is created; an invitation was sent to %(email)s.")
                        % {"name": organization.name, "email": data["owner_email"]},
                    )
                    return redirect("platform_admin:tenants_organization_change", organization.pk)
        return self._page(
            request, "tenants/admin/organization_add.html", _("Add organization"), status=status, form=form
        )

    def action_view(self, request: HttpRequest, object_id: int, action: str) -> HttpResponse:
        if not self.has_change_permission(request):
            raise PermissionDenied
        organization = get_object_or_404(Organization, pk=object_id)
        title, button, explanation, done = _STATUS_ACTIONS[action]
        form = ReasonForm(request.POST or None)
        status = 200
        if request.method == "POST":
            status = 422
            if form.is_valid():
                reason = form.cleaned_data["reason"]
                try:
                    if action == "suspend":
                        organization_suspend(organization=organization, reason=reason, operator=request.user)
                    elif action == "reactivate":
                        organization_reactivate(
                            organization=organization, reason=reason, operator=request.user
                        )
                    elif action == "delete":
                        organization_deletion_schedule(
                            organization=organization, reason=reason, operator=request.user
                        )
                    else:
                        url = support_session_open(
                            organization=organization, reason=reason, operator=request.user
                        )
                        return HttpResponseRedirect(url)
                except (LifecycleError, DomainError) as error:
                    form.add_error(None, str(error))
                    status = 409
                else:
                    messages.success(request, done % {"name": organization.name})
                    return redirect("platform_admin:tenants_organization_change", organization.pk)
        return self._page(
            request,
            "tenants/admin/organization_action.html",
            title % {"name": organization.name},
            status=status,
            form=form,
            organization=organization,
            explanation=explanation,
            button=button,
        )

    def export_download_view(self, request: HttpRequest, export_id: int) -> FileResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        export = get_object_or_404(OrganizationExport, pk=export_id)
        file = organization_export_open(export=export, operator=request.user)
        if file is None:
            raise Http404("no finished export file")
        return FileResponse(file.open("rb"), as_attachment=True, filename=export.file_name)


def _attach_usage(organizations: list[Organization]) -> None:
    usage = usage_this_month(
        organization_ids=[organization.pk for organization in organizations], today=timezone.now().date()
    )
    for organization in organizations:
        organization.month_usage = usage.get(organization.pk, MonthUsage())


def _usage(organization: Organization) -> MonthUsage:
    return getattr(organization, "month_usage", None) or MonthUsage()


def _export_link(export: OrganizationExport) -> str:
    if export_path(export) is None:
        state = _("building") if not export.is_finished else _("file missing")
        return format_html("{} ({})", str(export), state)
    url = reverse("platform_admin:tenants_organization_export_download", args=[export.pk])
    return format_html('<a href="{}">{}</a> ({})', url, str(export), filesizeformat(export.size_bytes or 0))


@admin.register(OperatorAction, site=platform_admin_site)
class OperatorActionAdmin(ReadOnlyAdmin):
    """The console's trail: who did what to which organization, and why. Append-only."""

    list_display = ["created_at", "organization_slug", "action", "operator_email", "reason"]
    list_filter = ["action"]
    search_fields = ["organization_slug", "operator_email", "reason"]


@admin.register(OrganizationExport, site=platform_admin_site)
class OrganizationExportAdmin(ReadOnlyAdmin):
    """Exports made before deletions; they stay after the purge, downloadable here."""

    list_display = ["organization_slug", "requested_at", "finished_at", "download"]
    search_fields = ["organization_slug"]

    @admin.display(description=gettext_lazy("File"))
    def download(self, export: OrganizationExport) -> str:
        return _export_link(export)


# JobStatusAdmin's order: what needs a look first.
_FAILING, _STALE, _OK = 0, 1, 2
_JOB_STATES = {
    _FAILING: gettext_lazy("Failing"),
    _STALE: gettext_lazy("Stale"),
    _OK: gettext_lazy("OK"),
}


@admin.register(JobStatus, site=platform_admin_site)
class JobStatusAdmin(ReadOnlyAdmin):
    """The scheduled jobs' last outcomes (core.jobs), per organization and on the platform:
    failing ones first (their last run failed), then stale ones (no success within their
    threshold, core.jobs.stale_after), the longest without success first. /healthz counts the
    same; a job that never ran anywhere has no row here (docs/decisions/0044)."""

    list_display = [
        "state_display",
        "job",
        "organization_display",
        "last_succeeded_at",
        "last_failed_at",
        "last_error",
        "summary_display",
    ]
    list_display_links = ["job"]
    search_fields = ["job", "organization__slug", "last_error"]
    list_per_page = 50

    def get_queryset(self, request: HttpRequest) -> QuerySet[JobStatus]:
        now = timezone.now()
        failing = Q(last_failed_at__isnull=False) & (
            Q(last_succeeded_at__isnull=True) | Q(last_failed_at__gt=F("last_succeeded_at"))
        )
        states = [When(failing, then=Value(_FAILING))]
        for job in beat_jobs():
            states.append(
                When(
                    Q(job=job.job)
                    & (Q(last_succeeded_at__isnull=True) | Q(last_succeeded_at__lt=now - job.stale_after)),
                    then=Value(_STALE),
                )
            )
        return (
            super()
            .get_queryset(request)
            .select_related("organization")
            .annotate(state=Case(*states, default=Value(_OK), output_field=IntegerField()))
            .order_by("state", F("last_succeeded_at").asc(nulls_first=True), "job", "organization__slug")
        )

    @admin.display(description=gettext_lazy("State"), ordering="state")
    def state_display(self, status: JobStatus) -> str:
        return _JOB_STATES[status.state]

    @admin.display(description=gettext_lazy("Organization"), ordering="organization__slug")
    def organization_display(self, status: JobStatus) -> str:
        return status.organization.slug if status.organization else _("Platform")

    @admin.display(description=gettext_lazy("Last run did"))
    def summary_display(self, status: JobStatus) -> str:
        return " ".join(f"{key}={value}" for key, value in status.last_summary.items()) or "—"


@admin.register(Domain, site=platform_admin_site)
class DomainAdmin(ModelAdmin):
    list_display = ["domain", "tenant", "is_primary"]
    search_fields = ["domain", "tenant__slug"]


@admin.register(Plan, site=platform_admin_site)
class PlanAdmin(ModelAdmin):
    list_display = ["code", "name", "monthly_price", "is_active"]


@admin.register(Subscription, site=platform_admin_site)
class SubscriptionAdmin(ModelAdmin):
    list_display = ["organization", "plan", "status", "started_at", "ends_at"]
    list_filter = ["status", "plan"]


@admin.register(ApiKey, site=platform_admin_site)
class ApiKeyAdmin(ModelAdmin):
    list_display = ["lookup_id", "organization", "label", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["organization"]
    readonly_fields = ["lookup_id", "created_at", "last_used_at", "revoked_at"]
    exclude = ["secret_hash"]
    actions = ["revoke"]

    def has_add_permission(self, request) -> bool:
        return False

    @admin.action(description="Revoke the selected keys")
    def revoke(self, request, queryset):
        for api_key in queryset:
            api_key_revoke(api_key=api_key)
        messages.success(request, f"Revoked {queryset.count()} key(s).")


# Scoped registrations for the merchants' admin live beside these.
from tenants import merchant_admin  # noqa: E402, F401

# isort: split
from tenants import domain_admin  # noqa: E402, F401
