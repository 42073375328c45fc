"""The merchant portal's pages as staff see them, on a phone and a desktop: every page passes
axe-core's WCAG 2.1 AA rules and none scrolls sideways."""

import uuid

import pytest
from django_tenants.utils import tenant_context

from loyalty_platform.accounts.services import staff_user_create
from tenants.models import Organization
from tests.browser.accessibility import axe_violations, horizontal_overflow
from tests.pos_fixtures import create_customer

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("committed_db")]

PAGES = [
    "/admin/",
    "/admin/customers/customer/",
    "/admin/customers/customer/{customer}/change/",
    "/admin/customers/customer/{customer}/adjust/",
    "/admin/programs/program/",
    "/admin/programs/program/add/",
    "/admin/vouchers/promotion/",
    "/admin/stored_value/giftcardbatch/add/",
    "/admin/branding/logo/add/",
    "/admin/branding/legalversion/",
    "/admin/branding/legalversion/add/?kind=terms",
    "/admin/branding/contactemail/add/",
]


@pytest.fixture(scope="module")
def staff_and_customer(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        organization = Organization.objects.get(slug="test-a")
        email = f"portal-{uuid.uuid4().hex[:8]}@example.com"
        with tenant_context(organization):
            staff_user_create(email=email, password="portal-password-1")
        customer = create_customer(organization, points=40)
        return email, customer


@pytest.mark.parametrize("width", [390, 1280])
def test_portal_pages_pass_axe_and_fit_the_screen(chromium, server, staff_and_customer, width):
    email, customer = staff_and_customer
    context = chromium.new_context(viewport={"width": width, "height": 900}, bypass_csp=True)
    page = context.new_page()
    page.goto(server.url("test-a.localhost", "/admin/login/"))
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill("portal-password-1")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(server.url("test-a.localhost", "/admin/"))

    findings = {}
    for path in PAGES:
        response = page.goto(server.url("test-a.localhost", path.format(customer=customer.pk)))
        assert response.status == 200, path
        problems = axe_violations(page)
        if overflow := horizontal_overflow(page):
            problems.append(f"{overflow}px wider than the screen")
        if problems:
            findings[path] = problems
    context.close()

    assert findings == {}
