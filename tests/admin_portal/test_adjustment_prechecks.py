"""Under Balanced, an adjustment the service would refuse asks the customer for no PIN."""

from decimal import Decimal

from django_tenants.utils import tenant_context

from loyalty_platform.stored_value.services import prepaid_transact
from loyalty_platform.verification.models import PinChallenge
from tests.admin_portal.test_merchant_admin import staff_login
from tests.pos_fixtures import balances, create_customer


def test_refused_adjustments_issue_no_pin_challenge(organization, programs, client_a):
    organization.verification_preset = "balanced"
    organization.save()
    staff_login(client_a, organization)
    customer = create_customer(organization, points=40, stamps=4)
    with tenant_context(organization):
        account = prepaid_transact(
            customer=customer, amount=Decimal("5.00"), currency="EUR", external_id="top"
        ).entry.prepaid_account
    cards = f"/admin/customers/customer/{customer.pk}/adjust/"
    prepaid = f"/admin/stored_value/prepaidaccount/{account.pk}/adjust/"

    overdraw = client_a.post(cards, {"card_type": "point", "delta": "-41", "reason": "x"})
    full_card = client_a.post(cards, {"card_type": "stamp", "delta": "6", "reason": "x"})
    money = client_a.post(prepaid, {"amount": "-5.01", "reason": "x"})

    assert "The balance cannot go below zero." in overdraw.content.decode()
    assert "would fill the stamp card" in full_card.content.decode()
    assert "insufficient balance" in money.content.decode()
    with tenant_context(organization):
        assert not PinChallenge.objects.filter(customer=customer).exists()
    assert balances(organization, customer) == {"point": (40, 40, 1), "stamp": (4, 4, 1)}
