"""The preset's PIN step inside merchant admin forms (staff balance adjustments): the first
submit issues a challenge whose PIN appears in the customer's profile; staff ask for it and
submit again with it."""

import uuid

from django import forms
from django.http import QueryDict

from loyalty_platform.core.errors import DomainError
from loyalty_platform.core.portal_forms import PortalFormMixin
from loyalty_platform.customers.models import Customer
from loyalty_platform.verification.services import pin_gate, pin_required_for
from tenants.models import Organization

MESSAGES = {
    "pin_required": "The customer's profile shows a PIN now: ask the customer for it and enter it.",
    "pin_invalid": "Wrong PIN: {remaining_attempts} attempts left.",
    "pin_expired": "The PIN expired: submit again without a PIN for a new one.",
    "pin_attempts_exceeded": "Too many wrong PINs: submit again without a PIN for a new one.",
    "pin_locked": "PIN entry is locked for this customer for a while.",
}


class PinStepFields(PortalFormMixin, forms.Form):
    pin = forms.CharField(
        required=False,
        max_length=12,
        label="Customer's PIN",
        help_text="Asked for under Balanced and Strict.",
    )
    challenge_id = forms.UUIDField(required=False, widget=forms.HiddenInput)


def staff_pin_step(
    *, form: forms.Form, organization: Organization, customer: Customer
) -> tuple[bool, uuid.UUID | None]:
    """Run the PIN step for a valid form. Returns (passed, challenge id to spend); when not
    passed, the form carries the message (and the new challenge's id) to show again."""
    if not pin_required_for(organization=organization, action="adjust"):
        return True, None
    try:
        challenge = pin_gate(
            organization=organization,
            customer=customer,
            action="adjust",
            pin=form.cleaned_data.get("pin") or None,
            challenge_id=form.cleaned_data.get("challenge_id"),
        )
    except DomainError as error:
        if error.code not in MESSAGES:
            raise
        if "challenge_id" in error.extra:
            data = form.data.copy() if isinstance(form.data, QueryDict) else dict(form.data)
            data["challenge_id"] = error.extra["challenge_id"]
            data["pin"] = ""
            form.data = data
        form.add_error("pin", MESSAGES[error.code].format(**error.extra))
        return False, None
    return True, challenge
