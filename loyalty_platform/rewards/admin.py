from django import forms
from django.contrib import admin

from loyalty_platform.attributes.forms import clean_attributes_field
from loyalty_platform.attributes.models import AttributeDefinition
from loyalty_platform.core.admin_sites import ReadOnlyAdmin, merchant_admin_site
from loyalty_platform.rewards.models import Reward, RewardReception


class RewardForm(forms.ModelForm):
    class Meta:
        model = Reward
        fields = [
            "name",
            "description",
            "required_credits",
            "image",
            "is_active",
            "allow_pre_redeem",
            "attributes",
        ]
        help_texts = {
            "attributes": 'Values of the reward attributes, e.g. {"mypos_discount_type": "free_item"}.'
        }

    def clean_attributes(self):
        return clean_attributes_field(
            entity=AttributeDefinition.Entity.REWARD, values=self.cleaned_data["attributes"]
        )


@admin.register(Reward, site=merchant_admin_site)
class RewardAdmin(admin.ModelAdmin):
    form = RewardForm
    list_display = ["name", "required_credits", "is_active", "allow_pre_redeem"]
    list_filter = ["is_active", "allow_pre_redeem"]
    search_fields = ["name"]


@admin.register(RewardReception, site=merchant_admin_site)
class RewardReceptionAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "reward", "customer", "points", "status", "collected_at"]
    list_filter = ["status", "reward"]
