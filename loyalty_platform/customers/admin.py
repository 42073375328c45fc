from django.contrib import admin

from loyalty_platform.core.admin_sites import merchant_admin_site
from loyalty_platform.customers.models import Customer
from loyalty_platform.programs.models import Card


class CardInline(admin.TabularInline):
    model = Card
    extra = 0
    can_delete = False
    fields = ["card_number", "program", "status", "balance", "created_at"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Customer, site=merchant_admin_site)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ["customer_code", "email", "name", "phone", "status", "created_at"]
    list_filter = ["status"]
    search_fields = ["=customer_code", "email", "name", "phone"]
    readonly_fields = [
        "customer_code",
        "email",
        "consent_terms_at",
        "consent_privacy_at",
        "consent_marketing_at",
        "created_at",
        "updated_at",
    ]
    fields = ["customer_code", "email", "name", "phone", "status", *readonly_fields[2:]]
    inlines = [CardInline]

    def has_add_permission(self, request) -> bool:
        # Customers enroll themselves or at the POS, giving their consents.
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
