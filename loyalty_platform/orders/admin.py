from django.contrib import admin
from unfold.admin import TabularInline

from loyalty_platform.core.admin_sites import MerchantModelAdmin, ReadOnlyAdmin, merchant_admin_site
from loyalty_platform.orders.models import EarningRule, Order, OrderLine, OrderReturn, OrderReturnLine


@admin.register(EarningRule, site=merchant_admin_site)
class EarningRuleAdmin(MerchantModelAdmin):
    list_display = [
        "name",
        "is_active",
        "applies_to",
        "match_values",
        "effect",
        "multiplier",
        "bonus_points",
        "starts_at",
        "ends_at",
    ]
    list_filter = ["is_active", "applies_to", "effect"]
    search_fields = ["name", "match_values"]
    fieldsets = (
        (None, {"fields": ("name", "is_active")}),
        ("Which lines", {"fields": ("applies_to", "match_values", "minimum_spend")}),
        ("What they earn", {"fields": ("effect", "multiplier", "bonus_points")}),
        ("When", {"fields": ("starts_at", "ends_at"), "description": "Leave empty for always."}),
    )


class OrderLineInline(TabularInline):
    model = OrderLine
    extra = 0
    can_delete = False
    fields = [
        "sku",
        "name",
        "category",
        "quantity",
        "unit_price",
        "multiplier",
        "excluded",
        "points_earned",
        "returned_quantity",
        "points_returned",
    ]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Order, site=merchant_admin_site)
class OrderAdmin(ReadOnlyAdmin):
    list_display = [
        "external_id",
        "created_at",
        "customer",
        "total",
        "currency",
        "points_earned",
        "points_returned",
        "points_unrecovered",
        "status",
    ]
    list_filter = ["status", "shop"]
    search_fields = ["external_id", "customer__email", "customer__customer_code"]
    inlines = [OrderLineInline]


class OrderReturnLineInline(TabularInline):
    model = OrderReturnLine
    extra = 0
    can_delete = False
    fields = ["order_line", "quantity", "points"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(OrderReturn, site=merchant_admin_site)
class OrderReturnAdmin(ReadOnlyAdmin):
    list_display = [
        "created_at",
        "order",
        "external_id",
        "is_cancellation",
        "points_due",
        "points_taken",
        "points_unrecovered",
    ]
    list_filter = ["is_cancellation"]
    search_fields = ["external_id", "order__external_id"]
    inlines = [OrderReturnLineInline]
