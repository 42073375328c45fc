"""Public-schema models a merchant's staff may see, each scoped to their own organization."""

from django import forms
from django.contrib import admin, messages

from loyalty_platform.audit.services import audit_record
from loyalty_platform.core.admin_sites import MerchantModelAdmin, merchant_admin_site
from loyalty_platform.core.errors import DomainError
from loyalty_platform.core.sms import sms_configured
from loyalty_platform.orders.claims import receipt_claim_key as claim_key_for
from loyalty_platform.shops.models import Shop
from tenants.branding import safe_brand_color, validate_brand_color
from tenants.limit_admin import PlanLimitedAdminMixin
from tenants.models import ApiKey, Organization
from tenants.selectors import API_KEY_PREFIX
from tenants.services import (
    api_key_create,
    api_key_revoke,
    api_key_shop_check,
    api_key_update,
    organization_form_save,
)

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
        fields = [
            "name",
            "verification_preset",
            "pin_length",
            "brand_color",
            "rate_limits",
            "phone_enrollment",
        ]
        widgets = {"brand_color": forms.TextInput(attrs={"type": "color"})}
        help_texts = {
            "verification_preset": "When the till asks for the one-time PIN shown in the customer's profile. "
            "Standard: never. Balanced: to redeem points, stamps or coupons, to pay with prepaid credit and "
            "for staff balance adjustments. Strict: also to earn and to reverse, and typed customer codes "
            "are refused (the QR must be scanned).",
            "pin_length": "Digits of the one-time PIN.",
            "rate_limits": 'Requests per minute per API key, e.g. {"transactions": 60, "customer": 30} '
            "(transactions: calls that change something; customer: look-ups). Empty uses "
            "the platform defaults; a key may override them.",
            "brand_color": "The colour of the customer pages' header and buttons; their text is "
            "white or black, whichever reads better on it.",
            "phone_enrollment": "Tills may enroll a customer with only a phone number (POST "
            "/webhook/customer with phone and no email): the customer is texted a link where they "
            "accept the terms and privacy notice and finish joining; the till hears when they have. "
            "Off: an email is required.",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["brand_color"].validators.append(validate_brand_color)
        if self.instance.pk and not self.is_bound:
            # A value saved before validation existed shows (and saves) as the default.
            self.initial["brand_color"] = safe_brand_color(self.instance.brand_color)

    def clean_brand_color(self):
        return self.cleaned_data["brand_color"].lower()

    def clean_rate_limits(self):
        value = self.cleaned_data["rate_limits"]
        validate_rate_limits(value)
        return value

    def clean_phone_enrollment(self):
        value = self.cleaned_data["phone_enrollment"]
        if value and not self.instance.phone_enrollment and not sms_configured():
            raise forms.ValidationError(
                "The platform has no SMS sender yet, so customers could not get their link. "
                "Ask the operator to configure one (SMS_BACKEND)."
            )
        return value


class OwnOrganizationMixin:
    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Organization, site=merchant_admin_site)
class OrganizationSettingsAdmin(OwnOrganizationMixin, MerchantModelAdmin):
    form = OrganizationSettingsForm
    list_display = ["name", "verification_preset", "pin_length", "currency"]
    readonly_fields = ["slug", "currency", "receipt_claim_key"]

    @admin.display(description="Receipt claim key")
    def receipt_claim_key(self, organization: Organization) -> str:
        # For POS vendors who build receipt claim links themselves (docs/receipt-claims.md).
        return claim_key_for(organization)

    def get_queryset(self, request):
        return super().get_queryset(request).filter(pk=request.organization.pk)

    def save_model(self, request, obj, form, change) -> None:
        organization_form_save(organization=obj, form=form)
        self.audit_form_save(request, obj, form, change)


class ApiKeyForm(forms.ModelForm):
    """The shop is one of the organization's shops (a select), checked again by the service."""

    shop_id = forms.TypedChoiceField(
        label="Shop",
        coerce=int,
        empty_value=None,
        required=False,
        help_text="The shop this till or integration is in; orders it reports are booked there.",
    )

    class Meta:
        model = ApiKey
        fields = ["label", "shop_id", "rate_limits"]
        help_texts = {
            "label": 'A name to tell keys apart, e.g. "Till 1, Main Street".',
            "rate_limits": 'Requests per minute for this key, e.g. {"transactions": 600, "customer": 60}; '
            "empty uses the organization's limits.",
        }

    organization: Organization | None = None  # set by the admin's get_form

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        shops = [
            (shop.pk, shop.name if shop.is_active else f"{shop.name} (inactive)")
            for shop in Shop.objects.all()
        ]
        self.fields["shop_id"].choices = [("", "No shop"), *shops]

    def clean_shop_id(self):
        shop_id = self.cleaned_data["shop_id"]
        if self.organization is not None:
            try:
                api_key_shop_check(organization=self.organization, shop_id=shop_id)
            except DomainError as error:
                raise forms.ValidationError("Choose one of the organization's shops.") from error
        return shop_id

    def clean_rate_limits(self):
        value = self.cleaned_data["rate_limits"]
        validate_rate_limits(value)
        return value


@admin.register(ApiKey, site=merchant_admin_site)
class MerchantApiKeyAdmin(PlanLimitedAdminMixin, MerchantModelAdmin):
    plan_limit = "api_keys"
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

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        return type(form.__name__, (form,), {"organization": request.organization})

    def save_model(self, request, obj, form, change):
        if change:
            api_key_update(api_key=obj, label=obj.label, shop_id=obj.shop_id, rate_limits=obj.rate_limits)
            self.audit_form_save(request, obj, form, change)
            return
        issued = api_key_create(organization=request.organization, label=obj.label, shop_id=obj.shop_id)
        if obj.rate_limits:
            issued.api_key.rate_limits = obj.rate_limits
            issued.api_key.save(update_fields=["rate_limits"])
        # The admin goes on with `obj` (log entry, redirect): make it the issued key.
        obj.pk = issued.api_key.pk
        obj.lookup_id = issued.api_key.lookup_id
        obj._state.adding = False
        self.audit_form_save(request, obj, form, change)
        lookup_id, _, secret = issued.secret_key.removeprefix(API_KEY_PREFIX).partition("_")
        messages.warning(
            request,
            f"New API key (shown only now, store it in the POS): {issued.secret_key} · For integrations "
            f"built on the Loyalty.lt SDK (Shop API): API key lty_{lookup_id}, API secret {secret}",
        )

    @admin.action(description="Revoke the selected keys")
    def revoke(self, request, queryset):
        for api_key in queryset:
            api_key_revoke(api_key=api_key)
            # Keys live in the public schema, which has no audit log: the organization's gets it.
            audit_record(actor=request.user, action="api_key_revoke", target=api_key, details={})
        messages.success(request, f"Revoked {queryset.count()} key(s).")
