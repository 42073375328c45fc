import uuid

import pytest
from django_tenants.utils import tenant_context
from playwright.sync_api import expect

from loyalty_platform.accounts.services import staff_user_create
from tenants.models import Organization

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("committed_db")]


def test_staff_logs_into_their_organizations_admin(page, server):
    organization = Organization.objects.get(slug="test-a")
    email = f"browser-{uuid.uuid4().hex[:8]}@example.com"
    with tenant_context(organization):
        staff_user_create(email=email, password="browser-password-1")

    page.goto(server.url("test-a.localhost", "/admin/"))
    assert "/admin/login/" in page.url
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill("browser-password-1")
    page.get_by_role("button", name="Log in").click()

    page.wait_for_url(server.url("test-a.localhost", "/admin/"))
    expect(page.get_by_text("Test Org A", exact=True)).to_be_visible()
    # The sidebar's Settings group links the shops.
    expect(
        page.get_by_role("link", name="Shops", exact=True)
        .and_(page.locator("[href='/admin/shops/shop/']"))
        .first
    ).to_be_visible()


def test_wrong_password_is_refused(page, server):
    page.goto(server.url("test-a.localhost", "/admin/login/"))
    page.get_by_label("Email").fill("nobody@example.com")
    page.get_by_label("Password").fill("wrong-password")
    page.get_by_role("button", name="Log in").click()

    expect(page.get_by_text("Please enter the correct email and password")).to_be_visible()
    assert "/admin/login/" in page.url
