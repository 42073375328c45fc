"""The operator's pages for custom domains (tenants.domains): the claims with their state,
adding one for an organization, checking them now ("Verify now"), and removing them."""

from django import forms
from django.contrib import admin, messages
from django.utils.html import format_html
from unfold.admin import ModelAdmin

from loyalty_platform.core.admin_sites import platform_admin_site
from tenants.domains import (
    CHECK_ERRORS,
    CustomDomainError,
    custom_domain_add,
    custom_domain_check,
    custom_domain_remove,
    custom_domain_verify,
)
from tenants.models import CustomDomain


class CustomDomainForm(forms.ModelForm):
    class Meta:
        model = CustomDomain
        fields = ["organization", "hostname"]
        help_texts = {"organization": "The organization the host name will route to once verified."}

    def clean(self):
        cleaned = super().clean()
        organization, hostname = cleaned.get("organization"), cleaned.get("hostname")
        if organization is not None and hostname:
            try:
                cleaned["hostname"] = custom_domain_check(organization=organization, hostname=hostname)
            except CustomDomainError as error:
                self.add_error("hostname", str(error))
        return cleaned


def _record(custom_domain: CustomDomain) -> str:
    return f"TXT {custom_domain.record_name} = {custom_domain.record_value}"


@admin.register(CustomDomain, site=platform_admin_site)
class CustomDomainAdmin(ModelAdmin):
    form = CustomDomainForm
    list_display = ["hostname", "organization", "state", "last_checked_at", "problem"]
    list_filter = [("verified_at", admin.EmptyFieldListFilter)]
    search_fields = ["hostname", "organization__slug"]
    readonly_fields = ["txt_record", "verified_at", "last_checked_at", "problem", "created_at"]
    actions = ["verify_now"]

    @admin.display(description="State")
    def state(self, custom_domain: CustomDomain) -> str:
        return "Verified, routes" if custom_domain.is_verified else "Waiting for its TXT record"

    @admin.display(description="Last check found")
    def problem(self, custom_domain: CustomDomain) -> str:
        return CHECK_ERRORS.get(custom_domain.last_error, custom_domain.last_error) or "-"

    @admin.display(description="TXT record to create")
    def txt_record(self, custom_domain: CustomDomain) -> str:
        return format_html(
            "Name <code>{}</code>, value <code>{}</code>",
            custom_domain.record_name,
            custom_domain.record_value,
        )

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["organization", "hostname"]
        return ["organization", "hostname", *self.readonly_fields]

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # a claim is added, checked or removed, never edited

    def save_model(self, request, obj, form, change) -> None:
        created = custom_domain_add(organization=obj.organization, hostname=obj.hostname)
        obj.pk, obj.token, obj.created_at = created.pk, created.token, created.created_at
        obj._state.adding = False
        messages.info(request, f"Ask the owner of {created.hostname} to create {_record(created)}")

    def delete_model(self, request, obj) -> None:
        custom_domain_remove(custom_domain=obj)

    def delete_queryset(self, request, queryset) -> None:
        for custom_domain in queryset:
            custom_domain_remove(custom_domain=custom_domain)

    @admin.action(description="Verify now (look up the TXT record)")
    def verify_now(self, request, queryset) -> None:
        for custom_domain in queryset:
            checked = custom_domain_verify(custom_domain=custom_domain)
            if checked.is_verified:
                messages.success(
                    request, f"{checked.hostname} is verified and routes to {checked.organization}."
                )
            else:
                messages.warning(
                    request,
                    f"{checked.hostname} is not verified: {CHECK_ERRORS[checked.last_error]} "
                    f"Create {_record(checked)}",
                )
