"""A plan limit reached, in Chromium against the running server: an organization whose plan
allows one shop and one customer. Adding a second shop in the portal shows the limit's
sentence and creates nothing; the POS API answers 402 plan_limit_reached for a new customer;
the owner's Plan and usage page shows both limits reached."""

import uuid

import pytest
import requests
from django_tenants.utils import tenant_context
from playwright.sync_api import expect

from loyalty_platform.accounts.services import staff_user_create
from loyalty_platform.customers.models import Customer
from loyalty_platform.shops.models import Shop
from loyalty_platform.shops.services import shop_create
from tenants.models import Plan, Subscription
from tenants.services import organization_create
from tests.pos_fixtures import create_customer, create_programs, issue_key

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("committed_db")]
PASSWORD = "owner-password-1"
OWNER = "owner@limits.example"


@pytest.fixture(scope="module")
def small_shop(django_db_setup, django_db_blocker):
    """An organization of its own on a plan with room for one shop and one customer, both
    taken; its owner and a POS key."""
    with django_db_blocker.unblock():
        slug = f"limits-{uuid.uuid4().hex[:6]}"
        organization = organization_create(slug=slug, name="Limits Café")
        plan = Plan.objects.create(code=slug, name="Tiny", max_shops=1, max_customers=1)
        for subscription in Subscription.objects.filter(organization=organization):
            subscription.plan = plan
            subscription.save()
        create_programs(organization)
        with tenant_context(organization):
            staff_user_create(email=OWNER, password=PASSWORD)
            shop_create(name="Main street")
        create_customer(organization)
        return organization, issue_key(organization)


def test_a_second_shop_in_the_portal_shows_the_limit_and_creates_nothing(page, server, small_shop):
    organization, _key = small_shop
    host = f"{organization.slug}.localhost"
    page.goto(server.url(host, "/admin/login/"))
    page.get_by_label("Email").fill(OWNER)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(server.url(host, "/admin/"))

    page.goto(server.url(host, "/admin/shops/shop/add/"))
    page.get_by_label("Name").fill("Harbour")
    page.get_by_role("button", name="Save", exact=True).click()

    expect(page.get_by_text("Your plan allows 1 shop and this organization has reached it")).to_be_visible()
    expect(page.get_by_text("ask the platform operator for a larger plan")).to_be_visible()
    with tenant_context(organization):
        assert list(Shop.objects.values_list("name", flat=True)) == ["Main street"]

    page.get_by_role("link", name="Plan and usage").click()
    expect(page.get_by_text("Your organization is on the Tiny plan.")).to_be_visible()
    for limit in ("customers", "shops"):
        expect(page.locator(f"tr[data-limit='{limit}']")).to_contain_text("1 (reached)")


def test_the_pos_api_answers_402_when_the_customer_limit_is_reached(server, small_shop):
    organization, key = small_shop
    # The loopback address with the organization's Host: Python resolves no *.localhost.
    response = requests.post(
        server.url("127.0.0.1", "/webhook/customer"),
        json={"email": "second@limits.example", "consent_terms": True, "consent_privacy": True},
        headers={"X-Api-Key": key, "Host": f"{organization.slug}.localhost"},
        timeout=10,
    )

    assert (response.status_code, response.json()) == (
        402,
        {"error": "plan_limit_reached", "limit": "customers", "allowed": 1},
    )
    with tenant_context(organization):
        assert Customer.objects.count() == 1
