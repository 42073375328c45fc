from django import forms
from django.contrib import admin

from loyalty_platform.attributes.models import AttributeDefinition
from loyalty_platform.core.admin_sites import MerchantModelAdmin, merchant_admin_site


class AttributeDefinitionForm(forms.ModelForm):
    choices = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="For choice attributes: one choice per line, e.g. percentage_discount.",
    )

    class Meta:
        model = AttributeDefinition
        fields = ["entity", "name", "label", "kind", "choices", "required"]
        help_texts = {"name": "Prefix with your integration, e.g. mypos_discount_type."}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial["choices"] = "\n".join(self.instance.choices or [])

    def clean_choices(self) -> list[str]:
        lines = (line.strip() for line in self.cleaned_data["choices"].splitlines())
        return list(dict.fromkeys(line for line in lines if line))

    def clean(self):
        cleaned = super().clean()
        kind, choices = cleaned.get("kind"), cleaned.get("choices")
        needs_choices = kind in (AttributeDefinition.Kind.CHOICE, AttributeDefinition.Kind.MULTICHOICE)
        if needs_choices and not choices:
            self.add_error("choices", "Give the choices, one per line.")
        if not needs_choices and choices:
            self.add_error("choices", "Only choice attributes have choices.")
        return cleaned


@admin.register(AttributeDefinition, site=merchant_admin_site)
class AttributeDefinitionAdmin(MerchantModelAdmin):
    form = AttributeDefinitionForm
    list_display = ["name", "label", "entity", "kind", "required"]
    list_filter = ["entity", "kind"]
