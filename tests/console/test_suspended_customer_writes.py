"""While an organization is suspended nothing changes, also on the customer's side: a
receipt's claim link, a till's invitation and a QR scan from the profile are refused by their
services (the POS API refuses such an organization before any service)."""

from decimal import Decimal
from types import SimpleNamespace

import pytest
from django_tenants.utils import tenant_context

from loyalty_platform.core import errors
from loyalty_platform.core.errors import DomainError
from loyalty_platform.identification.models import Invitation, QrCardSession
from loyalty_platform.identification.services import (
    invitation_accept,
    invitation_create,
    qr_card_session_create,
    qr_card_session_identify,
)
from loyalty_platform.orders.earning import LineInput
from loyalty_platform.orders.models import Order
from loyalty_platform.orders.services import order_claim, order_create
from loyalty_platform.programs.models import LedgerEntry
from tenants.lifecycle import organization_reactivate, organization_suspend
from tenants.models import Organization
from tenants.services import organization_form_save
from tests.pos_fixtures import create_customer

pytestmark = pytest.mark.django_db
LINES = [
    LineInput(sku="BEANS", name="Beans", category="", quantity=Decimal("2"), unit_price=Decimal("10.00"))
]


def refusal(call) -> str:
    with pytest.raises(DomainError) as caught:
        call()
    return caught.value.error.code


def test_claims_invitations_and_scans_wait_for_the_reactivation(organization, programs, operator):
    customer = create_customer(organization, email="member@example.com")
    with tenant_context(organization):
        order_create(
            organization=organization,
            external_id="receipt-1",
            customer=None,
            shop_id=None,
            currency=organization.currency,
            total=Decimal("20.00"),
            lines=LINES,
        )
        invitation = invitation_create(email="member@example.com")
        session = qr_card_session_create(device_name="Till 1")
        entries = LedgerEntry.objects.count()
    organization_suspend(organization=organization, reason="Unpaid", operator=operator)
    suspended = Organization.objects.get(pk=organization.pk)

    with tenant_context(suspended):
        assert refusal(lambda: order_claim(order_external_id="receipt-1", customer=customer)) == (
            errors.ORGANIZATION_SUSPENDED.code
        )
        assert refusal(lambda: invitation_accept(invitation_id=invitation.pk, customer=customer)) == (
            errors.ORGANIZATION_SUSPENDED.code
        )
        assert refusal(lambda: qr_card_session_identify(session_id=session.pk, customer=customer)) == (
            errors.ORGANIZATION_SUSPENDED.code
        )
        assert Order.objects.get(external_id="receipt-1").customer_id is None
        assert Invitation.objects.get(pk=invitation.pk).customer_id is None
        assert QrCardSession.objects.get(pk=session.pk).customer_id is None
        assert LedgerEntry.objects.count() == entries

    organization_reactivate(organization=suspended, reason="Paid", operator=operator)
    with tenant_context(Organization.objects.get(pk=organization.pk)):
        assert order_claim(order_external_id="receipt-1", customer=customer).customer_id == customer.pk
        assert LedgerEntry.objects.count() > entries


def test_a_settings_page_loaded_before_a_suspension_cannot_undo_it(organization, operator):
    """The owner opened the settings form; the operator suspends; the owner saves."""
    stale = Organization.objects.get(pk=organization.pk)
    organization_suspend(organization=organization, reason="Unpaid", operator=operator)

    form = SimpleNamespace(changed_data=["name", "brand_color", "not_a_column"])
    stale.name, stale.brand_color = "Renamed Café", "#123456"
    organization_form_save(organization=stale, form=form)

    saved = Organization.objects.get(pk=organization.pk)
    assert (saved.name, saved.brand_color, saved.status, saved.status_reason) == (
        "Renamed Café",
        "#123456",
        Organization.Status.SUSPENDED,
        "Unpaid",
    )
