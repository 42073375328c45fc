"""Milestone campaigns: the Nth visit (an earn or an order) or the purchase that takes the
points earned to N grants once per customer and campaign; N+1 and later visits grant nothing."""

from datetime import UTC, datetime

import pytest
from django_tenants.utils import tenant_context

from loyalty_platform.campaigns.models import Campaign
from loyalty_platform.campaigns.triggers import trigger_purchase
from tests.campaigns.triggers_fixtures import eager_tasks, earn, grants_of, points_of, trigger_campaign  # noqa: F401
from tests.pos_fixtures import create_customer

pytestmark = pytest.mark.usefixtures("eager_tasks")

GRANT = 1000  # big enough to tell apart from what the earns add


def test_the_third_visit_grants_and_the_fourth_does_not(
    organization, programs, django_capture_on_commit_callbacks
):
    campaign = trigger_campaign(organization, Campaign.Trigger.MILESTONE, points=GRANT, milestone_visits=3)
    customer = create_customer(organization)
    earn(organization, customer, "1", "m-1", django_capture_on_commit_callbacks)
    earn(organization, customer, "1", "m-2", django_capture_on_commit_callbacks)
    assert grants_of(organization, campaign) == []
    earn(organization, customer, "1", "m-3", django_capture_on_commit_callbacks)
    assert grants_of(organization, campaign) == [("milestone", customer.pk, GRANT)]
    earn(organization, customer, "1", "m-4", django_capture_on_commit_callbacks)
    assert grants_of(organization, campaign) == [("milestone", customer.pk, GRANT)]
    assert points_of(organization, customer) == 4 + GRANT
    # The third purchase's task delivered again grants nothing.
    with tenant_context(organization):
        assert trigger_purchase(customer_id=customer.pk, external_id="m-3") == 0


def test_a_customer_past_n_when_the_campaign_starts_gets_nothing_at_n_plus_one(
    organization, programs, django_capture_on_commit_callbacks
):
    customer = create_customer(organization)
    for number in (1, 2, 3):
        earn(organization, customer, "1", f"p-{number}", django_capture_on_commit_callbacks)
    campaign = trigger_campaign(organization, Campaign.Trigger.MILESTONE, points=GRANT, milestone_visits=3)
    earn(organization, customer, "1", "p-4", django_capture_on_commit_callbacks)
    assert grants_of(organization, campaign) == []


def test_orders_count_as_visits(organization, programs, pos, django_capture_on_commit_callbacks):
    campaign = trigger_campaign(organization, Campaign.Trigger.MILESTONE, points=GRANT, milestone_visits=2)
    customer = create_customer(organization)
    earn(organization, customer, "1", "o-earn", django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        response = pos.post(
            "/webhook/orders",
            {
                "external_id": "o-order",
                "currency": "EUR",
                "total": "5.00",
                "customer_code": customer.customer_code,
                "lines": [{"sku": "A", "name": "Tea", "quantity": 1, "unit_price": "5.00"}],
            },
        )
    assert response.status_code in (200, 201), response.content
    assert grants_of(organization, campaign) == [("milestone", customer.pk, GRANT)]


def test_the_purchase_that_takes_points_earned_to_n_grants_once(
    organization, programs, django_capture_on_commit_callbacks
):
    campaign = trigger_campaign(organization, Campaign.Trigger.MILESTONE, points=GRANT, milestone_points=100)
    customer = create_customer(organization, points=500)  # an adjustment: not earned
    earn(organization, customer, "60", "pt-1", django_capture_on_commit_callbacks)
    assert grants_of(organization, campaign) == []
    earn(organization, customer, "50", "pt-2", django_capture_on_commit_callbacks)  # 110 earned
    assert grants_of(organization, campaign) == [("milestone", customer.pk, GRANT)]
    earn(organization, customer, "50", "pt-3", django_capture_on_commit_callbacks)
    assert grants_of(organization, campaign) == [("milestone", customer.pk, GRANT)]
    assert points_of(organization, customer) == 500 + 160 + GRANT


def test_a_milestone_campaign_that_ended_grants_nothing(
    organization, programs, django_capture_on_commit_callbacks
):
    campaign = trigger_campaign(
        organization,
        Campaign.Trigger.MILESTONE,
        points=GRANT,
        milestone_visits=1,
        ends_at=datetime(2026, 2, 1, tzinfo=UTC),
    )
    customer = create_customer(organization)
    earn(organization, customer, "1", "e-1", django_capture_on_commit_callbacks)
    assert grants_of(organization, campaign) == []
