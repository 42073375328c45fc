"""Staff build a campaign on the portal page, launch it with its button and read its report,
on a phone and a desktop; the pages pass axe-core's WCAG 2.1 AA rules and fit the screen."""

import uuid

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from loyalty_platform.accounts.services import staff_user_create
from loyalty_platform.campaigns.messages import unsubscribe_token
from loyalty_platform.campaigns.models import Campaign
from loyalty_platform.customers.models import Customer
from tests.browser.accessibility import axe_violations, horizontal_overflow
from tests.pos_fixtures import committed_organization, create_customer

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("committed_db")]
HOST = "runner-admin.localhost"


def _problems(page) -> list[str]:
    problems = axe_violations(page)
    if overflow := horizontal_overflow(page):
        problems.append(f"{overflow}px wider than the screen")
    return problems


@pytest.mark.parametrize("width", [390, 1280])
def test_staff_build_launch_and_read_a_campaign(chromium, server, width):
    organization, created = committed_organization("runner-admin", "Runner Café")
    email = f"campaigns-{uuid.uuid4().hex[:8]}@example.com"
    with tenant_context(organization):
        staff_user_create(email=email, password="portal-password-1")
    if created:
        for _ in range(3):
            create_customer(organization)
    name = f"Weekend {width}"
    context = chromium.new_context(viewport={"width": width, "height": 900}, bypass_csp=True)
    page = context.new_page()
    page.goto(server.url(HOST, "/admin/login/"))
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill("portal-password-1")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(server.url(HOST, "/admin/"))

    findings = {}
    page.goto(server.url(HOST, "/admin/campaigns/campaign/add/"))
    findings["add"] = _problems(page)
    now = timezone.localtime()
    page.fill("[name=name]", name)
    page.fill("[name=starts_at_0]", now.strftime("%Y-%m-%d"))
    page.fill("[name=starts_at_1]", "00:00:00")
    page.check("input[name=weekdays][value='5']")
    page.check("input[name=weekdays][value='6']")
    page.select_option("[name=actions-0-kind]", "grant_points")
    # Only the fields the chosen kind and trigger use show (static/js/kind_fields.js).
    assert page.locator("[name=actions-0-points]").is_visible()
    assert not page.locator("[name=actions-0-promotion]").is_visible()
    assert not page.locator("[name=actions-0-multiplier]").is_visible()
    assert not page.locator("[name=trigger_days]").is_visible()
    page.select_option("[name=trigger]", "birthday")
    assert page.locator("[name=trigger_days]").is_visible()
    assert not page.locator("[name=milestone_visits]").is_visible()
    page.select_option("[name=trigger]", "schedule")
    page.fill("[name=actions-0-points]", "50")
    page.click("button[name=_continue], input[name=_continue]")
    page.wait_for_selector("[data-step=launch]")
    with tenant_context(organization):
        campaign = Campaign.objects.get(name=name)
        assert (campaign.status, campaign.recurrence_weekdays) == ("draft", "5,6")
    findings["draft"] = _problems(page)
    page.click("[data-step=launch]")
    page.wait_for_selector("[data-campaign-status=running]")
    assert page.locator("[data-figure=audience]").inner_text().strip() == str(_customers(organization))
    assert page.locator("[data-step=pause]").count() == 1
    findings["running"] = _problems(page)
    context.close()
    assert {page: problems for page, problems in findings.items() if problems} == {}


def _customers(organization) -> int:
    with tenant_context(organization):
        return Customer.objects.filter(status="active").count()


@pytest.mark.parametrize("width", [390, 1280])
def test_the_unsubscribe_page_asks_then_confirms(chromium, server, width):
    organization, _ = committed_organization("runner-admin", "Runner Café")
    customer = create_customer(organization)
    with tenant_context(organization):
        Customer.objects.filter(pk=customer.pk).update(consent_marketing_at=timezone.now())
        token = unsubscribe_token(customer_id=customer.pk, campaign_id=None)
    context = chromium.new_context(viewport={"width": width, "height": 800}, bypass_csp=True)
    page = context.new_page()
    page.goto(server.url(HOST, f"/unsubscribe/{token}/"))
    findings = {"ask": _problems(page)}
    page.get_by_role("button", name="Unsubscribe").click()
    page.wait_for_selector("text=You are unsubscribed")
    findings["done"] = _problems(page)
    context.close()
    with tenant_context(organization):
        assert Customer.objects.get(pk=customer.pk).consent_marketing_at is None
    assert {step: problems for step, problems in findings.items() if problems} == {}
