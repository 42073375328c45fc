"""Prepaid credit called directly: the pre-check before the PIN step and the challenge the
service spends; the staff correction's pre-check."""

from decimal import Decimal

import pytest
from django_tenants.utils import tenant_context

from loyalty_platform.stored_value.models import PrepaidAccount
from loyalty_platform.stored_value.services import (
    money_adjust_check,
    prepaid_transact,
    prepaid_transact_check,
)
from loyalty_platform.verification.models import PinChallenge
from loyalty_platform.verification.services import pin_challenge_issue
from tests.pos_fixtures import create_customer, refused


def topped_up(organization, amount: str):
    customer = create_customer(organization)
    with tenant_context(organization):
        prepaid_transact(customer=customer, amount=Decimal(amount), currency="EUR", external_id="top")
    return customer


def balance(organization, customer) -> Decimal:
    with tenant_context(organization):
        return PrepaidAccount.objects.get(customer=customer).balance


@pytest.mark.parametrize(
    ("start", "amount", "allow_partial", "code"),
    [("10.00", "-10.01", False, "insufficient_balance"), ("0", "-1", True, "insufficient_balance")],
)
def test_prepaid_check_refuses_what_the_payment_refuses(organization, start, amount, allow_partial, code):
    customer = topped_up(organization, start) if start != "0" else create_customer(organization)
    with tenant_context(organization):
        with refused(code):
            prepaid_transact_check(customer=customer, amount=Decimal(amount), allow_partial=allow_partial)
        with refused(code):
            prepaid_transact(
                customer=customer,
                amount=Decimal(amount),
                currency="EUR",
                external_id="pay",
                allow_partial=allow_partial,
            )


def test_prepaid_check_passes_top_ups_partial_and_covered_payments(organization):
    customer = topped_up(organization, "10.00")
    with tenant_context(organization):
        prepaid_transact_check(customer=customer, amount=Decimal("5"))
        prepaid_transact_check(customer=customer, amount=Decimal("-10.00"))
        prepaid_transact_check(customer=customer, amount=Decimal("-25"), allow_partial=True)
    assert balance(organization, customer) == Decimal("10.00")


def test_prepaid_payment_spends_its_challenge(organization):
    customer = topped_up(organization, "10.00")
    with tenant_context(organization):
        challenge = pin_challenge_issue(
            organization=organization, customer=customer, action="prepaid_pay"
        ).challenge
        prepaid_transact(
            customer=customer,
            amount=Decimal("-4"),
            currency="EUR",
            external_id="pay",
            pin_challenge_id=challenge.pk,
        )
        assert PinChallenge.objects.get(pk=challenge.pk).status == "spent"
    assert balance(organization, customer) == Decimal("6.00")


def test_adjust_check_needs_a_reason_and_cannot_overdraw(organization):
    customer = topped_up(organization, "10.00")
    with tenant_context(organization):
        account = PrepaidAccount.objects.get(customer=customer)
        with refused("reason_required"):
            money_adjust_check(account=account, amount=Decimal("1"), reason=" ")
        with refused("insufficient_balance"):
            money_adjust_check(account=account, amount=Decimal("-10.01"), reason="why")
        money_adjust_check(account=account, amount=Decimal("-10.00"), reason="why")
