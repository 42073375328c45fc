from datetime import datetime, time, timedelta

from django.contrib import admin
from django.http import HttpRequest
from django.shortcuts import render
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.html import format_html_join
from django.utils.translation import gettext_lazy as _

from loyalty_platform.audit.actions import action_label
from loyalty_platform.audit.models import AuditLogEntry
from loyalty_platform.core.admin_sites import ReadOnlyAdmin, merchant_admin_site

VIEW_PERMISSION = "accounts.view_auditlog"
MAX_SHOWN = 160


class DateRangeFilter(admin.ListFilter):
    """Entries from one day to another (both included), typed as dates."""

    title = _("date range")
    template = "admin/audit/date_range_filter.html"
    parameters = ("created_from", "created_to")

    def __init__(self, request, params, model, model_admin):
        super().__init__(request, params, model, model_admin)
        for name in self.parameters:
            if name in params:
                self.used_parameters[name] = params.pop(name)[-1]

    def has_output(self) -> bool:
        return True

    def expected_parameters(self) -> list[str]:
        return list(self.parameters)

    def queryset(self, request, queryset):
        start, end = date_range(self.used_parameters)
        if start is not None:
            queryset = queryset.filter(created_at__gte=start)
        if end is not None:
            queryset = queryset.filter(created_at__lt=end)
        return queryset

    def choices(self, changelist):
        kept = [
            (name, value)
            for name, values in changelist.get_filters_params().items()
            if name not in self.parameters
            for value in (values if isinstance(values, list) else [values])
        ]
        if changelist.query:
            kept.append(("q", changelist.query))
        yield {
            "from": self.used_parameters.get("created_from", ""),
            "to": self.used_parameters.get("created_to", ""),
            "kept": kept,
        }


class ActionFilter(admin.SimpleListFilter):
    title = _("action")
    parameter_name = "action"

    def lookups(self, request, model_admin):
        actions = AuditLogEntry.objects.order_by("action").values_list("action", flat=True).distinct()
        return [(action, action_label(action)) for action in actions]

    def queryset(self, request, queryset):
        return queryset.filter(action=self.value()) if self.value() else queryset


def date_range(params) -> tuple[datetime | None, datetime | None]:
    """The range's bounds in the current time zone; ValueError for a date that is not one."""
    bounds = []
    for name, shift in (("created_from", 0), ("created_to", 1)):
        raw = params.get(name) or ""
        if not raw:
            bounds.append(None)
            continue
        try:
            day = parse_date(raw[:10]) if len(raw) <= 10 else None
            if day is None:
                raise ValueError(name)
            bounds.append(timezone.make_aware(datetime.combine(day + timedelta(days=shift), time.min)))
        except (ValueError, OverflowError) as error:  # not a date, or the last day there is
            raise ValueError(name) from error
    return bounds[0], bounds[1]


def what_changed(details: dict) -> list[tuple[str, str]]:
    """The details as (name, text) pairs: `changes` as old → new, the rest as they are."""
    pairs = []
    for name, change in (details.get("changes") or {}).items():
        old, new = change if isinstance(change, list) and len(change) == 2 else ("", change)
        pairs.append((str(name), f"{old if old not in (None, '') else '—'} → {new}"))
    for name, value in details.items():
        if name != "changes":
            pairs.append((str(name), str(value)[:MAX_SHOWN]))
    return pairs


@admin.register(AuditLogEntry, site=merchant_admin_site)
class AuditLogEntryAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "actor", "what", "target", "changed"]
    list_filter = [
        DateRangeFilter,
        ActionFilter,
        "target_type",
        ("actor", admin.RelatedOnlyFieldListFilter),
    ]
    search_fields = ["target_repr", "=target_id", "actor__email", "action"]
    search_help_text = _("The target's name or id, the staff member's email, or the action.")
    date_hierarchy = "created_at"
    list_select_related = ["actor"]
    fields = ["created_at", "actor", "what", "action", "target_type", "target_id", "target_repr", "changed"]
    readonly_fields = fields

    @admin.display(description=_("Action"), ordering="action")
    def what(self, entry: AuditLogEntry) -> str:
        return action_label(entry.action)

    @admin.display(description=_("Target"), ordering="target_type")
    def target(self, entry: AuditLogEntry) -> str:
        return f"{entry.target_type} {entry.target_repr}".strip()

    @admin.display(description=_("What changed"))
    def changed(self, entry: AuditLogEntry):
        return format_html_join("; ", "<strong>{}</strong>: {}", what_changed(entry.details))

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        return request.user.has_perm(VIEW_PERMISSION)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(VIEW_PERMISSION)

    def changelist_view(self, request, extra_context=None):
        try:
            date_range(request.GET)
        except ValueError:
            context = {
                **self.admin_site.each_context(request),
                "opts": AuditLogEntry._meta,
                "title": _("Audit log"),
                "error_code": "date_invalid",
            }
            return render(request, "admin/audit/bad_filter.html", context, status=400)
        return super().changelist_view(request, extra_context)
