"""Customer events (enrolled, updated, blocked) and staff adjustments, from the services the
POS API, the profile, imports and the portal call."""

import pytest
from django.db import transaction
from django_tenants.utils import tenant_context

from loyalty_platform.core.errors import DomainError
from loyalty_platform.customers.models import Customer
from loyalty_platform.customers.services import (
    card_block,
    card_unblock,
    customer_block,
    customer_unblock,
    customer_update,
)
from loyalty_platform.programs.services import card_adjust
from tests.pos_fixtures import create_customer
from tests.webhooks.event_helpers import card_of, deliveries, newest_entry, recorded


def _enroll(pos, email="anna@example.com", **fields):
    body = {"email": email, "consent_terms": True, "consent_privacy": True, **fields}
    return pos.post("/webhook/customer", body)


def test_an_enrollment_records_customer_enrolled(
    organization, programs, pos, endpoint, other_organization, endpoint_b
):
    response = _enroll(pos, consent_marketing=True)

    assert response.status_code == 200
    with tenant_context(organization):
        customer = Customer.objects.get(email="anna@example.com")
    assert recorded(organization) == [
        (
            "customer.enrolled",
            customer.pk,
            {
                "customer": {
                    "customer_code": customer.customer_code,
                    "masked_email": "a***@example.com",
                    "status": "active",
                },
                "source": "pos_api",
                "consent_marketing": True,
                "consent_sms": False,
            },
        )
    ]
    assert deliveries(organization) == [("customer.enrolled", endpoint.pk)]
    assert recorded(other_organization) == []


def test_a_known_email_or_a_refused_enrollment_records_nothing(organization, programs, pos, endpoint):
    create_customer(organization, email="known@example.com")

    assert _enroll(pos, email="KNOWN@example.com").status_code == 200
    assert _enroll(pos, email="new@example.com", consent_terms=False).status_code == 422
    assert _enroll(pos, email="not an email").status_code == 422

    assert recorded(organization) == []


def test_a_staff_edit_records_customer_updated_with_the_changed_fields(organization, programs, endpoint):
    customer = create_customer(organization, email="bo@example.com")

    with tenant_context(organization):
        customer_update(customer=customer, actor=None, name="Bo", phone="+31612345678")
        customer_update(customer=customer, actor=None, name="Bo", phone="+31612345678")  # no change
        with pytest.raises(DomainError), transaction.atomic():
            customer_update(customer=customer, actor=None, name="Bo", phone="12")

    assert recorded(organization) == [
        (
            "customer.updated",
            customer.pk,
            {
                "customer": {
                    "customer_code": customer.customer_code,
                    "masked_email": "b***@example.com",
                    "status": "active",
                },
                "changed": ["name", "phone"],
                "consent_marketing": False,
                "consent_sms": False,
            },
        )
    ]


def test_blocks_and_unblocks_record_customer_blocked(organization, programs, endpoint):
    customer = create_customer(organization, points=10)
    card = card_of(organization, customer, "point")

    with tenant_context(organization):
        customer_block(customer=customer, actor=None, reason="fraud")
        customer_unblock(customer=customer, actor=None, reason="cleared")
        card_block(card=card, actor=None, reason="lost")
        card_unblock(card=card, actor=None, reason="found")
        with pytest.raises(DomainError), transaction.atomic():
            card_unblock(card=card, actor=None, reason="again")  # not blocked

    ref = {"customer_code": customer.customer_code}
    assert recorded(organization) == [
        (
            "customer.blocked",
            customer.pk,
            {"customer": ref, "target": "customer", "card_number": None, "blocked": True},
        ),
        (
            "customer.blocked",
            customer.pk,
            {"customer": ref, "target": "customer", "card_number": None, "blocked": False},
        ),
        (
            "customer.blocked",
            customer.pk,
            {"customer": ref, "target": "card", "card_number": card.card_number, "blocked": True},
        ),
        (
            "customer.blocked",
            customer.pk,
            {"customer": ref, "target": "card", "card_number": card.card_number, "blocked": False},
        ),
    ]


def test_a_staff_adjustment_records_points_adjusted(organization, programs, endpoint):
    customer = create_customer(organization, points=10)

    with tenant_context(organization):
        card_adjust(customer=customer, card_type="point", delta=-4, reason=" goodwill ", staff_user=None)
        with pytest.raises(DomainError):
            card_adjust(customer=customer, card_type="point", delta=-400, reason="too much", staff_user=None)
        with pytest.raises(DomainError):
            card_adjust(customer=customer, card_type="point", delta=5, reason=" ", staff_user=None)

    card = card_of(organization, customer, "point")
    entry = newest_entry(organization, customer, "point")
    assert recorded(organization) == [
        (
            "points.adjusted",
            customer.pk,
            {
                "customer": {"customer_code": customer.customer_code},
                "card_number": card.card_number,
                "points": -4,
                "balance": 6,
                "ledger_entry_id": entry.pk,
                "external_id": "",
                "shop_id": None,
                "reason": "goodwill",
            },
        )
    ]
