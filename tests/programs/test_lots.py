"""Point lots (programs.lots) as ledger_post keeps them: what each change opens, draws and
puts back, and a property test over any sequence of earns, redeems, orders, returns,
reversals and expiries: balance = sum of entries >= 0 = the open lots' remaining points."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loyalty_platform.core.errors import DomainError
from loyalty_platform.orders.earning import LineInput
from loyalty_platform.orders.services import order_create, order_return
from loyalty_platform.programs.expiry import points_expire
from loyalty_platform.programs.lots import add_months, lot_expires_at
from loyalty_platform.programs.models import Card, LedgerEntry, PointLot, PointLotDraw
from loyalty_platform.programs.reversals import loyalty_transaction_reverse
from loyalty_platform.programs.services import card_adjust, customer_earn, customer_redeem
from tests.pos_fixtures import create_customer
from tests.programs.lot_helpers import assert_lots_consistent, configure, earn

START = datetime(2026, 1, 10, 9, 0, tzinfo=UTC)


def redeem(customer, value, external_id):
    return customer_redeem(customer=customer, value=value, card_type="point", external_id=external_id)


def order(organization, customer, external_id, total, paid_with_points=0):
    return order_create(
        organization=organization,
        external_id=external_id,
        customer=customer,
        shop_id=None,
        currency=organization.currency,
        total=Decimal(total),
        lines=[LineInput(sku="A", name="A", category="food", quantity=Decimal(1), unit_price=Decimal(total))],
        paid_with_points=paid_with_points,
    )


def point_card(customer) -> Card:
    return Card.objects.get(customer=customer, program__kind="point")


def lots_of(customer) -> list[tuple]:
    """(points, remaining, expired, expires_at) of the card's lots, oldest first."""
    return list(
        PointLot.objects.filter(card__customer=customer)
        .order_by("pk")
        .values_list("points", "remaining", "expired", "expires_at")
    )


# --- Dates -------------------------------------------------------------------------------------


def test_months_are_added_as_postgresql_adds_them_the_day_cut_to_the_months_last():
    assert add_months(datetime(2026, 1, 31, 12, tzinfo=UTC), 1) == datetime(2026, 2, 28, 12, tzinfo=UTC)
    assert add_months(datetime(2028, 1, 31, 12, tzinfo=UTC), 1) == datetime(2028, 2, 29, 12, tzinfo=UTC)
    assert add_months(datetime(2026, 11, 15, tzinfo=UTC), 14) == datetime(2028, 1, 15, tzinfo=UTC)


def test_a_changed_rule_keeps_points_earned_before_at_least_the_notice(programs):
    program = programs["point"]
    program.points_expiry, program.points_expiry_months = "lifetime", 1
    assert lot_expires_at(program, START) == datetime(2026, 2, 10, 9, tzinfo=UTC)
    program.points_expiry_since = datetime(2026, 6, 1, tzinfo=UTC)
    assert lot_expires_at(program, START) == datetime(2026, 7, 1, tzinfo=UTC)
    program.points_expiry = "never"
    assert lot_expires_at(program, START) is None


# --- What ledger_post does to the lots -----------------------------------------------------------


def test_an_earn_opens_a_lot_dated_by_the_rule_and_a_redeem_draws_the_oldest_first(lifetime, organization):
    customer = create_customer(organization)
    with time_machine.travel(START, tick=False) as clock:
        earn(customer, 100, "e1")
        clock.shift(timedelta(days=3))
        earn(customer, 50, "e2")
        redeem(customer, 120, "r1")
    assert lots_of(customer) == [
        (100, 0, 0, datetime(2026, 2, 10, 9, tzinfo=UTC)),
        (50, 30, 0, datetime(2026, 2, 13, 9, tzinfo=UTC)),
    ]
    redeem_entry = LedgerEntry.objects.get(external_id="r1")
    assert sorted(PointLotDraw.objects.filter(entry=redeem_entry).values_list("points", "restored")) == [
        (20, 0),
        (100, 0),
    ]
    assert_lots_consistent([point_card(customer)])


def test_reversing_a_redeem_puts_the_points_back_into_the_lots_it_drew_from(lifetime, organization):
    customer = create_customer(organization)
    with time_machine.travel(START, tick=False) as clock:
        earn(customer, 100, "e1")
        clock.shift(timedelta(days=3))
        earn(customer, 50, "e2")
        redeem(customer, 120, "r1")
        earn(customer, 10, "e3")
        loyalty_transaction_reverse(original_external_id="r1", external_id="void-r1")
    assert [lot[:3] for lot in lots_of(customer)] == [(100, 100, 0), (50, 50, 0), (10, 10, 0)]
    assert list(PointLotDraw.objects.values_list("points", "restored").order_by("points")) == [
        (20, 20),
        (100, 100),
    ]
    assert_lots_consistent([point_card(customer)])


def test_reversing_an_earn_takes_its_own_lot_first(lifetime, organization):
    customer = create_customer(organization)
    with time_machine.travel(START, tick=False):
        earn(customer, 100, "e1")
        earn(customer, 40, "e2")
        loyalty_transaction_reverse(original_external_id="e2", external_id="void-e2")
    assert [lot[:3] for lot in lots_of(customer)] == [(100, 100, 0), (40, 0, 0)]
    assert_lots_consistent([point_card(customer)])


def test_a_return_takes_from_the_orders_lot_and_a_cancellation_refunds_into_the_lots_paid_from(
    lifetime, organization
):
    customer = create_customer(organization)
    with time_machine.travel(START, tick=False):
        earn(customer, 300, "e1")
        order(organization, customer, "o1", "80.00", paid_with_points=200)
        # The order earns on what was not paid with points: 78.00.
        assert [lot[:3] for lot in lots_of(customer)] == [(300, 100, 0), (78, 78, 0)]
        order_return(order_external_id="o1", external_id="ret-1", lines=None)
    assert [lot[:3] for lot in lots_of(customer)] == [(300, 300, 0), (78, 0, 0)]
    assert_lots_consistent([point_card(customer)])


def test_points_earned_below_zero_first_pay_the_debt(lifetime, organization):
    configure(lifetime, allow_negative_balance=True)
    customer = create_customer(organization)
    with time_machine.travel(START, tick=False):
        earn(customer, 100, "e1")
        redeem(customer, 130, "r1")
        assert lots_of(customer)[0][:3] == (100, 0, 0)
        earn(customer, 50, "e2")
    assert [lot[:3] for lot in lots_of(customer)] == [(100, 0, 0), (20, 20, 0)]
    assert point_card(customer).balance == 20
    assert_lots_consistent([point_card(customer)])


def test_inactivity_moves_every_open_lot_with_each_transaction(in_organization, programs, organization):
    configure(programs["point"], points_expiry="inactivity", points_expiry_months=6)
    customer = create_customer(organization)
    with time_machine.travel(START, tick=False) as clock:
        earn(customer, 300, "e1")
        clock.shift(timedelta(days=40))
        redeem(customer, 100, "r1")
    later = datetime(2026, 8, 19, 9, tzinfo=UTC)  # six months after the redeem on 19 February
    assert lots_of(customer) == [(300, 200, 0, later)]


def test_stamp_cards_keep_no_lots(in_organization, programs, organization):
    customer = create_customer(organization)
    customer_earn(customer=customer, amount=Decimal(3), card_type="stamp", external_id="s1")
    assert PointLot.objects.count() == 0


def test_a_staff_correction_opens_or_draws_like_any_change(lifetime, organization):
    customer = create_customer(organization, points=50)
    card_adjust(customer=customer, card_type="point", delta=-20, reason="typo", staff_user=None)
    card_adjust(customer=customer, card_type="point", delta=5, reason="goodwill", staff_user=None)
    assert [lot[:3] for lot in lots_of(customer)] == [(50, 30, 0), (5, 5, 0)]
    assert_lots_consistent([point_card(customer)])


# --- Any sequence ------------------------------------------------------------------------------

operations = st.lists(
    st.one_of(
        st.tuples(st.just("earn"), st.integers(1, 400)),
        st.tuples(st.just("redeem"), st.integers(100, 600)),
        st.tuples(st.just("order"), st.integers(1, 300), st.sampled_from([0, 100, 250])),
        st.tuples(st.just("return")),
        st.tuples(st.just("reverse_earn")),
        st.tuples(st.just("reverse_redeem")),
        st.tuples(st.just("wait"), st.integers(1, 40)),
        st.tuples(st.just("expire")),
    ),
    min_size=1,
    max_size=18,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=operations, negative=st.booleans())
def test_any_sequence_keeps_balance_entries_and_lots_equal(lifetime, organization, steps, negative):
    configure(lifetime, allow_negative_balance=negative)
    customer = create_customer(organization)
    seen = {"earn": [], "redeem": [], "order": []}
    with time_machine.travel(START, tick=False) as clock:
        for number, step in enumerate(steps):
            external_id = f"{customer.pk}-{number}"
            try:
                with transaction.atomic():
                    if step[0] == "earn":
                        earn(customer, step[1], external_id)
                        seen["earn"].append(external_id)
                    elif step[0] == "redeem":
                        redeem(customer, step[1], external_id)
                        seen["redeem"].append(external_id)
                    elif step[0] == "order":
                        order(organization, customer, external_id, f"{step[1]}.00", paid_with_points=step[2])
                        seen["order"].append(external_id)
                    elif step[0] == "return" and seen["order"]:
                        order_return(
                            order_external_id=seen["order"].pop(0), external_id=external_id, lines=None
                        )
                    elif step[0] in ("reverse_earn", "reverse_redeem") and seen[step[0][8:]]:
                        loyalty_transaction_reverse(
                            original_external_id=seen[step[0][8:]].pop(), external_id=external_id
                        )
                    elif step[0] == "wait":
                        clock.shift(timedelta(days=step[1]))
                    elif step[0] == "expire":
                        points_expire()
            except DomainError:
                pass  # refused (insufficient balance, below minimum): its savepoint rolled back
            card = Card.objects.filter(customer=customer, program=lifetime).first()
            if card is not None:
                assert_lots_consistent([card])
                if not negative:
                    assert card.balance >= 0
        clock.shift(timedelta(days=70))
        points_expire()
    card = Card.objects.filter(customer=customer, program=lifetime).first()
    if card is not None:
        assert_lots_consistent([card])
        # Everything is older than its lifetime now: nothing but a debt is left.
        assert card.balance == min(card.balance, 0)


def test_a_campaign_grant_opens_a_lot_and_pays_a_debt_first(lifetime, organization):
    from loyalty_platform.campaigns import runner
    from tests.campaigns.runner_fixtures import make_action, make_campaign

    configure(lifetime, allow_negative_balance=True)
    saver, debtor = create_customer(organization, points=10), create_customer(organization)
    card_adjust(customer=debtor, card_type="point", delta=-4, reason="correction", staff_user=None)
    campaign = make_campaign(status="running")
    make_action(campaign, "grant_points", points=25)
    (run_id,) = runner.tick()
    runner.grant_chunk(run_id)
    assert [lot[:3] for lot in lots_of(saver)] == [(10, 10, 0), (25, 25, 0)]
    assert [lot[:3] for lot in lots_of(debtor)] == [(21, 21, 0)]  # 4 of the 25 paid the debt
    granted = PointLot.objects.filter(card__customer=saver).order_by("pk").last()
    assert granted.expires_at == add_months(granted.earned_at, 1)
    assert_lots_consistent([point_card(saver)])
    assert_lots_consistent([point_card(debtor)])


def test_a_collection_window_beyond_ten_years_is_refused(in_organization, programs):
    from django.core.exceptions import ValidationError

    program = programs["point"]
    program.reward_collect_days = 100_000  # would overflow the deadline's date
    with pytest.raises(ValidationError) as refused:
        program.clean_fields()
    assert list(refused.value.message_dict) == ["reward_collect_days"]
