"""A till key ends with its holder's standing: deactivating the staff member or changing their
role revokes it at once, not only their sign-out."""

import pytest
from django_tenants.utils import tenant_context

from loyalty_platform.accounts.services import staff_deactivate, staff_role_set
from loyalty_platform.till.services import till_key_issue
from tenants.models import ApiKey
from tests.factories import StaffUserFactory
from tests.pos_fixtures import PosClient, create_customer


@pytest.mark.parametrize(
    "change",
    [
        lambda user, owner: staff_deactivate(user=user, actor=owner),
        lambda user, owner: staff_role_set(user=user, role="marketing", actor=owner),
    ],
    ids=["deactivated", "role changed"],
)
def test_a_staff_change_revokes_their_till_key(organization, programs, shop, change):
    customer = create_customer(organization)
    with tenant_context(organization):
        owner = StaffUserFactory(email="owner@example.com")
        cashier = StaffUserFactory(email="till@example.com", role="cashier")
        issued = till_key_issue(organization=organization, user=cashier, shop=shop)
    pos = PosClient("test-a.localhost", issued.secret_key)
    assert pos.get("/webhook/customer", {"code": customer.customer_code}).status_code == 200

    with tenant_context(organization):
        change(cashier, owner)

    assert pos.get("/webhook/customer", {"code": customer.customer_code}).status_code == 401
    assert ApiKey.objects.get(pk=issued.api_key.pk).revoked_at is not None
