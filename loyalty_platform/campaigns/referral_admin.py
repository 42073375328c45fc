"""Referrals in the portal: read-only (a referral is recorded by the sign-up and rewarded by
the referral campaign, never edited by hand)."""

from django.contrib import admin

from loyalty_platform.campaigns.models import Referral
from loyalty_platform.core.admin_sites import ReadOnlyAdmin, merchant_admin_site


@admin.register(Referral, site=merchant_admin_site)
class ReferralAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "referrer", "friend", "status", "rewarded_at"]
    list_filter = ["status"]
    search_fields = [
        "referrer__email",
        "=referrer__customer_code",
        "friend__email",
        "=friend__customer_code",
    ]
    list_select_related = ["referrer", "friend"]
    date_hierarchy = "created_at"
    ordering = ["-created_at"]
