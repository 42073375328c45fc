from django.contrib import admin

from loyalty_platform.attributes.forms import AttributeFieldsAdminMixin, AttributeValuesForm
from loyalty_platform.attributes.models import AttributeDefinition
from loyalty_platform.core.admin_sites import MerchantModelAdmin, ReadOnlyAdmin, merchant_admin_site
from loyalty_platform.rewards.models import Reward, RewardReception

DISCOUNT_FIELDS = ("discount_type", "discount_value", "product_code", "category")


class RewardForm(AttributeValuesForm):
    attribute_entity = AttributeDefinition.Entity.REWARD

    class Meta:
        model = Reward
        fields = [
            "name",
            "description",
            "required_credits",
            "image",
            "is_active",
            "allow_pre_redeem",
            *DISCOUNT_FIELDS,
        ]


@admin.register(Reward, site=merchant_admin_site)
class RewardAdmin(AttributeFieldsAdminMixin, MerchantModelAdmin):
    form = RewardForm
    list_display = [
        "name",
        "required_credits",
        "discount_type",
        "discount_value",
        "is_active",
        "allow_pre_redeem",
    ]
    list_filter = ["is_active", "allow_pre_redeem", "discount_type"]
    search_fields = ["name"]


@admin.register(RewardReception, site=merchant_admin_site)
class RewardReceptionAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "reward", "customer", "points", "status", "collected_at"]
    list_filter = ["status", "reward"]
