from django.contrib import admin, messages
from unfold.admin import ModelAdmin, TabularInline

from loyalty_platform.core.admin_sites import platform_admin_site
from tenants.models import ApiKey, Domain, Organization, Plan, Subscription
from tenants.services import api_key_revoke


class DomainInline(TabularInline):
    model = Domain
    extra = 0


class SubscriptionInline(TabularInline):
    model = Subscription
    extra = 0


@admin.register(Organization, site=platform_admin_site)
class OrganizationAdmin(ModelAdmin):
    list_display = [
        "slug",
        "name",
        "schema_name",
        "currency",
        "verification_preset",
        "is_active",
        "created_at",
    ]
    search_fields = ["slug", "name"]
    list_filter = ["is_active", "verification_preset"]
    inlines = [DomainInline, SubscriptionInline]

    def get_readonly_fields(self, request, obj=None):
        # Renaming a schema or slug would break every host and key; create a new one instead.
        return ["slug", "schema_name", "created_at"] if obj else ["created_at"]

    def has_add_permission(self, request) -> bool:
        # Organizations are created with `manage.py create_organization`, which clones the
        # template schema and sets up the primary host.
        return False


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
