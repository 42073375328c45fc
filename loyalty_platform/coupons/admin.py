from django.contrib import admin, messages

from loyalty_platform.core.admin_sites import MerchantModelAdmin, merchant_admin_site
from loyalty_platform.coupons.models import Coupon
from loyalty_platform.coupons.services import coupon_void


@admin.register(Coupon, site=merchant_admin_site)
class CouponAdmin(MerchantModelAdmin):
    list_display = ["name", "customer", "status", "issued_at", "expires_at", "redeemed_at"]
    list_filter = ["status", "program"]
    search_fields = ["customer__email", "=customer__customer_code", "qr_token"]
    readonly_fields = [field.name for field in Coupon._meta.fields]
    actions = ["void"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.action(description="Void the selected active coupons", permissions=["change"])
    def void(self, request, queryset):
        voided = sum(1 for coupon in queryset if coupon_void(coupon_id=coupon.pk, actor=request.user))
        messages.success(request, f"Voided {voided} coupon(s).")
