"""Public-schema models a merchant's staff may see, each scoped to their own organization."""

from django import forms
from django.contrib import admin, messages

from loyalty_platform.core.admin_sites import merchant_admin_site
from loyalty_platform.orders.claims import receipt_claim_key as claim_key_for
from tenants.models import ApiKey, Organization
from tenants.services import api_key_create, api_key_revoke

RATE_LIMIT_GROUPS = ("transactions", "customer")


def validate_rate_limits(value) -> None:
    if not isinstance(value, dict):
        raise forms.ValidationError('Give an object such as {"transactions": 60, "customer": 30}.')
    for group, limit in value.items():
        if group not in RATE_LIMIT_GROUPS:
            raise forms.ValidationError(f"Unknown group {group!r}; use {', '.join(RATE_LIMIT_GROUPS)}.")
        if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= 100_000:
            raise forms.ValidationError(f"The limit of {group} must be a whole number from 1 to 100000.")


class OrganizationSettingsForm(forms.ModelForm):
    class Meta:
        model = Organization
        fields = ["name", "verification_preset", "pin_length", "brand_color", "rate_limits"]

    def clean_rate_limits(self):
        value = self.cleaned_data["rate_limits"]
        validate_rate_limits(value)
        return value


class OwnOrganizationMixin:
    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Organization, site=merchant_admin_site)
class OrganizationSettingsAdmin(OwnOrganizationMixin, admin.ModelAdmin):
    form = OrganizationSettingsForm
    list_display = ["name", "verification_preset", "pin_length", "currency"]
    readonly_fields = ["slug", "currency", "receipt_claim_key"]

    @admin.display(description="Receipt claim key")
    def receipt_claim_key(self, organization: Organization) -> str:
        # For POS vendors who build receipt claim links themselves (docs/receipt-claims.md).
        return claim_key_for(organization)

    def get_queryset(self, request):
        return super().get_queryset(request).filter(pk=request.organization.pk)


class ApiKeyForm(forms.ModelForm):
    class Meta:
        model = ApiKey
        fields = ["label", "shop_id", "rate_limits"]

    def clean_rate_limits(self):
        value = self.cleaned_data["rate_limits"]
        validate_rate_limits(value)
        return value


@admin.register(ApiKey, site=merchant_admin_site)
class MerchantApiKeyAdmin(admin.ModelAdmin):
    form = ApiKeyForm
    list_display = [
        "lookup_id",
        "label",
        "kind",
        "shop_id",
        "created_at",
        "last_used_at",
        "expires_at",
        "revoked_at",
    ]
    readonly_fields = ["lookup_id", "created_at", "last_used_at", "expires_at", "revoked_at"]
    actions = ["revoke"]

    @admin.display(description="Kind")
    def kind(self, api_key: ApiKey) -> str:
        return "Browser till (one staff member, expires)" if api_key.is_till_key else "POS or integration"

    def has_change_permission(self, request, obj=None) -> bool:
        # The till issues, replaces and revokes its own keys (loyalty_platform/till).
        if obj is not None and obj.is_till_key:
            return False
        return super().has_change_permission(request, obj)

    def get_queryset(self, request):
        return super().get_queryset(request).filter(organization_id=request.organization.pk)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # revoke instead: the key's history stays

    def save_model(self, request, obj, form, change):
        if change:
            obj.save(update_fields=["label", "shop_id", "rate_limits"])
            return
        issued = api_key_create(organization=request.organization, label=obj.label, shop_id=obj.shop_id)
        if obj.rate_limits:
            issued.api_key.rate_limits = obj.rate_limits
            issued.api_key.save(update_fields=["rate_limits"])
        # The admin goes on with `obj` (log entry, redirect): make it the issued key.
        obj.pk = issued.api_key.pk
        obj.lookup_id = issued.api_key.lookup_id
        obj._state.adding = False
        messages.warning(request, f"New API key (shown only now, store it in the POS): {issued.secret_key}")

    @admin.action(description="Revoke the selected keys")
    def revoke(self, request, queryset):
        for api_key in queryset:
            api_key_revoke(api_key=api_key)
        messages.success(request, f"Revoked {queryset.count()} key(s).")
