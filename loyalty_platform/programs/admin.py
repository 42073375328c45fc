from django.contrib import admin

from loyalty_platform.core.admin_sites import merchant_admin_site
from loyalty_platform.programs.models import Program


@admin.register(Program, site=merchant_admin_site)
class ProgramAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "is_active", "earn_points_per_unit", "stamps_per_card", "reward_name"]
    list_filter = ["kind", "is_active"]
    fieldsets = (
        (None, {"fields": ("kind", "name", "is_active")}),
        (
            "Points",
            {
                "fields": (
                    "earn_points_per_unit",
                    "earn_rounding",
                    "redeem_points_per_unit",
                    "min_redeem_points",
                    "allow_negative_balance",
                )
            },
        ),
        ("Stamps", {"fields": ("stamps_per_card", "reward_name", "coupon_valid_days")}),
    )
