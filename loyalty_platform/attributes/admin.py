from django import forms
from django.contrib import admin

from loyalty_platform.attributes.models import AttributeDefinition
from loyalty_platform.core.admin_sites import merchant_admin_site


class AttributeDefinitionForm(forms.ModelForm):
    class Meta:
        model = AttributeDefinition
        fields = ["entity", "name", "label", "kind", "choices", "required"]
        help_texts = {"name": "Prefix with your integration, e.g. mypos_discount_type."}

    def clean(self):
        cleaned = super().clean()
        kind, choices = cleaned.get("kind"), cleaned.get("choices")
        needs_choices = kind in (AttributeDefinition.Kind.CHOICE, AttributeDefinition.Kind.MULTICHOICE)
        if needs_choices and (
            not isinstance(choices, list) or not choices or not all(isinstance(c, str) and c for c in choices)
        ):
            self.add_error("choices", 'Give the choices as a list of texts, e.g. ["percentage_discount"].')
        if not needs_choices and choices:
            self.add_error("choices", "Only choice attributes have choices.")
        return cleaned


@admin.register(AttributeDefinition, site=merchant_admin_site)
class AttributeDefinitionAdmin(admin.ModelAdmin):
    form = AttributeDefinitionForm
    list_display = ["name", "label", "entity", "kind", "required"]
    list_filter = ["entity", "kind"]
