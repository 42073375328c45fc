"""Two admin portals: operators manage organizations on the platform host; each
organization's staff manage their own schema on the organization's host. Keeping them as
separate sites means no public-schema model can ever be registered on a merchant's admin."""

from functools import partial

from django.contrib.admin import ModelAdmin
from django.core.exceptions import ValidationError
from django.urls import path
from django.utils.translation import gettext_lazy as _
from unfold.forms import AuthenticationForm
from unfold.sites import UnfoldAdminSite as AdminSite

from loyalty_platform.core import throttle
from loyalty_platform.till import views as till_views


class ThrottledAdminLoginForm(AuthenticationForm):
    """Staff sign-in that stops answering for a login name, or a client IP, after too many
    wrong passwords within a window; counted per schema, so each portal counts its own."""

    def clean(self):
        username = self.cleaned_data.get("username") or ""
        ip = throttle.client_ip(self.request) if self.request else ""
        rules = (
            (throttle.limit("staff_login_failure_user"), throttle.digest(username)),
            (throttle.limit("staff_login_failure_ip"), ip),
        )
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


class MerchantAdminSite(AdminSite):
    """Its look, header and grouped navigation: settings.UNFOLD and core/portal.py."""

    login_form = ThrottledAdminLoginForm
    index_title = _("Dashboard")

    def get_urls(self):
        # The browser till (loyalty_platform/till): before the admin's own, whose app index
        # pattern would take "till/".
        till = [
            path("till/", self.admin_view(partial(till_views.till_page, site=self)), name="till"),
            path("till/key/", self.admin_view(partial(till_views.till_key, site=self)), name="till_key"),
        ]
        return till + super().get_urls()


platform_admin_site = PlatformAdminSite(name="platform_admin")
merchant_admin_site = MerchantAdminSite(name="merchant_admin")


class ReadOnlyAdmin(ModelAdmin):
    """For append-only records (ledgers, audit log, PIN challenges, QR sessions): staff read
    them; only services write them."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
