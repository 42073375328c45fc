from django.contrib import admin

from loyalty_platform.core.admin_sites import ReadOnlyAdmin, merchant_admin_site
from loyalty_platform.programs.models import LedgerEntry, Program


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
                    "excluded_categories",
                    "tier_period_days",
                )
            },
        ),
        ("Stamps", {"fields": ("stamps_per_card", "reward_name", "coupon_valid_days")}),
    )


@admin.register(LedgerEntry, site=merchant_admin_site)
class LedgerEntryAdmin(ReadOnlyAdmin):
    """The ledger is append-only: staff read it here; balances change only through services."""

    list_display = ["created_at", "card", "customer", "cause", "delta", "balance_after", "external_id"]
    list_filter = ["cause", "card__program"]
    search_fields = [
        "card__card_number",
        "card__customer__email",
        "=card__customer__customer_code",
        "external_id",
    ]
    list_select_related = ["card__customer"]

    @admin.display(description="Customer")
    def customer(self, entry: LedgerEntry) -> str:
        return str(entry.card.customer)
