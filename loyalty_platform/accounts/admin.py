from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import UserChangeForm, UserCreationForm
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_otp.plugins.otp_totp.models import TOTPDevice
from unfold.admin import ModelAdmin as ThemedModelAdmin
from unfold.forms import AdminPasswordChangeForm

from loyalty_platform.accounts import roles, two_factor, views
from loyalty_platform.accounts.forms import InviteForm, RoleForm, TwoFactorPolicyForm
from loyalty_platform.accounts.models import StaffInvitation, User
from loyalty_platform.accounts.services import (
    StaffError,
    organization_two_factor_set,
    staff_deactivate,
    staff_invite,
    staff_reactivate,
    staff_role_set,
    two_factor_remove,
)
from loyalty_platform.accounts.support import support_banner
from loyalty_platform.core.admin_sites import MerchantModelAdmin, merchant_admin_site, platform_admin_site
from loyalty_platform.core.errors import DomainError
from tenants.limits import plan_limit_message


class StaffCreationForm(UserCreationForm):
    class Meta:
        model = User
        fields = ("email",)


class StaffChangeForm(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"


class StaffUserAdmin(DjangoUserAdmin, ThemedModelAdmin):
    """The platform operators' accounts (public schema)."""

    form = StaffChangeForm
    add_form = StaffCreationForm
    change_password_form = AdminPasswordChangeForm
    ordering = ["email"]
    list_display = ["email", "name", "is_active", "is_superuser", "last_login"]
    search_fields = ["email", "name"]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Profile", {"fields": ("name",)}),
        ("Access", {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)


platform_admin_site.register(User, StaffUserAdmin)


class MerchantStaffAdmin(MerchantModelAdmin):
    """An organization's staff, for those with accounts.manage_staff (owners). Read-only
    pages; every change (invite, role, deactivation, two-factor reset) is a service call."""

    change_list_template = "accounts/admin/staff_change_list.html"
    change_form_template = "accounts/admin/staff_change_form.html"
    ordering = ["email"]
    list_display = ["email", "name", "role", "is_active", "two_factor", "invitation", "last_login"]
    list_filter = ["is_active", "groups"]
    search_fields = ["email", "name"]
    fields = ["email", "name", "role", "is_active", "two_factor", "invitation", "last_login", "date_joined"]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("groups")

    @admin.display(description=gettext_lazy("Role"))
    def role(self, user: User) -> str:
        role = roles.role_of(user)
        label = str(roles.ROLE_LABELS[role]) if role else "—"
        # The platform's support account (tenants.lifecycle): the merchant sees it is not theirs.
        return _("%(role)s (platform support)") % {"role": label} if user.is_platform_support else label

    @admin.display(description=gettext_lazy("Two-factor"), boolean=True)
    def two_factor(self, user: User) -> bool:
        return TOTPDevice.objects.filter(user=user, confirmed=True).exists()

    @admin.display(description=gettext_lazy("Invitation"))
    def invitation(self, user: User) -> str:
        if user.has_usable_password():
            return _("accepted") if user.invitations.exists() else "—"
        latest = StaffInvitation.objects.filter(user=user).first()
        return _("sent %(date)s, not accepted") % {"date": latest.created_at.date()} if latest else "—"

    def _may_manage(self, request: HttpRequest) -> bool:
        return request.user.has_perm(roles.MANAGE_STAFF)

    def has_module_permission(self, request) -> bool:
        return self._may_manage(request)

    def has_view_permission(self, request, obj=None) -> bool:
        return self._may_manage(request)

    def has_add_permission(self, request) -> bool:
        return False  # invite instead

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # the role, status and two-factor pages change a person

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # deactivate instead: the audit log and ledgers keep naming them

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("invite/", view(self.invite_view), name="accounts_user_invite"),
            path("two-factor-policy/", view(self.policy_view), name="accounts_user_two_factor_policy"),
            path("<int:user_id>/role/", view(self.role_view), name="accounts_user_role"),
            path("<int:user_id>/status/", view(self.status_view), name="accounts_user_status"),
            path(
                "<int:user_id>/two-factor-reset/",
                view(self.reset_view),
                name="accounts_user_two_factor_reset",
            ),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {**(extra_context or {}), "staff_pk": object_id}
        return super().change_view(request, object_id, form_url, extra_context)

    def _page(self, request: HttpRequest, template: str, title: str, **extra) -> HttpResponse:
        context = {**self.admin_site.each_context(request), "opts": User._meta, "title": title, **extra}
        return render(request, template, context)

    def _staff(self, request: HttpRequest, user_id: int) -> User:
        if not self._may_manage(request):
            raise PermissionDenied
        return get_object_or_404(User, pk=user_id)

    def _back(self, user: User):
        return redirect("merchant_admin:accounts_user_change", user.pk)

    def invite_view(self, request: HttpRequest) -> HttpResponse:
        if not self._may_manage(request):
            raise PermissionDenied
        form = InviteForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                staff_invite(
                    organization=request.organization,
                    email=form.cleaned_data["email"],
                    role=form.cleaned_data["role"],
                    invited_by=request.user,
                )
            except StaffError as error:
                form.add_error("email", str(error))
            except DomainError as error:  # the plan's staff limit
                form.add_error(None, plan_limit_message(error))
            else:
                messages.success(
                    request, _("Invitation sent to %(email)s.") % {"email": form.cleaned_data["email"]}
                )
                return redirect("merchant_admin:accounts_user_changelist")
        return self._page(request, "accounts/admin/invite.html", _("Invite staff"), form=form)

    def role_view(self, request: HttpRequest, user_id: int) -> HttpResponse:
        staff = self._staff(request, user_id)
        form = RoleForm(request.POST or None, initial={"role": roles.role_of(staff)})
        if request.method == "POST" and form.is_valid():
            try:
                staff_role_set(user=staff, role=form.cleaned_data["role"], actor=request.user)
            except StaffError as error:
                form.add_error("role", str(error))
            else:
                messages.success(request, _("The role of %(email)s is saved.") % {"email": staff.email})
                return self._back(staff)
        title = _("Role of %(email)s") % {"email": staff.email}
        return self._page(request, "accounts/admin/role.html", title, form=form, staff=staff)

    def status_view(self, request: HttpRequest, user_id: int) -> HttpResponse:
        staff = self._staff(request, user_id)
        error = None
        if request.method == "POST":
            try:
                if staff.is_active:
                    staff_deactivate(user=staff, actor=request.user)
                    done = _("%(email)s is deactivated and can no longer sign in.")
                else:
                    staff_reactivate(user=staff, actor=request.user)
                    done = _("%(email)s can sign in again.")
            except StaffError as refused:
                error = str(refused)
            except DomainError as refused:  # the plan's staff limit, on reactivation
                error = plan_limit_message(refused)
            else:
                messages.success(request, done % {"email": staff.email})
                return self._back(staff)
        title = (_("Deactivate %(email)s") if staff.is_active else _("Reactivate %(email)s")) % {
            "email": staff.email
        }
        response = self._page(request, "accounts/admin/status.html", title, staff=staff, error=error)
        if error:
            response.status_code = 409
        return response

    def reset_view(self, request: HttpRequest, user_id: int) -> HttpResponse:
        staff = self._staff(request, user_id)
        if request.method == "POST":
            two_factor_remove(user=staff, actor=request.user)
            messages.success(
                request, _("%(email)s sets up two-factor sign-in again.") % {"email": staff.email}
            )
            return self._back(staff)
        title = _("Reset two-factor sign-in of %(email)s") % {"email": staff.email}
        return self._page(request, "accounts/admin/two_factor_reset.html", title, staff=staff)

    def policy_view(self, request: HttpRequest) -> HttpResponse:
        if not (self._may_manage(request) and request.user.has_perm("tenants.change_organization")):
            raise PermissionDenied
        organization = request.organization
        form = TwoFactorPolicyForm(
            request.POST or None,
            initial={"staff_two_factor_required": organization.staff_two_factor_required},
        )
        if request.method == "POST" and form.is_valid():
            organization_two_factor_set(
                organization=organization,
                required=form.cleaned_data["staff_two_factor_required"],
                actor=request.user,
            )
            messages.success(request, _("Saved."))
            return redirect("merchant_admin:accounts_user_changelist")
        return self._page(
            request, "accounts/admin/two_factor_policy.html", _("Two-factor sign-in for owners"), form=form
        )


merchant_admin_site.register(User, MerchantStaffAdmin)
merchant_admin_site.page_urls += [
    path("accept-invite/<str:token>/", views.accept_invite, name="accept_invite"),
    path("handoff/<str:token>/", views.handoff, name="handoff"),
    path("two-factor/", views.two_factor_enrol, name="two_factor_enrol"),
    path("two-factor/verify/", views.two_factor_verify, name="two_factor_verify"),
]
merchant_admin_site.sign_in_step = two_factor.sign_in_step
merchant_admin_site.banners.append(support_banner)
