"""A block committed after a service's pre-check passed (while the till asked the PIN, say)
is still refused: each service checks again in its transaction, after its locks."""

from decimal import Decimal

import pytest
from django_tenants.utils import tenant_context

from loyalty_platform.coupons.services import coupon_issue, coupon_redeem, coupon_redeem_check
from loyalty_platform.customers.models import Customer
from loyalty_platform.orders.services import order_create_check
from loyalty_platform.programs.models import Card
from loyalty_platform.programs.services import (
    customer_earn,
    customer_earn_check,
    customer_redeem,
    customer_redeem_check,
)
from loyalty_platform.rewards.models import Reward
from loyalty_platform.rewards.services import reward_reception_check, reward_reception_create
from loyalty_platform.stored_value.services import prepaid_transact, prepaid_transact_check
from tests.orders.test_services import create as create_order
from tests.pos_fixtures import create_customer, refused, snapshot


def _block(customer, *, card_kind: str | None = None) -> None:
    if card_kind is None:
        Customer.objects.filter(pk=customer.pk).update(status=Customer.Status.BLOCKED)
    else:
        Card.objects.filter(customer=customer, program__kind=card_kind).update(status=Card.Status.BLOCKED)


def _calls(organization, programs, customer) -> dict:
    """Per service: its pre-check and the change, both as the API would call them."""
    reward = Reward.objects.create(name="Croissant", required_credits=100)
    coupon = coupon_issue(customer=customer, program=programs["stamp"])
    return {
        "earn": (
            lambda: customer_earn_check(customer=customer, amount=Decimal("5"), card_type="point"),
            lambda: customer_earn(customer=customer, amount=Decimal("5"), card_type="point", external_id="e"),
        ),
        "redeem": (
            lambda: customer_redeem_check(customer=customer, value=100, card_type="point"),
            lambda: customer_redeem(customer=customer, value=100, card_type="point", external_id="r"),
        ),
        "coupon": (lambda: coupon_redeem_check(coupon=coupon), lambda: coupon_redeem(coupon_id=coupon.pk)),
        "reception": (
            lambda: reward_reception_check(reward=reward, customer=customer),
            lambda: reward_reception_create(reward=reward, customer=customer, external_id="w"),
        ),
        "order": (
            lambda: order_create_check(
                organization=organization, customer=customer, currency=organization.currency
            ),
            lambda: create_order(organization, customer),
        ),
        "prepaid": (
            lambda: prepaid_transact_check(customer=customer, amount=Decimal("5")),
            lambda: prepaid_transact(
                customer=customer, amount=Decimal("5"), currency=organization.currency, external_id="p"
            ),
        ),
    }


@pytest.mark.parametrize("service", ["earn", "redeem", "coupon", "reception", "order", "prepaid"])
def test_a_customer_blocked_after_the_pre_check_is_refused_in_the_transaction(
    organization, programs, service
):
    customer = create_customer(organization, points=500)
    with tenant_context(organization):
        check, change = _calls(organization, programs, customer)[service]
        check()  # passes: not blocked yet
        _block(customer)
        before = snapshot(organization)
        with refused("customer_blocked"):
            change()
    assert snapshot(organization) == before


@pytest.mark.parametrize("service", ["earn", "redeem", "reception", "order"])
def test_a_point_card_blocked_after_the_pre_check_is_refused_in_the_transaction(
    organization, programs, service
):
    customer = create_customer(organization, points=500)
    with tenant_context(organization):
        check, change = _calls(organization, programs, customer)[service]
        check()
        _block(customer, card_kind="point")
        before = snapshot(organization)
        with refused("card_blocked"):
            change()
    assert snapshot(organization) == before
