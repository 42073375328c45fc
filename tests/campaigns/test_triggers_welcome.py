"""Welcome campaigns: a customer who enrolls while one runs gets its grants, once, whichever
way they enroll; without one, enrolling queries and queues nothing more."""

from datetime import UTC, datetime

import pytest
from django_tenants.utils import tenant_context

from loyalty_platform.campaigns import events
from loyalty_platform.campaigns.models import Campaign, CampaignAction, CampaignMessage
from loyalty_platform.campaigns.selectors import running_campaigns
from loyalty_platform.campaigns.triggers import trigger_welcome
from loyalty_platform.customers.models import Customer
from loyalty_platform.customers.services import customer_enroll
from tests.campaigns.triggers_fixtures import eager_tasks, grants_of, points_of, trigger_campaign  # noqa: F401
from tests.conftest import HostClient

pytestmark = pytest.mark.usefixtures("eager_tasks")


def enroll(organization, email: str, capture) -> Customer:
    with tenant_context(organization), capture(execute=True):
        customer, is_new = customer_enroll(email=email, consent_terms=True, consent_privacy=True)
    assert is_new
    return customer


def test_a_customer_enrolling_while_a_welcome_campaign_runs_gets_its_points_once(
    organization, programs, django_capture_on_commit_callbacks
):
    campaign = trigger_campaign(organization, Campaign.Trigger.WELCOME, points=50)
    customer = enroll(organization, "new@example.com", django_capture_on_commit_callbacks)
    assert points_of(organization, customer) == 50
    assert grants_of(organization, campaign) == [("welcome", customer.pk, 50)]

    # The task retried (or delivered twice) grants nothing more.
    with tenant_context(organization):
        assert trigger_welcome(customer_id=customer.pk) == 0
    assert points_of(organization, customer) == 50
    assert grants_of(organization, campaign) == [("welcome", customer.pk, 50)]


def test_welcome_on_pos_enrollment(organization, programs, pos, django_capture_on_commit_callbacks):
    campaign = trigger_campaign(organization, Campaign.Trigger.WELCOME, points=30)
    with django_capture_on_commit_callbacks(execute=True):
        response = pos.post(
            "/webhook/customer", {"email": "till@example.com", "consent_terms": True, "consent_privacy": True}
        )
    assert response.status_code in (200, 201), response.content
    with tenant_context(organization):
        customer = Customer.objects.get(email="till@example.com")
    assert points_of(organization, customer) == 30
    assert grants_of(organization, campaign) == [("welcome", customer.pk, 30)]

    # Enrolling the same email again is no enrollment: no second welcome.
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        pos.post(
            "/webhook/customer", {"email": "till@example.com", "consent_terms": True, "consent_privacy": True}
        )
    assert callbacks == []
    assert points_of(organization, customer) == 30


def test_welcome_on_profile_enrollment(
    organization, programs, mailoutbox, django_capture_on_commit_callbacks
):
    campaign = trigger_campaign(organization, Campaign.Trigger.WELCOME, points=20)
    with django_capture_on_commit_callbacks(execute=True):
        response = HostClient(organization).post(
            "/me/signup", {"email": "web@example.com", "consent_terms": "on", "consent_privacy": "on"}
        )
    assert response.status_code == 200
    with tenant_context(organization):
        customer = Customer.objects.get(email="web@example.com")
    assert points_of(organization, customer) == 20
    assert grants_of(organization, campaign) == [("welcome", customer.pk, 20)]


@pytest.mark.parametrize(
    "status",
    [Campaign.Status.DRAFT, Campaign.Status.PAUSED, Campaign.Status.ENDED, Campaign.Status.CANCELLED],
)
def test_a_welcome_campaign_that_is_not_running_gives_nothing(
    organization, programs, django_capture_on_commit_callbacks, status
):
    campaign = trigger_campaign(organization, Campaign.Trigger.WELCOME, status=status)
    customer = enroll(organization, "later@example.com", django_capture_on_commit_callbacks)
    assert points_of(organization, customer) == 0
    assert grants_of(organization, campaign) == []


def test_a_welcome_campaign_outside_its_dates_gives_nothing(
    organization, programs, django_capture_on_commit_callbacks
):
    campaign = trigger_campaign(
        organization, Campaign.Trigger.WELCOME, ends_at=datetime(2026, 2, 1, tzinfo=UTC)
    )
    customer = enroll(organization, "late@example.com", django_capture_on_commit_callbacks)
    assert points_of(organization, customer) == 0
    assert grants_of(organization, campaign) == []


@pytest.mark.parametrize("trigger", [Campaign.Trigger.BIRTHDAY, Campaign.Trigger.SCHEDULE, None])
def test_without_a_welcome_campaign_enrolling_queues_nothing_and_queries_nothing_more(
    organization, programs, django_capture_on_commit_callbacks, django_assert_num_queries, trigger
):
    if trigger:
        trigger_campaign(organization, trigger)
    with tenant_context(organization):
        running_campaigns()  # the cache filled, as on a busy till
        with django_assert_num_queries(0), django_capture_on_commit_callbacks() as callbacks:
            events.customer_enrolled(customer_id=1)
            events.purchase_recorded(customer_id=1, external_id="x")
    assert callbacks == []


def test_with_a_welcome_campaign_enrolling_queues_one_task_after_commit(
    organization, programs, django_capture_on_commit_callbacks, django_assert_num_queries
):
    trigger_campaign(organization, Campaign.Trigger.WELCOME)
    with tenant_context(organization):
        running_campaigns()
        with django_assert_num_queries(0), django_capture_on_commit_callbacks() as callbacks:
            events.customer_enrolled(customer_id=1)
            events.purchase_recorded(customer_id=1, external_id="x")  # no milestone, no referral
    assert len(callbacks) == 1


def test_a_welcome_campaigns_email_goes_to_a_consenting_new_customer_once(
    organization, programs, mailoutbox, django_capture_on_commit_callbacks
):
    campaign = trigger_campaign(organization, Campaign.Trigger.WELCOME, points=50)
    with tenant_context(organization):
        CampaignAction.objects.create(
            campaign=campaign,
            kind=CampaignAction.Kind.MESSAGE,
            subject="Welcome",
            body="You have {points} points.",
        )
    with tenant_context(organization), django_capture_on_commit_callbacks(execute=True):
        consenting, _ = customer_enroll(
            email="yes@example.com", consent_terms=True, consent_privacy=True, consent_marketing=True
        )
        customer_enroll(email="no@example.com", consent_terms=True, consent_privacy=True)
    # Both were enrolled as at a till, so the platform's own welcome (the sign-in link) went to
    # both as well; the campaign's went to the one who consented to marketing.
    platform_welcome = "Welcome to Test Org A's loyalty program"
    assert sorted((mail.to[0], mail.subject) for mail in mailoutbox) == [
        ("no@example.com", platform_welcome),
        ("yes@example.com", "Welcome"),
        ("yes@example.com", platform_welcome),
    ]
    [campaign_mail] = [mail for mail in mailoutbox if mail.subject == "Welcome"]
    assert "You have 50 points." in campaign_mail.body
    with tenant_context(organization):
        assert list(
            CampaignMessage.objects.filter(run__campaign=campaign).values_list("customer_id", "status")
        ) == [(consenting.pk, "sent")]
        with django_capture_on_commit_callbacks(execute=True):
            trigger_welcome(customer_id=consenting.pk)  # delivered again
    assert len(mailoutbox) == 3
