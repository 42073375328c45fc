import pytest
from django.db import connections
from django_tenants.utils import tenant_context

from loyalty_platform.programs.models import LedgerEntry
from tests.pos_fixtures import create_customer, issue_key


@pytest.fixture
def till(busy):
    """A committed customer of the busy organization and an unlimited key of its own."""
    organization, _ = busy
    customer = create_customer(organization)
    key = issue_key(organization)
    connections.close_all()
    return organization, customer, key


def ledger_by_external_id(organization, customer) -> tuple[dict[str, int], int, int]:
    """Earn entries per external_id, the sum of all the customer's entries, and the point
    card's cached balance."""
    with tenant_context(organization):
        entries = LedgerEntry.objects.filter(card__customer=customer, card__program__kind="point")
        counts: dict[str, int] = {}
        for external_id in entries.filter(cause="earn").values_list("external_id", flat=True):
            counts[external_id] = counts.get(external_id, 0) + 1
        total = sum(entries.values_list("delta", flat=True))
        balance = customer.cards.get(program__kind="point").balance
    return counts, total, balance
