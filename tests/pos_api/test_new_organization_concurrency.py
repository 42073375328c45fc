"""The first earns of a new customer, at once, in an organization just cloned from the template:
each call creates the customer's card or finds the one a concurrent call created."""

import uuid
from collections import Counter

import pytest
from django.db import connections
from django_tenants.utils import tenant_context

from loyalty_platform.customers.models import Customer
from loyalty_platform.programs.models import Card, LedgerEntry
from tenants.services import organization_create
from tests.pos_fixtures import PosClient, create_programs, issue_key, run_at_once

pytestmark = pytest.mark.usefixtures("committed_db")

CALLS = 8
ROUNDS = 3


@pytest.fixture
def fresh_organization():
    slug = f"fresh-{uuid.uuid4().hex[:8]}"
    organization = organization_create(slug=slug, name="Fresh Café")
    create_programs(organization)
    key = issue_key(organization)
    connections.close_all()
    return organization, key


@pytest.mark.parametrize("card_type", ["point", "stamp"])
def test_simultaneous_first_earns_of_a_new_customer_make_one_card(fresh_organization, card_type):
    organization, key = fresh_organization
    for round_index in range(ROUNDS):
        with tenant_context(organization):
            customer = Customer.objects.create(
                customer_code=700000 + round_index,
                email=f"first-{round_index}-{card_type}@example.com",
                consent_terms_at="2026-01-01T00:00:00Z",
                consent_privacy_at="2026-01-01T00:00:00Z",
            )

        def call(index, customer=customer):
            response = PosClient(f"{organization.slug}.localhost", key).post(
                "/webhook/pos",
                {
                    "customer_code": customer.customer_code,
                    "amount": 1,
                    "card_type": card_type,
                    "external_id": f"first-{customer.pk}-{index}",
                },
            )
            return response.status_code, response.json().get("error")

        assert Counter(run_at_once(CALLS, call)) == {(200, None): CALLS}
        with tenant_context(organization):
            card = Card.objects.get(customer=customer)
            assert card.program.kind == card_type
            entries = LedgerEntry.objects.filter(card=card).order_by("balance_after")
            assert list(entries.values_list("cause", "delta", "balance_after")) == [
                ("earn", 1, index + 1) for index in range(CALLS)
            ]
            assert sorted(entries.values_list("external_id", flat=True)) == sorted(
                f"first-{customer.pk}-{index}" for index in range(CALLS)
            )
            assert card.balance == CALLS
