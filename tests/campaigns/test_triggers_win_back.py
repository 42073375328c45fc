"""Win-back campaigns: customers whose last visit (an order, earn or redeem; never visited: their
enrollment) is more than N days ago, each at most once a month, and again only after they
came back and lapsed once more."""

from datetime import UTC, datetime, timedelta

import pytest
from django_tenants.utils import tenant_context

from loyalty_platform.campaigns.models import Campaign
from loyalty_platform.campaigns.triggers import trigger_win_back
from loyalty_platform.customers.models import Customer
from loyalty_platform.orders.models import Order
from loyalty_platform.programs.models import Card, LedgerEntry
from tests.campaigns.segments_fixtures import card_last_visit_refresh
from tests.campaigns.triggers_fixtures import grants_of, trigger_campaign
from tests.pos_fixtures import create_customer

NOW = datetime(2026, 12, 15, 12, 0, tzinfo=UTC)


def customer_since(organization, days_ago: int, status: str = Customer.Status.ACTIVE) -> Customer:
    customer = create_customer(organization)
    with tenant_context(organization):
        Customer.objects.filter(pk=customer.pk).update(
            created_at=NOW - timedelta(days=days_ago), status=status
        )
    return customer


def order_at(organization, customer, days_ago: int, external_id: str) -> None:
    with tenant_context(organization):
        order = Order.objects.create(
            external_id=external_id, customer=customer, currency="EUR", total=10, points_earned=0
        )
        Order.objects.filter(pk=order.pk).update(created_at=NOW - timedelta(days=days_ago))


def earn_at(organization, customer, days_ago: int, external_id: str, cause=LedgerEntry.Cause.EARN) -> None:
    with tenant_context(organization):
        card = Card.objects.get(customer=customer, program__kind="point")
        entry = LedgerEntry.objects.create(
            card=card, delta=5, balance_after=5, cause=cause, external_id=external_id
        )
        LedgerEntry.objects.filter(pk=entry.pk).update(created_at=NOW - timedelta(days=days_ago))
        card_last_visit_refresh(card.pk)


def win_back(organization, now: datetime = NOW) -> int:
    with tenant_context(organization):
        return trigger_win_back(now=now, force=True)


@pytest.fixture
def sixty_days(organization, programs) -> Campaign:
    return trigger_campaign(organization, Campaign.Trigger.WIN_BACK, points=25, trigger_days=60)


def test_win_back_picks_the_customers_not_seen_for_more_than_n_days(organization, sixty_days):
    ordered_long_ago = customer_since(organization, 400)
    order_at(organization, ordered_long_ago, 61, "wb-o1")
    earn_at(organization, customer_since(organization, 400), 10, "wb-e1")
    never_visited_old = customer_since(organization, 100)
    customer_since(organization, 5)  # new, never visited: not lapsed yet
    old_order_recent_earn = customer_since(organization, 400)
    order_at(organization, old_order_recent_earn, 90, "wb-o2")
    earn_at(organization, old_order_recent_earn, 3, "wb-e2")
    order_at(organization, customer_since(organization, 400), 59, "wb-o3")
    # Spent points at a till 20 days ago: a visit, as the segments' last-visit rule says.
    earn_at(organization, customer_since(organization, 400), 20, "wb-r1", cause=LedgerEntry.Cause.REDEEM)
    customer_since(organization, 400, Customer.Status.BLOCKED)

    assert win_back(organization) == 2
    assert grants_of(organization, sixty_days) == sorted(
        [("win-back-2026-12", ordered_long_ago.pk, 25), ("win-back-2026-12", never_visited_old.pk, 25)],
        key=lambda grant: grant[1],
    )


def test_a_repeated_scan_grants_nothing_more_and_the_next_month_skips_those_not_back(
    organization, sixty_days
):
    lapsed = customer_since(organization, 200)
    assert win_back(organization) == 1
    assert win_back(organization) == 0
    assert win_back(organization, NOW + timedelta(hours=5)) == 0
    # January: still away, granted after their last visit already.
    assert win_back(organization, datetime(2027, 1, 20, tzinfo=UTC)) == 0
    assert grants_of(organization, sixty_days) == [("win-back-2026-12", lapsed.pk, 25)]


def test_a_customer_who_came_back_and_lapsed_again_is_won_back_again(organization, sixty_days):
    customer = customer_since(organization, 200)
    assert win_back(organization) == 1
    # Back on 20 December (5 days after NOW), then away again for more than 60 days.
    order_at(organization, customer, -5, "wb-back")
    assert win_back(organization, datetime(2027, 1, 31, tzinfo=UTC)) == 0  # 42 days away
    assert win_back(organization, datetime(2027, 2, 20, tzinfo=UTC)) == 1  # 62 days away
    assert grants_of(organization, sixty_days) == [
        ("win-back-2026-12", customer.pk, 25),
        ("win-back-2027-02", customer.pk, 25),
    ]


def test_the_scan_runs_once_a_day_per_campaign(organization, sixty_days):
    with tenant_context(organization):
        assert trigger_win_back(now=NOW) == 0  # nobody lapsed yet
    customer_since(organization, 200)
    with tenant_context(organization):
        assert trigger_win_back(now=NOW + timedelta(hours=1)) == 0  # scanned today already
        assert trigger_win_back(now=NOW + timedelta(days=1)) == 1
