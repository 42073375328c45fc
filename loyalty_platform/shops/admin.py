from django.contrib import admin

from loyalty_platform.core.admin_sites import MerchantModelAdmin, merchant_admin_site
from loyalty_platform.shops.models import Shop


@admin.register(Shop, site=merchant_admin_site)
class ShopAdmin(MerchantModelAdmin):
    list_display = ["name", "address", "is_active", "created_at"]
    search_fields = ["name"]
