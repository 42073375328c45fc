"""An erasure racing a prepaid top-up, with real threads and their own database sessions
(docs/decisions/0056): either the top-up commits first and the erasure is refused
(customer_has_money), or the erasure commits first and the top-up is refused
(customer_not_found). Never is money left on an erased account, whether the customer had a
prepaid account already or the top-up creates it."""

import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from decimal import Decimal

import pytest
from django.db import connections, transaction
from django_tenants.utils import tenant_context

from loyalty_platform.core.errors import DomainError
from loyalty_platform.customers.models import Customer
from loyalty_platform.customers.services import customer_erase
from loyalty_platform.stored_value.models import MoneyEntry, PrepaidAccount
from loyalty_platform.stored_value.services import prepaid_transact
from tests.pos_fixtures import (
    committed_organization,
    create_customer,
    held_by_another_session,
    run_at_once,
    wait_for_a_lock_wait,
)

pytestmark = pytest.mark.usefixtures("committed_db")


@pytest.fixture(scope="module")
def racing(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        organization, _ = committed_organization("test-erase-race", "Race Bakery")
        connections.close_all()
    return organization


def customer_with(organization, *, account: bool) -> Customer:
    """A new customer, with an empty prepaid account (topped up and spent) or none."""
    customer = create_customer(organization, email=f"{uuid.uuid4().hex}@example.com")
    if account:
        with tenant_context(organization):
            prepaid_transact(customer=customer, amount=Decimal("3.00"), currency="EUR", external_id="first")
            prepaid_transact(customer=customer, amount=Decimal("-3.00"), currency="EUR", external_id="spent")
    return customer


def outcome(call) -> str:
    try:
        call()
    except DomainError as error:
        return error.code
    return "done"


def top_up(organization, customer):
    with tenant_context(organization):
        return outcome(
            lambda: prepaid_transact(
                customer=customer, amount=Decimal("10.00"), currency="EUR", external_id=uuid.uuid4().hex
            )
        )


def erase(organization, customer):
    with tenant_context(organization):
        return outcome(lambda: customer_erase(customer=customer))


RACERS = (top_up, erase)


def in_thread(call):
    def run():
        try:
            return call()
        finally:
            connections.close_all()

    return run


def money_of(organization, customer) -> tuple:
    with tenant_context(organization):
        status = Customer.objects.get(pk=customer.pk).status
        balance = PrepaidAccount.objects.filter(customer=customer).values_list("balance", flat=True).first()
        loads = MoneyEntry.objects.filter(
            prepaid_account__customer=customer, external_id__regex="^[0-9a-f]{32}$"
        )
        return status, balance, loads.count()


@pytest.mark.parametrize("account", [True, False], ids=["with-account", "first-top-up"])
def test_a_top_up_holding_its_lock_first_makes_the_erasure_refused(racing, account):
    customer = customer_with(racing, account=account)

    @contextmanager
    def topping_up():
        with tenant_context(racing), transaction.atomic():
            prepaid_transact(
                customer=customer, amount=Decimal("10.00"), currency="EUR", external_id=uuid.uuid4().hex
            )
            yield

    with ThreadPoolExecutor(max_workers=1) as pool:
        with held_by_another_session(topping_up):
            erasing = pool.submit(in_thread(lambda: erase(racing, customer)))
            wait_for_a_lock_wait()  # the erasure waits for the top-up's transaction
        result = erasing.result(timeout=30)

    assert result == "customer_has_money"
    assert money_of(racing, customer) == ("active", Decimal("10.00"), 1)


@pytest.mark.parametrize("account", [True, False], ids=["with-account", "first-top-up"])
def test_an_erasure_holding_its_locks_first_makes_the_top_up_refused(racing, account):
    customer = customer_with(racing, account=account)

    @contextmanager
    def erasing():
        with tenant_context(racing), transaction.atomic():
            customer_erase(customer=customer)
            yield

    with ThreadPoolExecutor(max_workers=1) as pool:
        with held_by_another_session(erasing):
            topping = pool.submit(in_thread(lambda: top_up(racing, customer)))
            wait_for_a_lock_wait()  # the top-up waits for the erasure's transaction
        result = topping.result(timeout=30)

    assert result == "customer_not_found"
    assert money_of(racing, customer) == ("deleted", Decimal("0.00") if account else None, 0)


@pytest.mark.parametrize("account", [True, False], ids=["with-account", "first-top-up"])
def test_started_at_once_one_of_the_two_is_refused_and_no_money_is_on_an_erased_account(racing, account):
    results = []
    for _ in range(8):
        customer = customer_with(racing, account=account)
        pair = tuple(run_at_once(2, lambda index, customer=customer: RACERS[index](racing, customer)))
        results.append(pair)
        status, balance, loads = money_of(racing, customer)
        if pair == ("done", "customer_has_money"):
            assert (status, balance, loads) == ("active", Decimal("10.00"), 1)
        else:
            assert pair == ("customer_not_found", "done")
            assert (status, balance or Decimal("0.00"), loads) == ("deleted", Decimal("0.00"), 0)

    assert set(results) <= {("done", "customer_has_money"), ("customer_not_found", "done")}
