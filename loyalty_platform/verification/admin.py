from django.contrib import admin

from loyalty_platform.core.admin_sites import merchant_admin_site
from loyalty_platform.verification.models import PinChallenge


@admin.register(PinChallenge, site=merchant_admin_site)
class PinChallengeAdmin(admin.ModelAdmin):
    list_display = ["created_at", "customer", "action", "status", "remaining_attempts", "expires_at"]
    list_filter = ["action", "status"]
    exclude = ["pin_hash"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
