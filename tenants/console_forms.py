"""Forms of the operator's console (tenants.admin)."""

from django import forms
from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _

from loyalty_platform.core.portal_forms import PortalFormMixin
from tenants.models import SLUG_PATTERN, Plan
from tenants.platform import organization_hostname


class OrganizationOpenForm(PortalFormMixin, forms.Form):
    name = forms.CharField(
        label=_("Business name"), max_length=120, help_text=_("As customers see it, e.g. Café Luna.")
    )
    slug = forms.CharField(
        label=_("Address"),
        max_length=40,
        validators=[RegexValidator(SLUG_PATTERN, _("Use lowercase letters, digits and single hyphens."))],
        help_text=_("The organization's address is <slug>.%(host)s; it cannot change later.")
        % {"host": organization_hostname("").lstrip(".")},
    )
    country = forms.CharField(
        label=_("Country"),
        max_length=2,
        validators=[RegexValidator(r"^[A-Za-z]{2}$", _("Give the two-letter ISO 3166 code, e.g. LT."))],
        help_text=_("ISO 3166 code of the business's country, e.g. LT."),
    )
    plan = forms.ModelChoiceField(
        label=_("Plan"), queryset=Plan.objects.filter(is_active=True), help_text=_("The subscription's plan.")
    )
    owner_email = forms.EmailField(
        label=_("Owner's email"),
        help_text=_("The owner gets an invitation with a link to choose their password."),
    )

    def clean_slug(self) -> str:
        return self.cleaned_data["slug"].strip().lower()

    def clean_country(self) -> str:
        return self.cleaned_data["country"].upper()


class ReasonForm(PortalFormMixin, forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        max_length=255,
        help_text=_("Why; the organization's staff read it in their audit log."),
    )
