"""The profile's wallet buttons on a phone and a desktop, against a server whose operator
configured both wallets (test certificates and keys made in the test): the buttons show,
axe-core's WCAG 2.1 A/AA rules pass, nothing is wider than the screen, and the Apple button
downloads the customer's pass."""

import io
import json
import uuid
import zipfile
from pathlib import Path

import pytest
from django.db import connections
from django_tenants.utils import tenant_context
from playwright.sync_api import expect

from loyalty_platform.customers.login import login_link_create
from loyalty_platform.customers.services import customer_enroll
from tests.browser.accessibility import axe_violations, horizontal_overflow
from tests.pos_fixtures import committed_organization
from tests.processes import live_server
from tests.wallet.credentials import make_apple_files, make_google_files

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("committed_db")]
SLUG = "test-wallet"
HOST = f"{SLUG}.localhost"
WIDTHS = [390, 1280]


@pytest.fixture(scope="module")
def wallet_server(django_db_setup, django_db_blocker, tmp_path_factory):
    folder = tmp_path_factory.mktemp("wallet-server")
    environment = {**make_apple_files(folder).settings(), **make_google_files(folder).settings()}
    with django_db_blocker.unblock():
        organization, _ = committed_organization(SLUG, "Wallet Bakery")
        connections.close_all()
    with django_db_blocker.unblock(), live_server(**environment) as running:
        yield running, organization


@pytest.mark.parametrize("width", WIDTHS)
def test_the_wallet_buttons_show_pass_axe_and_download_the_pass(chromium, wallet_server, width, tmp_path):
    server, organization = wallet_server
    with tenant_context(organization):
        customer, _ = customer_enroll(
            email=f"{uuid.uuid4().hex}@example.com", consent_terms=True, consent_privacy=True
        )
        url = login_link_create(customer=customer)
    context = chromium.new_context(
        viewport={"width": width, "height": 900}, bypass_csp=True, accept_downloads=True
    )
    page = context.new_page()
    try:
        page.goto(server.url(HOST, "/" + url.split("/", 3)[3]))
        apple = page.get_by_role("link", name="Add to Apple Wallet")
        google = page.get_by_role("link", name="Save to Google Wallet")
        expect(apple).to_be_visible()
        expect(google).to_be_visible()
        page.locator("section.qr").screenshot(path=str(tmp_path / f"wallet-{width}.png"))
        found = axe_violations(page)
        overflow = horizontal_overflow(page)
        boxes = [apple.bounding_box(), google.bounding_box()]
        google_href = google.get_attribute("href")
        with page.expect_download() as download_info:
            apple.click()
        download = download_info.value
        content = Path(download.path()).read_bytes()
    finally:
        context.close()

    assert (found, overflow) == ([], 0)
    assert all(box["x"] >= 0 and box["x"] + box["width"] <= width and box["height"] >= 44 for box in boxes)
    assert google_href == "/me/wallet/google"
    assert download.suggested_filename == "test-wallet-card.pkpass"
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        document = json.loads(archive.read("pass.json"))
    assert (document["organizationName"], document["serialNumber"]) == (
        "Wallet Bakery",
        f"{organization.schema_name}.customer-{customer.pk}",
    )
