from django.contrib import admin

from loyalty_platform.core.admin_sites import ReadOnlyAdmin, merchant_admin_site
from loyalty_platform.tiers.models import CustomerTier, Tier


@admin.register(Tier, site=merchant_admin_site)
class TierAdmin(admin.ModelAdmin):
    list_display = ["name", "threshold_points", "points_multiplier", "description"]


@admin.register(CustomerTier, site=merchant_admin_site)
class CustomerTierAdmin(ReadOnlyAdmin):
    list_display = ["customer", "tier", "qualifying_points", "recalculated_at"]
    list_filter = ["tier"]
    search_fields = ["customer__email", "customer__customer_code"]
