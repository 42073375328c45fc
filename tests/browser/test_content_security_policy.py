"""Every browser surface works under the Content-Security-Policy, with no violation at all:
the merchant and platform admins (under their own policy, see decision 0027), the customer's
profile with its live socket, Swagger UI."""

import uuid

import pytest
from django.db import connection
from django_tenants.utils import tenant_context
from playwright.sync_api import expect

from loyalty_platform.accounts.services import staff_user_create
from loyalty_platform.customers.login import login_link_create
from loyalty_platform.customers.services import customer_enroll
from loyalty_platform.vouchers.models import Promotion
from tenants.models import Organization

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("committed_db")]

# Records what the browser blocked, across navigations: the DOM event on every document, and
# Chromium's console error (which also covers what happens before the listener exists).
RECORD_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  const where = event.sourceFile + ":" + event.lineNumber;
  const blocked = event.blockedURI || "inline";
  window.cspViolation(event.violatedDirective + " blocked " + blocked + " in " + where);
});
"""


@pytest.fixture
def violations(page):
    seen: list[str] = []

    def on_violation(text: str) -> None:
        seen.append(text)

    page.expose_function("cspViolation", on_violation)
    page.add_init_script(RECORD_VIOLATIONS)

    def on_console(message) -> None:
        if "Content Security Policy" in message.text:
            seen.append(message.text)

    page.on("console", on_console)
    return seen


def staff_login(page, url: str, email: str, password: str) -> None:
    page.goto(url)
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def assert_admin_scripts_run(page) -> None:
    # The portal theme's Alpine.js initialises every component it finds and strips x-cloak
    # from each: a component whose expression the policy blocked would keep it.
    page.wait_for_function("window.Alpine !== undefined")
    assert page.evaluate("document.querySelectorAll('[x-cloak]').length") == 0
    # The account menu opens through an Alpine expression.
    page.locator("[x-data*=openUserLinks] > [x-on\\:click]").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()


def test_merchant_admin_logs_in_and_saves_a_change_under_the_policy(page, violations, server):
    organization = Organization.objects.get(slug="test-a")
    email = f"csp-{uuid.uuid4().hex[:8]}@example.com"
    with tenant_context(organization):
        staff_user_create(email=email, password="browser-password-1")

    staff_login(page, server.url("test-a.localhost", "/admin/login/"), email, "browser-password-1")
    page.wait_for_url(server.url("test-a.localhost", "/admin/"))
    page.goto(server.url("test-a.localhost", "/admin/vouchers/promotion/add/"))
    assert_admin_scripts_run(page)
    page.keyboard.press("Escape")
    title = f"Added under the policy {uuid.uuid4().hex[:6]}"
    page.get_by_label("Title").fill(title)
    page.get_by_role("button", name="Save", exact=True).click()

    expect(page.get_by_text("was added successfully")).to_be_visible()
    with tenant_context(organization):
        promotion = Promotion.objects.get(title=title)
    assert promotion.title == title
    assert violations == []


def test_platform_admin_edits_an_organization_with_inlines_under_the_policy(page, violations, server):
    email = f"operator-{uuid.uuid4().hex[:8]}@example.com"
    connection.set_schema_to_public()
    staff_user_create(email=email, password="operator-password-1")
    organization = Organization.objects.get(slug="test-b")

    staff_login(page, server.url("localhost", "/admin/login/"), email, "operator-password-1")
    page.wait_for_url(server.url("localhost", "/admin/"))
    page.goto(server.url("localhost", f"/admin/tenants/organization/{organization.pk}/change/"))
    assert_admin_scripts_run(page)
    assert violations == []


def test_profile_shows_its_qr_and_goes_live_under_the_policy(page, violations, server):
    organization = Organization.objects.get(slug="test-a")
    with tenant_context(organization):
        customer, _ = customer_enroll(
            email=f"{uuid.uuid4().hex}@example.com", consent_terms=True, consent_privacy=True
        )
        url = login_link_create(customer=customer)

    page.goto(server.url("test-a.localhost", "/" + url.split("/", 3)[3]))

    expect(page.get_by_role("heading", name="Your card", exact=True)).to_be_visible()
    expect(page.locator("body[data-realtime=subscribed]")).to_have_count(1, timeout=15000)
    assert page.evaluate("document.getElementById('my-qr').naturalWidth") == 256
    # The brand colour comes from the nonce'd <style>.
    brand = page.evaluate("getComputedStyle(document.documentElement).getPropertyValue('--brand').trim()")
    assert brand == organization.brand_color
    assert violations == []


def test_swagger_ui_renders_and_opens_an_operation_under_the_policy(page, violations, server):
    page.goto(server.url("localhost", "/api/docs/"))

    earn = page.locator("#operations-webhook-earn")
    expect(earn).to_be_visible(timeout=15000)
    earn.locator(".opblock-summary-path").click()
    expect(earn.get_by_role("button", name="Try it out")).to_be_visible()
    assert page.locator(".opblock").count() > 10
    assert violations == []
