"""Two staff edits at once giving one number to two members without an email: one wins, the
other is told phone_taken (the unique index decides; the check before it could not see the
other edit yet), never a 500."""

import uuid

import pytest
from django.db import connections
from django.utils import timezone
from django_tenants.utils import tenant_context

from loyalty_platform.core.errors import DomainError
from loyalty_platform.customers.models import Customer
from loyalty_platform.customers.services import customer_update
from tests.pos_fixtures import committed_organization, run_at_once

pytestmark = pytest.mark.usefixtures("committed_db")


@pytest.mark.parametrize("round_number", range(3))
def test_one_number_given_to_two_phone_members_at_once(round_number):
    organization, _ = committed_organization("phone-race", "Phone Race")
    suffix = uuid.uuid4().int % 10**7
    wanted = f"+3706{suffix:07d}"
    with tenant_context(organization):
        members = [
            Customer.objects.create(
                customer_code=100000 + (suffix * 2 + index) % 800000,
                email="",
                phone=f"+3709{(suffix + index) % 10**7:07d}",
                consent_terms_at=timezone.now(),
                consent_privacy_at=timezone.now(),
            )
            for index in range(2)
        ]
    connections.close_all()

    def edit(index: int) -> str:
        with tenant_context(organization):
            try:
                customer_update(customer=members[index], actor=None, name="", phone=wanted)
            except DomainError as error:
                return error.code
            return "saved"

    outcomes = run_at_once(2, edit)

    assert sorted(outcomes) == ["phone_taken", "saved"]
    with tenant_context(organization):
        assert Customer.objects.filter(phone=wanted).count() == 1
