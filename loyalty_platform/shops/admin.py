from django.contrib import admin

from loyalty_platform.core.admin_sites import MerchantModelAdmin, merchant_admin_site
from loyalty_platform.shops.models import Shop
from loyalty_platform.shops.services import shop_create
from tenants.limit_admin import PlanLimitedAdminMixin


@admin.register(Shop, site=merchant_admin_site)
class ShopAdmin(PlanLimitedAdminMixin, MerchantModelAdmin):
    plan_limit = "shops"
    list_display = ["name", "address", "is_active", "created_at"]
    search_fields = ["name"]

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        # Created by the service, which holds the plan's limit; the admin goes on with `obj`.
        created = shop_create(name=obj.name, address=obj.address, is_active=obj.is_active)
        obj.pk, obj.created_at = created.pk, created.created_at
        obj._state.adding = False
        self.audit_form_save(request, obj, form, change)
