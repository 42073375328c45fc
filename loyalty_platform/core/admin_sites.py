"""Two admin portals: operators manage organizations on the platform host; each
organization's staff manage their own schema on the organization's host. Keeping them as
separate sites means no public-schema model can ever be registered on a merchant's admin."""

from collections.abc import Callable
from urllib.parse import urlencode

from django.contrib.admin import AdminSite, ModelAdmin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponseRedirect
from django.utils.translation import gettext_lazy as _

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


class ThrottledAdminLoginForm(AdminAuthenticationForm):
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
    site_header = "Loyalty platform: operators"
    site_title = "Platform admin"
    index_title = "Organizations, plans and subscriptions"


class MerchantAdminSite(AdminSite):
    login_form = ThrottledAdminLoginForm
    site_title = "Merchant admin"
    index_title = "Programs, customers and settings"

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Installed by loyalty_platform.accounts.admin (core imports no domain app): pages
        # outside the models (accepting an invitation, the two-factor step), and a function
        # giving the URL of a sign-in step still due after the password, or None.
        self.extra_urls: list = []
        self.sign_in_step: Callable[[HttpRequest], str | None] | None = None

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
        return [*self.extra_urls, *super().get_urls()]

    def each_context(self, request):
        context = super().each_context(request)
        organization = getattr(request, "organization", None)
        context["site_header"] = f"{organization.name}: loyalty admin" if organization else "Loyalty admin"
        return context


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
