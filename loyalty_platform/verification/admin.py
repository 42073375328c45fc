from django.contrib import admin

from loyalty_platform.core.admin_sites import ReadOnlyAdmin, merchant_admin_site
from loyalty_platform.verification.models import PinChallenge


@admin.register(PinChallenge, site=merchant_admin_site)
class PinChallengeAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "customer", "action", "status", "remaining_attempts", "expires_at"]
    list_filter = ["action", "status"]
    exclude = ["pin_hash"]
