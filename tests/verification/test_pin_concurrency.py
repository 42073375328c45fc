"""PIN challenges under real concurrency: tills asking one customer's PIN at the same moment."""

import threading
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connections, transaction
from django_tenants.utils import tenant_context

from loyalty_platform.customers.login import login_link_create
from loyalty_platform.verification.models import PinChallenge
from loyalty_platform.verification.services import pin_challenge_issue, pin_challenge_spend
from tests.pos_fixtures import create_customer, run_at_once, wait_for_a_lock_wait

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


def test_a_challenge_asked_while_a_pin_gated_action_commits_neither_waits_for_nor_deadlocks_it(busy):
    """The action holds the challenge it spends and then inserts a row referring to the
    customer (a key-share lock on the customer); a new challenge for the same customer and
    action, asked meanwhile, holds the customer's row and waits for that challenge. With a
    plain FOR UPDATE on the customer the two deadlocked."""
    organization, _ = busy
    customer = create_customer(organization, email=f"{uuid.uuid4().hex}@example.com")
    with tenant_context(organization):
        spent = pin_challenge_issue(organization=organization, customer=customer, action="redeem").challenge
    spending, proceed = threading.Event(), threading.Event()

    def action() -> str:
        try:
            with tenant_context(organization), transaction.atomic():
                pin_challenge_spend(challenge_id=spent.pk)
                spending.set()
                assert proceed.wait(timeout=10)
                login_link_create(customer=customer)  # any insert referring to the customer
            return "committed"
        finally:
            connections.close_all()

    def new_challenge() -> str:
        try:
            assert spending.wait(timeout=10)
            with tenant_context(organization):
                pin_challenge_issue(organization=organization, customer=customer, action="redeem")
            return "issued"
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = [pool.submit(action), pool.submit(new_challenge)]
        assert spending.wait(timeout=10)
        wait_for_a_lock_wait()  # the new challenge waits for the spent one
        proceed.set()
        outcomes = [future.result(timeout=30) for future in results]

    assert outcomes == ["committed", "issued"]
    with tenant_context(organization):
        statuses = Counter(PinChallenge.objects.filter(customer=customer).values_list("status", flat=True))
    assert statuses == {"spent": 1, "open": 1}
