"""The campaign pages: build and launch through the form and the buttons, the report, the
refusals (a cashier, another organization's campaign, a wrong state, bad input)."""

from datetime import timedelta

from django.utils import timezone
from django_tenants.utils import tenant_context

from loyalty_platform.audit.models import AuditLogEntry
from loyalty_platform.campaigns import runner
from loyalty_platform.campaigns.models import (
    Campaign,
    CampaignAction,
    CampaignBoost,
    CampaignGrant,
    CampaignUnsubscribe,
)
from loyalty_platform.campaigns.services import campaign_update
from loyalty_platform.rewards.models import RewardReception
from loyalty_platform.vouchers.models import Promotion, Voucher
from tests.campaigns.runner_fixtures import make_action, make_campaign
from tests.factories import StaffUserFactory
from tests.pos_fixtures import create_customer, refused

ADD = "/admin/campaigns/campaign/add/"


def _login(client, organization, role="owner"):
    with tenant_context(organization):
        StaffUserFactory(email=f"{role}@example.com", role=role)
    assert client.login(email=f"{role}@example.com", password="correct horse battery")


def _form(**changes) -> dict:
    start = timezone.localtime() - timedelta(minutes=1)
    data = {
        "name": "Weekend",
        "description": "Double points all weekend",
        "trigger": "schedule",
        "segment": "",
        "starts_at_0": start.strftime("%Y-%m-%d"),
        "starts_at_1": start.strftime("%H:%M:%S"),
        "ends_at_0": "",
        "ends_at_1": "",
        "weekdays": ["5", "6"],
        "daily_start_time": "",
        "daily_end_time": "",
        "trigger_days": "",
        "milestone_visits": "",
        "milestone_points": "",
        "actions-TOTAL_FORMS": "1",
        "actions-INITIAL_FORMS": "0",
        "actions-MIN_NUM_FORMS": "0",
        "actions-MAX_NUM_FORMS": "1000",
        "actions-0-kind": "points_multiplier",
        "actions-0-applies_to": "all",
        "actions-0-match_values": "",
        "actions-0-multiplier": "2",
        "actions-0-points": "0",
        "actions-0-stamps": "0",
        "actions-0-minimum_spend": "",
        "actions-0-promotion": "",
        "actions-0-reward": "",
        "actions-0-subject": "",
        "actions-0-body": "",
    }
    return data | changes


def test_staff_build_a_campaign_launch_it_and_read_its_report(organization, programs, client_a):
    _login(client_a, organization)
    assert client_a.get(ADD).status_code == 200
    created = client_a.post(ADD, _form())
    assert created.status_code == 302, created.content.decode()[:3000]
    with tenant_context(organization):
        campaign = Campaign.objects.get()
        assert (campaign.status, campaign.recurrence_weekdays) == ("draft", "5,6")
        assert list(campaign.actions.values_list("kind", "multiplier")) == [("points_multiplier", 2)]
    change = f"/admin/campaigns/campaign/{campaign.pk}/change/"
    page = client_a.get(change).content.decode()
    assert 'data-step="launch"' in page and 'data-step="pause"' not in page
    launched = client_a.post(f"/admin/campaigns/campaign/{campaign.pk}/launch/")
    assert launched.status_code == 302
    with tenant_context(organization):
        assert Campaign.objects.get().status == "running"
        assert AuditLogEntry.objects.filter(action="campaign.launch", target_id=str(campaign.pk)).count() == 1
    page = client_a.get(change).content.decode()
    assert 'data-step="pause"' in page and 'data-step="launch"' not in page
    assert client_a.post(f"/admin/campaigns/campaign/{campaign.pk}/pause/").status_code == 302
    assert client_a.post(f"/admin/campaigns/campaign/{campaign.pk}/resume/").status_code == 302
    with tenant_context(organization):
        assert Campaign.objects.get().status == "running"


def test_the_report_counts_reach_grants_redemptions_boosts_and_unsubscribes(organization, programs, client_a):
    customers = [create_customer(organization) for _ in range(3)]
    with tenant_context(organization):
        promotion = Promotion.objects.create(title="Cookie")
        from loyalty_platform.rewards.models import Reward

        reward = Reward.objects.create(name="Muffin", required_credits=100)
        campaign = make_campaign(status="running")
        make_action(campaign, "grant_voucher", promotion=promotion)
        make_action(campaign, "grant_reward", reward=reward)
        make_action(campaign, "grant_points", points=4)
        boost = make_action(campaign, "bonus_points", points=5)
        (run_id,) = runner.tick()
        runner.run_work(run_id)
        Voucher.objects.filter(customer=customers[0]).update(uses=1)
        RewardReception.objects.filter(customer=customers[1]).update(status="collected")
        CampaignBoost.objects.create(
            campaign=campaign, action=boost, external_id="e1", points=5, points_returned=2
        )
        CampaignUnsubscribe.objects.create(campaign=campaign, customer=customers[2])
    _login(client_a, organization)
    page = client_a.get(f"/admin/campaigns/campaign/{campaign.pk}/change/").content.decode()
    for figure, value in (
        ("audience", "3"),
        ("reached", "3"),
        ("vouchers", "3 / 1"),
        ("rewards", "3 / 1"),
        ("boost-points", "3"),
        ("unsubscribes", "1"),
    ):
        assert f'data-figure="{figure}"><strong>{value}</strong>' in page, figure
    assert 'data-grant-kind="grant_points"' in page
    grants = client_a.get(f"/admin/campaigns/campaigngrant/?run__campaign__id__exact={campaign.pk}")
    assert grants.status_code == 200 and customers[0].email in grants.content.decode()
    assert client_a.get("/admin/campaigns/campaignrun/").status_code == 200
    assert client_a.get("/admin/campaigns/campaignmessage/").status_code == 200


def test_a_cashier_sees_no_campaign_page_and_cannot_press_a_button(organization, programs, client_a):
    with tenant_context(organization):
        campaign = make_campaign()
        make_action(campaign, "grant_points", points=1)
    _login(client_a, organization, role="cashier")
    for url in (
        "/admin/campaigns/campaign/",
        ADD,
        f"/admin/campaigns/campaign/{campaign.pk}/change/",
        "/admin/campaigns/campaigngrant/",
    ):
        assert client_a.get(url).status_code == 403, url
    assert client_a.post(f"/admin/campaigns/campaign/{campaign.pk}/launch/").status_code == 403
    with tenant_context(organization):
        assert Campaign.objects.get().status == "draft"


def test_another_organizations_campaign_is_not_found_here(
    organization, other_organization, programs, client_a
):
    with tenant_context(other_organization):
        theirs = make_campaign(name="Theirs")
        make_action(theirs, "grant_points", points=1)
    with tenant_context(organization):
        Campaign.objects.filter(pk=theirs.pk).delete()  # no campaign of that id here
    _login(client_a, organization)
    assert client_a.get(f"/admin/campaigns/campaign/{theirs.pk}/change/").status_code in (302, 404)
    assert client_a.post(f"/admin/campaigns/campaign/{theirs.pk}/launch/").status_code == 404
    with tenant_context(other_organization):
        assert Campaign.objects.get(pk=theirs.pk).status == "draft"


def test_bad_input_and_wrong_states_are_refused_and_change_nothing(organization, programs, client_a):
    _login(client_a, organization)
    bad_weekday = client_a.post(ADD, _form(weekdays=["9"]))
    no_promotion = client_a.post(
        ADD, _form(**{"actions-0-kind": "grant_voucher", "actions-0-multiplier": "1"})
    )
    boost_on_welcome = client_a.post(ADD, _form(trigger="welcome"))
    for response in (bad_weekday, no_promotion, boost_on_welcome):
        assert response.status_code == 200  # the form again, with its errors
    assert "campaign_action_invalid: promotion" in no_promotion.content.decode()
    assert "campaign_action_invalid: kind" in boost_on_welcome.content.decode()
    with tenant_context(organization):
        assert Campaign.objects.count() == 0
        campaign = make_campaign(status="running")
        make_action(campaign, "grant_points", points=1)
    refused = client_a.post(f"/admin/campaigns/campaign/{campaign.pk}/launch/")
    assert refused.status_code == 409
    assert 'data-error="campaign_state_invalid"' in refused.content.decode()
    assert client_a.get(f"/admin/campaigns/campaign/{campaign.pk}/cancel/").status_code == 405
    with tenant_context(organization):
        assert Campaign.objects.get(pk=campaign.pk).status == "running"
        assert AuditLogEntry.objects.filter(action__startswith="campaign.").count() == 0
        assert CampaignAction.objects.count() == 1


def test_the_schedule_of_a_campaign_that_ran_is_fixed_so_its_run_is_not_granted_again(
    organization, programs, client_a
):
    """Changing the weekdays of a running weekend campaign gave the current weekend a new run
    key, and every customer the points again."""
    customer = create_customer(organization)
    _login(client_a, organization)
    with tenant_context(organization):
        campaign = make_campaign(status="running")
        make_action(campaign, "grant_points", points=5)
        (run_id,) = runner.tick()
        assert runner.run_work(run_id).state == "done"
        before = Campaign.objects.filter(pk=campaign.pk).values("starts_at", "recurrence_weekdays").get()
    change = f"/admin/campaigns/campaign/{campaign.pk}/change/"
    data = _form(name="Renamed", weekdays=["4", "5", "6"], **{"actions-TOTAL_FORMS": "0"})
    data.pop("actions-0-kind")
    saved = client_a.post(change, data)
    assert saved.status_code == 302, saved.content.decode()[:3000]
    with tenant_context(organization):
        after = Campaign.objects.filter(pk=campaign.pk).values("starts_at", "recurrence_weekdays").get()
        assert (Campaign.objects.get(pk=campaign.pk).name, after) == ("Renamed", before)
        assert runner.tick() == []
        assert CampaignGrant.objects.filter(customer_id=customer.pk).count() == 1
        with refused("campaign_state_invalid"):
            campaign_update(actor=None, campaign=campaign, recurrence_weekdays="4,5,6")
        assert Campaign.objects.get(pk=campaign.pk).recurrence_weekdays == before["recurrence_weekdays"]
        # The end may move, and a name.
        campaign_update(
            actor=None, campaign=campaign, name="Again", ends_at=timezone.now() + timedelta(days=3)
        )


def test_marketing_may_launch_a_voucher_campaign_but_not_one_that_gives_points(
    organization, programs, client_a
):
    """Marketing has no right to change balances, and could hand everyone points by launching."""
    _login(client_a, organization, "marketing")
    with tenant_context(organization):
        points = make_campaign(name="Points for all")
        make_action(points, "grant_points", points=500)
        double = make_campaign(name="Double")
        make_action(double, "points_multiplier", multiplier=2)
        promotion = Promotion.objects.create(title="Cookie")
        cookie = make_campaign(name="Cookie")
        make_action(cookie, "grant_voucher", promotion=promotion)
    for campaign in (points, double):
        refusal = client_a.post(f"/admin/campaigns/campaign/{campaign.pk}/launch/")
        assert (refusal.status_code, refusal.context["error_code"]) == (403, "campaign_balances_forbidden")
        with tenant_context(organization):
            assert Campaign.objects.get(pk=campaign.pk).status == "draft"
    assert client_a.post(f"/admin/campaigns/campaign/{cookie.pk}/launch/").status_code == 302
    with tenant_context(organization):
        assert Campaign.objects.get(pk=cookie.pk).status == "running"
        assert list(
            AuditLogEntry.objects.filter(action="campaign.launch").values_list("target_id", flat=True)
        ) == [str(cookie.pk)]
    client_a.logout()
    _login(client_a, organization, "manager")
    assert client_a.post(f"/admin/campaigns/campaign/{points.pk}/launch/").status_code == 302
    with tenant_context(organization):
        assert Campaign.objects.get(pk=points.pk).status == "running"
