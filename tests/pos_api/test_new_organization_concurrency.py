"""The first earns of a new customer, at once, in an organization just cloned from the template:
each call creates the customer's card or finds the one a concurrent call created. Also in an
organization cloned before clones kept the template's names, whose constraints PostgreSQL named."""

import uuid
from collections import Counter

import pytest
from django.db import connection, connections
from django_tenants.utils import tenant_context

from loyalty_platform.customers.models import Customer
from loyalty_platform.programs.models import Card, LedgerEntry
from tenants.services import organization_create
from tests.pos_fixtures import PosClient, create_programs, issue_key, run_at_once

pytestmark = pytest.mark.usefixtures("committed_db")

CALLS = 8
ROUNDS = 3


# What django-tenants' clone named them (CREATE TABLE ... LIKE ... INCLUDING ALL).
OLD_CLONE_NAMES = [
    ("programs_card", "one_card_per_program", "programs_card_customer_id_program_id_key"),
    (
        "pos_api_idempotencyrecord",
        "idempotency_endpoint_external_id",
        "pos_api_idempotencyrecord_endpoint_external_id_key",
    ),
]


@pytest.fixture(params=["cloned", "cloned-with-old-names"])
def fresh_organization(request):
    slug = f"fresh-{uuid.uuid4().hex[:8]}"
    organization = organization_create(slug=slug, name="Fresh Café")
    create_programs(organization)
    if request.param == "cloned-with-old-names":
        with tenant_context(organization), connection.cursor() as cursor:
            for table, name, old_name in OLD_CLONE_NAMES:
                cursor.execute(f"ALTER TABLE {table} RENAME CONSTRAINT {name} TO {old_name}")
            # An index name the code must not rely on either.
            cursor.execute(
                "ALTER INDEX customer_email_ci_unique RENAME TO customers_customer_email_upper_idx"
            )
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


def test_simultaneous_enrolls_of_one_email_make_one_customer(fresh_organization):
    organization, key = fresh_organization
    email = f"{uuid.uuid4().hex}@example.com"

    def call(index):
        response = PosClient(f"{organization.slug}.localhost", key).post(
            "/webhook/customer",
            {"email": email.upper() if index % 2 else email, "consent_terms": True, "consent_privacy": True},
        )
        data = response.json()["data"]
        return response.status_code, data["customer_code"], data["is_new"]

    results = run_at_once(CALLS, call)

    assert Counter((status, is_new) for status, _, is_new in results) == {
        (200, True): 1,
        (200, False): CALLS - 1,
    }
    with tenant_context(organization):
        customer = Customer.objects.get(email__iexact=email)
        assert {code for _, code, _ in results} == {customer.customer_code}
        assert Customer.objects.filter(email__iexact=email).count() == 1
