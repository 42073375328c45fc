"""Custom attributes in admin forms: one typed form field per AttributeDefinition of the
entity (text, number, yes/no, choice, multiple choice), checked together with the form."""

from django import forms
from django.utils.translation import gettext_lazy as _

from loyalty_platform.attributes.models import AttributeDefinition
from loyalty_platform.attributes.services import MAX_TEXT, attributes_clean_each

Kind = AttributeDefinition.Kind
PREFIX = "attribute_"
YES_NO = [("", "—"), ("true", _("Yes")), ("false", _("No"))]


def attribute_form_field(definition: AttributeDefinition) -> forms.Field:
    common = {
        "label": definition.label,
        "required": definition.required,
        "help_text": _("Custom attribute %(name)s, sent to the POS.") % {"name": definition.name},
    }
    choices = [(choice, choice) for choice in definition.choices]
    if definition.kind == Kind.NUMBER:
        return forms.DecimalField(**common)
    if definition.kind == Kind.BOOLEAN:
        return forms.TypedChoiceField(
            choices=YES_NO, coerce=lambda value: value == "true", empty_value=None, **common
        )
    if definition.kind == Kind.CHOICE:
        return forms.ChoiceField(choices=[("", "—"), *choices], **common)
    if definition.kind == Kind.MULTICHOICE:
        return forms.MultipleChoiceField(choices=choices, widget=forms.CheckboxSelectMultiple, **common)
    return forms.CharField(max_length=MAX_TEXT, **common)


def attribute_fields(entity: str) -> dict[str, forms.Field]:
    return {
        PREFIX + definition.name: attribute_form_field(definition)
        for definition in AttributeDefinition.objects.filter(entity=entity)
    }


class AttributeValuesForm(forms.ModelForm):
    """A model form whose instance keeps custom attribute values in `attributes`; the
    admin adds the fields (AttributeFieldsAdminMixin)."""

    attribute_entity = ""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        stored = self.instance.attributes or {}
        for name in self.fields:
            if name.startswith(PREFIX) and name[len(PREFIX) :] in stored:
                value = stored[name[len(PREFIX) :]]
                self.initial[name] = ("true" if value else "false") if isinstance(value, bool) else value

    def clean(self):
        cleaned = super().clean()
        names = [name for name in self.fields if name.startswith(PREFIX)]
        # Fields their own type refused are reported already; the rest are checked together.
        values = {name[len(PREFIX) :]: cleaned.get(name) for name in names if name not in self.errors}
        attributes, refused = attributes_clean_each(entity=self.attribute_entity, values=values)
        for attribute, reason in refused.items():
            if PREFIX + attribute in self.fields:
                self.add_error(PREFIX + attribute, reason)
        self.instance.attributes = attributes
        return cleaned


class AttributeFieldsAdminMixin:
    """Gives the admin's form one field per attribute definition, read when the form is built."""

    def get_form(self, request, obj=None, **kwargs):
        form = kwargs.get("form", self.form)
        kwargs["form"] = type(form.__name__, (form,), attribute_fields(form.attribute_entity))
        return super().get_form(request, obj, **kwargs)
