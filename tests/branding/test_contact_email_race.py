"""Two staff members setting the first contact email at the same moment, with real threads:
both calls succeed (the later one changes the row the earlier one added), one row is left,
and never a 500 from the one-row constraint."""

import uuid

import pytest
from django.db import connections
from django_tenants.utils import tenant_context

from loyalty_platform.audit.models import AuditLogEntry
from loyalty_platform.branding.models import ContactEmail
from loyalty_platform.branding.services import contact_email_set
from tests.pos_fixtures import committed_organization, run_at_once

pytestmark = pytest.mark.usefixtures("committed_db")


@pytest.fixture(scope="module")
def fresh(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        organization, _ = committed_organization(f"test-contact-{uuid.uuid4().hex[:8]}", "Contact Café")
        connections.close_all()
    return organization


def test_two_first_contact_emails_at_once_leave_one_row(fresh):
    addresses = ("one@contact.example", "two@contact.example")

    def call(index):
        with tenant_context(fresh):
            return contact_email_set(email=addresses[index], actor=None).email

    results = run_at_once(2, call)

    assert results == list(addresses)
    with tenant_context(fresh):
        [row] = ContactEmail.objects.values_list("email", flat=True)
        changes = [
            details["changes"]["email"]
            for details in AuditLogEntry.objects.filter(action="contact_email_set")
            .order_by("pk")
            .values_list("details", flat=True)
        ]
    assert row in addresses
    # The first added it from nothing, the second changed the first's address to its own.
    first = addresses[0] if row == addresses[1] else addresses[1]
    assert changes == [["", first], [first, row]]
