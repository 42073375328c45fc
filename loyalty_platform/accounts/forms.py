from django import forms
from django.contrib.auth.forms import SetPasswordForm
from django.utils.translation import gettext_lazy as _

from loyalty_platform.accounts.models import User
from loyalty_platform.accounts.roles import ROLE_CHOICES
from loyalty_platform.core.portal_forms import PortalFormMixin


class InviteForm(PortalFormMixin, forms.Form):
    email = forms.EmailField(label=_("Email"), help_text=_("The invitation link is sent to this address."))
    role = forms.ChoiceField(
        label=_("Role"),
        choices=ROLE_CHOICES,
        help_text=_(
            "Owner: everything, including staff, API keys and settings. Manager: programs, rewards, "
            "vouchers, giftcards, customers and orders. Cashier: the till and customer look-up. "
            "Marketing: promotions, vouchers, rewards and customer export. Developer: API keys, "
            "webhooks and shops, no customer data."
        ),
    )

    def clean_email(self) -> str:
        email = self.cleaned_data["email"].strip().lower()
        if User.objects.filter(email__iexact=email).exists():
            raise forms.ValidationError(
                _("This address already has a staff account here."), code="already_staff"
            )
        return email


class RoleForm(PortalFormMixin, forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=ROLE_CHOICES)


class CodeForm(PortalFormMixin, forms.Form):
    code = forms.CharField(
        label=_("Code from your authenticator app"),
        min_length=6,
        max_length=8,
        strip=True,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
    )

    def clean_code(self) -> str:
        code = self.cleaned_data["code"].replace(" ", "")
        if not code.isdigit():
            raise forms.ValidationError(_("The code is 6 digits."), code="code_invalid")
        return code


class TwoFactorPolicyForm(PortalFormMixin, forms.Form):
    staff_two_factor_required = forms.BooleanField(
        label=_("Owners must use two-factor sign-in"),
        required=False,
        help_text=_("An owner without an authenticator app is asked to set one up at the next sign-in."),
    )


class PortalSetPasswordForm(PortalFormMixin, SetPasswordForm):
    """Choosing the password of an accepted invitation."""
