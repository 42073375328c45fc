from django.contrib import admin

from loyalty_platform.core.admin_sites import ReadOnlyAdmin, merchant_admin_site
from loyalty_platform.rewards.models import Reward, RewardReception


@admin.register(Reward, site=merchant_admin_site)
class RewardAdmin(admin.ModelAdmin):
    list_display = ["name", "required_credits", "is_active", "allow_pre_redeem"]
    list_filter = ["is_active", "allow_pre_redeem"]
    search_fields = ["name"]


@admin.register(RewardReception, site=merchant_admin_site)
class RewardReceptionAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "reward", "customer", "points", "status", "collected_at"]
    list_filter = ["status", "reward"]
