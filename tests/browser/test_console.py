"""The operator's console in Chromium against the running server: an operator creates an
organization for a merchant, suspends it (the POS API refuses, the owner's portal is read-only
with the banner) and reactivates it (the API answers again). The console's list, add and
action pages and the owner's page with the banner pass axe (WCAG 2.1 A and AA)."""

import uuid

import pytest
import requests
from django.db import connection
from django_tenants.utils import tenant_context
from playwright.sync_api import expect

from loyalty_platform.accounts.models import StaffInvitation, User
from tenants.models import Organization
from tests.browser.accessibility import axe_violations
from tests.pos_fixtures import create_customer, create_programs, issue_key

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("committed_db")]
PASSWORD = "operator-password-1"
OWNER_PASSWORD = "owner-password-1"


@pytest.fixture(scope="module")
def operator_email(django_db_setup, django_db_blocker) -> str:
    with django_db_blocker.unblock():
        connection.set_schema_to_public()
        email = f"operator-{uuid.uuid4().hex[:6]}@platform.example"
        User.objects.create_superuser(email=email, password=PASSWORD)
        return email


def _api(server, key: str, host: str, code: int) -> requests.Response:
    # The loopback address with the wanted Host: Python resolves no *.localhost.
    return requests.get(
        server.url("127.0.0.1", "/webhook/customer"),
        params={"code": code},
        headers={"X-Api-Key": key, "Host": host},
        timeout=10,
    )


def _status_action(page, server, organization: Organization, link: str, reason: str, button: str) -> None:
    page.goto(server.url("localhost", f"/admin/tenants/organization/{organization.pk}/change/"))
    # The change page itself is left out: the theme's tabular inlines have unlabelled inputs.
    page.get_by_role("link", name=link).click()
    assert axe_violations(page) == []
    page.get_by_label("Reason").fill(reason)
    page.get_by_role("button", name=button).click()
    page.wait_for_url(server.url("localhost", f"/admin/tenants/organization/{organization.pk}/change/"))


def test_an_operator_creates_suspends_and_reactivates_an_organization(chromium, server, operator_email):
    slug = f"console-{uuid.uuid4().hex[:6]}"
    operator = chromium.new_context(bypass_csp=True).new_page()
    operator.goto(server.url("localhost", "/admin/login/"))
    operator.get_by_label("Email").fill(operator_email)
    operator.get_by_label("Password").fill(PASSWORD)
    operator.get_by_role("button", name="Log in").click()
    operator.wait_for_url(server.url("localhost", "/admin/"))

    # Create the organization for a merchant.
    operator.goto(server.url("localhost", "/admin/tenants/organization/"))
    assert axe_violations(operator) == []
    operator.locator("a.addlink[title='Add organization']").click()
    assert axe_violations(operator) == []
    operator.get_by_label("Business name").fill("Console Café")
    operator.get_by_label("Address").fill(slug)
    operator.get_by_label("Country").fill("LT")
    operator.get_by_label("Plan").select_option(label="Standard")
    operator.get_by_label("Owner's email").fill("owner@console.example")
    operator.get_by_role("button", name="Create organization").click()
    expect(
        operator.get_by_text("Console Café is created; an invitation was sent to owner@console.example.")
    ).to_be_visible()

    connection.set_schema_to_public()
    organization = Organization.objects.get(slug=slug)
    assert (organization.name, organization.country, organization.status) == ("Console Café", "LT", "active")
    create_programs(organization)
    customer = create_customer(organization, points=30)
    key = issue_key(organization)
    with tenant_context(organization):
        owner = User.objects.get(email="owner@console.example")
        assert StaffInvitation.objects.filter(user=owner).count() == 1
        # As accepting the emailed invitation would (the server process kept the email).
        owner.set_password(OWNER_PASSWORD)
        owner.save(update_fields=["password"])
    host = f"{slug}.localhost"
    platform = f"localhost:{server.port}"
    assert _api(server, key, host, customer.customer_code).status_code == 200
    assert _api(server, key, platform, customer.customer_code).status_code == 200

    # Suspend it.
    _status_action(operator, server, organization, "Suspend", "Unpaid invoice 42", "Suspend")
    expect(operator.get_by_text("Console Café is suspended.")).to_be_visible()

    for api_host in (host, platform):
        refused = _api(server, key, api_host, customer.customer_code)
        assert (refused.status_code, refused.json()) == (403, {"error": "organization_suspended"})

    owner_page = chromium.new_context(bypass_csp=True).new_page()
    owner_page.goto(server.url(host, "/admin/login/"))
    owner_page.get_by_label("Email").fill("owner@console.example")
    owner_page.get_by_label("Password").fill(OWNER_PASSWORD)
    owner_page.get_by_role("button", name="Log in").click()
    owner_page.wait_for_url(server.url(host, "/admin/"))
    banner = "The platform operator suspended this organization: Unpaid invoice 42."
    expect(owner_page.get_by_text(banner)).to_be_visible()
    owner_page.goto(server.url(host, f"/admin/customers/customer/{customer.pk}/change/"))
    expect(owner_page.get_by_text(banner)).to_be_visible()
    expect(owner_page.locator("[name=_save]")).to_have_count(0)
    assert axe_violations(owner_page) == []

    # Reactivate it: the API answers again and the banner is gone.
    _status_action(operator, server, organization, "Reactivate", "Invoice paid", "Reactivate")
    expect(operator.get_by_text("Console Café is active again.")).to_be_visible()
    assert _api(server, key, host, customer.customer_code).status_code == 200
    assert _api(server, key, platform, customer.customer_code).status_code == 200
    owner_page.reload()
    expect(owner_page.get_by_text(banner)).to_have_count(0)
    operator.context.close()
    owner_page.context.close()
