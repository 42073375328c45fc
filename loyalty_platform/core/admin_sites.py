"""Two admin portals: operators manage organizations on the platform host; each
organization's staff manage their own schema on the organization's host. Keeping them as
separate sites means no public-schema model can ever be registered on a merchant's admin."""

import datetime
import decimal
import functools
import uuid
from collections.abc import Callable
from urllib.parse import urlencode

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin
from unfold.forms import AuthenticationForm
from unfold.sites import UnfoldAdminSite as AdminSite

from loyalty_platform.audit.services import audit_record
from loyalty_platform.core import throttle


def staff_sign_in_limits(
    request: HttpRequest | None, username: str
) -> tuple[tuple[throttle.Limit, str], ...]:
    """The failure counters of a staff sign-in: per login name and per client IP. Wrong
    passwords and wrong two-factor codes both count."""
    ip = throttle.client_ip(request) if request else ""
    return (
        (throttle.limit("staff_login_failure_user"), throttle.digest(username)),
        (throttle.limit("staff_login_failure_ip"), ip),
    )


class ThrottledAdminLoginForm(AuthenticationForm):
    """Staff sign-in that stops answering for a login name, or a client IP, after too many
    wrong passwords within a window; counted per schema, so each portal counts its own."""

    def clean(self):
        rules = staff_sign_in_limits(self.request, self.cleaned_data.get("username") or "")
        for rule, subject in rules:
            if wait := throttle.blocked_for(rule, subject):
                raise ValidationError(
                    _("Too many failed sign-ins. Try again in %(minutes)d minutes."),
                    code="too_many_attempts",
                    params={"minutes": max(1, round(wait / 60))},
                )
        try:
            return super().clean()
        except ValidationError as error:
            if error.code in ("invalid_login", "inactive"):
                for rule, subject in rules:
                    throttle.attempt(rule, subject)
            raise


class PlatformAdminSite(AdminSite):
    login_form = ThrottledAdminLoginForm
    settings_name = "UNFOLD_PLATFORM"
    index_title = _("Organizations, plans and subscriptions")

    def has_permission(self, request) -> bool:
        # Operators only: every console page acts across organizations.
        return super().has_permission(request) and request.user.is_superuser


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def organization_is_suspended(request: HttpRequest) -> bool:
    organization = getattr(request, "organization", None)
    return bool(organization is not None and organization.is_suspended)


class MerchantAdminSite(AdminSite):
    """Its look, header and grouped navigation: settings.UNFOLD and core/portal.py."""

    login_form = ThrottledAdminLoginForm
    index_title = _("Dashboard")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Filled by the apps that own them (accounts, reports, till; core knows none of them):
        # pages outside the models (invitations, two-factor, the till), and a function
        # giving the URL of a sign-in step still due after the password, or None.
        self.page_urls: list = []
        self.sign_in_step: Callable[[HttpRequest], str | None] | None = None
        # (permission, view): the first one the staff member holds is their landing page
        # (the dashboard, or the till for cashiers).
        self.landing_pages: list[tuple[str, Callable]] = []
        # Functions giving a sentence for the banner above every page, or None (a support
        # session); the suspension's banner is the site's own.
        self.banners: list[Callable[[HttpRequest], str | None]] = []

    def each_context(self, request):
        context = super().each_context(request)
        banners = []
        if organization_is_suspended(request):
            banners.append(suspension_banner(request.organization))
        banners += [text for banner in self.banners if (text := banner(request))]
        context["portal_banners"] = banners
        return context

    def admin_view(self, view, cacheable=False):
        """As Django's, and while the organization is suspended every change is refused: a
        403 page for any POST (sign-in and sign-out are not admin views, so they still work)."""
        wrapped = super().admin_view(view, cacheable)

        @functools.wraps(view)
        def refuse_changes_while_suspended(request, *args, **kwargs):
            if (
                request.method not in SAFE_METHODS
                and organization_is_suspended(request)
                and view != self.logout
            ):
                return self.suspended_response(request)
            return wrapped(request, *args, **kwargs)

        return refuse_changes_while_suspended

    def suspended_response(self, request: HttpRequest) -> HttpResponse:
        context = {**self.each_context(request), "title": _("Read-only while suspended")}
        return TemplateResponse(request, "admin/organization_suspended.html", context, status=403)

    def pending_sign_in_step(self, request: HttpRequest) -> str | None:
        if self.sign_in_step is None or not request.user.is_authenticated:
            return None
        return self.sign_in_step(request)

    def has_permission(self, request) -> bool:
        # Django's check (is_active and is_staff), and no sign-in step left to do.
        return super().has_permission(request) and not self.pending_sign_in_step(request)

    def login(self, request, extra_context=None):
        if request.method == "GET" and (step := self.pending_sign_in_step(request)):
            return HttpResponseRedirect(f"{step}?{urlencode({'next': request.GET.get('next', '')})}")
        return super().login(request, extra_context)

    def get_urls(self):
        return [*self.page_urls, *super().get_urls()]

    def index(self, request, extra_context=None):
        for permission, view in self.landing_pages:
            if request.user.has_perm(permission):
                return view(request)
        return super().index(request, extra_context)


platform_admin_site = PlatformAdminSite(name="platform_admin")
merchant_admin_site = MerchantAdminSite(name="merchant_admin")


def suspension_banner(organization) -> str:
    reason = organization.status_reason or _("no reason given")
    if organization.status == organization.Status.DELETION_SCHEDULED and organization.deletion_due_at:
        return _(
            "The platform operator scheduled this organization's deletion on %(date)s: %(reason)s. "
            "The portal is read-only and the POS API refuses every call."
        ) % {"date": organization.deletion_due_at.date().isoformat(), "reason": reason}
    return _(
        "The platform operator suspended this organization: %(reason)s. The portal is read-only "
        "and the POS API refuses every call; your customers still see their balances."
    ) % {"reason": reason}


def _changes_something(permission: str) -> bool:
    return not permission.split(".", 1)[-1].startswith(("view_", "export_"))


def permission_required(*permissions: str):
    """For a ModelAdmin's own pages (beside Django's add/change/delete/view): 403 unless the
    staff member holds every one of `permissions`. While the organization is suspended, a
    page needing more than view or export permissions is refused."""

    def decorate(view):
        @functools.wraps(view)
        def checked(model_admin, request, *args, **kwargs):
            if not request.user.has_perms(permissions):
                raise PermissionDenied
            if organization_is_suspended(request) and any(map(_changes_something, permissions)):
                return model_admin.admin_site.suspended_response(request)
            return view(model_admin, request, *args, **kwargs)

        return checked

    return decorate


def _audit_value(value):
    """A form value as the audit log keeps it (JSON): rows by primary key, files by name."""
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, list | tuple | set | models.QuerySet):
        return sorted((_audit_value(item) for item in value), key=str)
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    if hasattr(value, "name") and hasattr(value, "read"):
        return getattr(value, "name", "")
    return value


class MerchantModelAdmin(ModelAdmin):
    """The merchant portal's model pages: every add, change and delete made through them is
    in the audit log, in the same transaction, with who did it and which fields changed from
    what to what. Fields listed in `audit_exclude` are named but their values are not kept
    (secrets); the rest of the change goes through services that audit themselves."""

    audit_exclude: tuple[str, ...] = ()

    # While the organization is suspended its portal is read-only: pages show, nothing saves.
    def has_add_permission(self, request, *args) -> bool:
        return not organization_is_suspended(request) and super().has_add_permission(request, *args)

    def has_change_permission(self, request, obj=None) -> bool:
        return not organization_is_suspended(request) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return not organization_is_suspended(request) and super().has_delete_permission(request, obj)

    def _changes(self, form, change: bool) -> dict:
        fields = {}
        for name in form.changed_data if change else form.cleaned_data:
            if name not in form.cleaned_data:
                continue
            new = "(not kept)" if name in self.audit_exclude else _audit_value(form.cleaned_data[name])
            if change:
                old = "(not kept)" if name in self.audit_exclude else _audit_value(form.initial.get(name))
                fields[name] = [old, new]
            else:
                fields[name] = new
        return fields

    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        self.audit_form_save(request, obj, form, change)

    def audit_form_save(self, request, obj, form, change: bool) -> None:
        """The audit record of a saved form; for a save_model that saves through a service
        which does not audit (the form's initial and changed fields outlive the save)."""
        changes = self._changes(form, change)
        if change and not changes:
            return
        action = "admin_change" if change else "admin_add"
        audit_record(actor=request.user, action=action, target=obj, details={"fields": changes})

    def save_formset(self, request, form, formset, change) -> None:
        for deleted in formset.deleted_forms:
            if deleted.instance.pk is not None:
                audit_record(actor=request.user, action="admin_delete", target=deleted.instance, details={})
        edited = [
            (inline, self._changes(inline, inline.instance.pk is not None))
            for inline in formset.forms
            if inline.has_changed() and inline not in formset.deleted_forms
        ]
        super().save_formset(request, form, formset, change)
        for inline, changes in edited:
            action = "admin_change" if inline.initial else "admin_add"
            details = {"fields": changes, "parent": str(form.instance.pk)}
            audit_record(actor=request.user, action=action, target=inline.instance, details=details)

    def delete_model(self, request, obj) -> None:
        audit_record(actor=request.user, action="admin_delete", target=obj, details={})
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset) -> None:
        for obj in queryset:
            audit_record(actor=request.user, action="admin_delete", target=obj, details={})
        super().delete_queryset(request, queryset)


class ReadOnlyAdmin(ModelAdmin):
    """For append-only records (ledgers, audit log, PIN challenges, QR sessions): staff read
    them; only services write them."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
