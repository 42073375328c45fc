"""Orders called directly: the pre-check before the PIN step, the challenge the service
spends, and one balance_updated per order, return and receipt claim."""

from decimal import Decimal

import pytest
from django_tenants.utils import tenant_context

from loyalty_platform.orders.earning import LineInput
from loyalty_platform.orders.services import order_claim, order_create, order_create_check, order_return
from loyalty_platform.verification.models import PinChallenge
from loyalty_platform.verification.services import pin_challenge_issue
from tests.pos_fixtures import balances, create_customer, refused, snapshot

LINES = [
    LineInput(sku="BEANS", name="Beans", category="", quantity=Decimal("2"), unit_price=Decimal("10.00"))
]


def create(organization, customer, external_id="o-1", **fields):
    return order_create(
        organization=organization,
        external_id=external_id,
        customer=customer,
        shop_id=None,
        currency=organization.currency,
        total=Decimal("20.00"),
        lines=LINES,
        **fields,
    )


@pytest.mark.parametrize(
    ("points", "paid_with_points", "anonymous", "code"),
    [
        (500, 99, False, "below_minimum"),
        (150, 200, False, "insufficient_balance"),
        (500, 100, True, "customer_code_required"),
    ],
)
def test_order_check_refuses_what_the_order_refuses(
    organization, programs, points, paid_with_points, anonymous, code
):
    customer = None if anonymous else create_customer(organization, points=points)
    before = snapshot(organization)
    with tenant_context(organization):
        with refused(code):
            order_create_check(
                organization=organization,
                customer=customer,
                currency=organization.currency,
                paid_with_points=paid_with_points,
            )
        with refused(code):
            create(organization, customer, paid_with_points=paid_with_points)
    assert snapshot(organization) == before


def test_order_check_refuses_another_currency(organization, programs):
    other = "USD" if organization.currency != "USD" else "EUR"
    with tenant_context(organization), refused("currency_mismatch"):
        order_create_check(organization=organization, customer=None, currency=other)


def test_order_spends_its_challenge(organization, programs):
    customer = create_customer(organization, points=300)
    with tenant_context(organization):
        challenge = pin_challenge_issue(
            organization=organization, customer=customer, action="redeem"
        ).challenge
        order_create_check(
            organization=organization, customer=customer, currency=organization.currency, paid_with_points=100
        )
        outcome = create(organization, customer, paid_with_points=100, pin_challenge_id=challenge.pk)
        assert PinChallenge.objects.get(pk=challenge.pk).status == "spent"
    assert outcome.point_balance == 300 - 100 + outcome.order.points_earned


def test_order_return_and_claim_each_push_one_balance_update(
    organization, programs, listen, django_capture_on_commit_callbacks
):
    customer = create_customer(organization, points=300, stamps=1)
    listener = listen(customer)
    with tenant_context(organization):
        with django_capture_on_commit_callbacks(execute=True):
            outcome = create(organization, customer, paid_with_points=100)  # two entries, one event
        earned = outcome.order.points_earned
        assert earned > 0
        assert listener.events() == [("balance_updated", {"stamps": 1, "points": 200 + earned})]

        with django_capture_on_commit_callbacks(execute=True):
            order_return(order_external_id="o-1", external_id="r-1", lines=None)  # refund and take back
        assert listener.events() == [("balance_updated", {"stamps": 1, "points": 300})]

        anonymous = create(organization, None, external_id="o-2")
        with django_capture_on_commit_callbacks(execute=True):
            order_claim(order_external_id="o-2", customer=customer)
    assert listener.events() == [
        ("balance_updated", {"stamps": 1, "points": 300 + anonymous.order.points_earned})
    ]
    assert balances(organization, customer)["point"][0] == 300 + anonymous.order.points_earned


def test_an_order_that_changes_no_balance_pushes_nothing(
    organization, programs, listen, django_capture_on_commit_callbacks
):
    customer = create_customer(organization, points=5)
    listener = listen(customer)
    with tenant_context(organization):
        programs["point"].excluded_categories = "coffee"
        programs["point"].save()
        lines = [
            LineInput(sku="X", name="", category="coffee", quantity=Decimal("1"), unit_price=Decimal("3"))
        ]
        with django_capture_on_commit_callbacks(execute=True):
            outcome = order_create(
                organization=organization,
                external_id="o-0",
                customer=customer,
                shop_id=None,
                currency=organization.currency,
                total=Decimal("3"),
                lines=lines,
            )
    assert (outcome.order.points_earned, listener.events()) == (0, [])
