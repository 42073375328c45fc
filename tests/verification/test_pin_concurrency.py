"""PIN challenges under real concurrency: tills asking one customer's PIN at the same moment."""

import uuid
from collections import Counter

import pytest
from django_tenants.utils import tenant_context

from loyalty_platform.verification.models import PinChallenge
from loyalty_platform.verification.services import pin_challenge_issue
from tests.pos_fixtures import create_customer, run_at_once

pytestmark = pytest.mark.usefixtures("committed_db")


@pytest.mark.parametrize("round_number", range(5))
def test_simultaneous_challenges_for_one_customer_leave_exactly_one_open(busy, round_number):
    organization, _ = busy
    customer = create_customer(organization, email=f"{uuid.uuid4().hex}@example.com")

    def issue(index):
        with tenant_context(organization):
            issued = pin_challenge_issue(organization=organization, customer=customer, action="redeem")
        return issued.challenge.pk

    issued_ids = run_at_once(8, issue)

    with tenant_context(organization):
        statuses = Counter(PinChallenge.objects.filter(customer=customer).values_list("status", flat=True))
        open_ids = list(
            PinChallenge.objects.filter(customer=customer, status="open").values_list("pk", flat=True)
        )
    assert len(set(issued_ids)) == 8
    assert statuses == {"open": 1, "replaced": 7}
    assert open_ids[0] in issued_ids
