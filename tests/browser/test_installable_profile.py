"""The profile installed on a phone's home screen: Chromium finds it installable, the service
worker keeps the customer's last card, shown offline as possibly out of date, and signing out
forgets it (docs/decisions/0057-installable-profile.md)."""

import json
import uuid
from urllib.parse import quote

import pytest
from django.db import connections
from django_tenants.utils import tenant_context
from playwright.sync_api import expect

from loyalty_platform.customers.login import login_link_create
from loyalty_platform.customers.models import Customer
from loyalty_platform.customers.services import customer_enroll
from loyalty_platform.profile.webapp import offline_cache_key
from loyalty_platform.programs.services import customer_earn
from loyalty_platform.verification.services import customer_code_from_qr
from tests.browser.accessibility import axe_violations, horizontal_overflow
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.pos_fixtures import committed_organization

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("committed_db")]
SLUG = "test-installable"
HOST = f"{SLUG}.localhost"
PHONE = {"width": 390, "height": 844}
KEPT_CARD = "caches.keys().then(names => names.some(name => name.startsWith('lp-customer-')))"
KEPT_QR_ANSWER = (
    "caches.keys().then(async names => { const name = names.find(name => name.startsWith('lp-customer-'));"
    " return Boolean(name) && Boolean(await (await caches.open(name)).match('/me/api/qr')); })"
)
NOTICE = "You are offline - this may be out of date (last updated "


@pytest.fixture(scope="module")
def installable_organization(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        organization, _ = committed_organization(SLUG, "Luna Bakery")
        connections.close_all()
    return organization


def sign_in_link(organization, points: int) -> tuple[str, Customer]:
    with tenant_context(organization):
        customer, _ = customer_enroll(
            email=f"{uuid.uuid4().hex}@example.com", consent_terms=True, consent_privacy=True
        )
        customer_earn(customer=customer, amount=points, card_type="point", external_id=uuid.uuid4().hex)
        return "/" + login_link_create(customer=customer).split("/", 3)[3], customer


def offline_cache_key_of(organization, customer) -> str:
    with tenant_context(organization):
        return offline_cache_key(customer)


def wait_for_the_kept_card(page) -> None:
    page.evaluate("navigator.serviceWorker.ready.then(registration => registration.scope)")
    page.wait_for_function(f"() => {KEPT_CARD}")


def test_the_installed_profile_shows_the_last_card_offline_until_signing_out(
    chromium, server, installable_organization, tmp_path
):
    # A profile of its own: Chromium never offers to install from an incognito context.
    context = chromium.browser_type.launch_persistent_context(
        str(tmp_path / "profile"), executable_path=CHROMIUM, args=CHROMIUM_ARGS, viewport=PHONE
    )
    try:
        page = context.pages[0] if context.pages else context.new_page()
        link, customer = sign_in_link(installable_organization, points=1250)
        page.goto(server.url(HOST, link))
        expect(page.get_by_role("heading", name="Your card", exact=True)).to_be_visible()
        scope = page.evaluate("navigator.serviceWorker.ready.then(registration => registration.scope)")
        assert scope == server.url(HOST, "/me/")
        wait_for_the_kept_card(page)
        cdp = context.new_cdp_session(page)
        manifest = cdp.send("Page.getAppManifest")
        assert manifest["url"] == server.url(HOST, "/me/manifest.webmanifest?lang=en")
        assert manifest["errors"] == []
        assert json.loads(manifest["data"])["name"] == "Luna Bakery"
        assert cdp.send("Page.getInstallabilityErrors") == {"installabilityErrors": []}
        expect(page.locator("#offline-notice")).to_be_hidden()
        expect(page.locator("#points-balance")).to_have_text("1,250")
        # A fresh QR asked for online is kept too.
        first_payload = page.locator("#my-qr").get_attribute("data-payload")
        # The payload's expiry counts in whole seconds: a refresh within the page's own second
        # would be the same QR (seen in CI).
        page.wait_for_timeout(1100)
        page.get_by_role("button", name="Refresh my QR").click()
        expect(page.locator("#my-qr")).not_to_have_attribute("data-payload", first_payload)
        refreshed = page.locator("#my-qr").get_attribute("data-payload")
        page.wait_for_function(f"() => {KEPT_QR_ANSWER}")

        # Playwright's offline emulation fires no "offline" or "online" events: the test
        # sends them as the browser would.
        context.set_offline(True)
        page.evaluate("dispatchEvent(new Event('offline'))")
        expect(page.locator("#offline-notice")).to_be_visible()
        assert page.locator("#offline-notice").get_attribute("data-copy") == "network"
        page.reload()

        expect(page.locator("#offline-notice")).to_be_visible()
        expect(page.locator("#offline-notice")).to_contain_text(NOTICE)
        assert page.locator("#offline-notice").get_attribute("data-copy") == "offline"
        expect(page.locator("#points-balance")).to_have_text("1,250")
        qr = page.locator("#my-qr")
        expect(qr).to_be_visible()
        # The copy's own QR (the worker kept the page once more when it started): this
        # customer's, and its image loaded from the kept copy.
        payload = qr.get_attribute("data-payload")
        assert qr.get_attribute("src") == f"/qr.svg?data={quote(payload, safe='/')}&size=256"
        assert customer_code_from_qr(organization=installable_organization, payload=payload) == (
            customer.customer_code
        )
        page.wait_for_function("document.getElementById('my-qr').complete")
        assert page.evaluate("document.getElementById('my-qr').naturalWidth") > 0
        assert horizontal_overflow(page) == 0
        # Refreshing offline shows the last QR the server gave, from what was kept.
        page.get_by_role("button", name="Refresh my QR").click()
        expect(qr).to_have_attribute("data-payload", refreshed)
        page.wait_for_function("document.getElementById('my-qr').complete")
        assert page.evaluate("document.getElementById('my-qr').naturalWidth") > 0

        # Back online, the copy makes way for the live page by itself.
        context.set_offline(False)
        page.evaluate("dispatchEvent(new Event('online'))")
        expect(page.locator("#offline-notice[data-copy=network]")).to_have_count(1)
        expect(page.locator("#offline-notice")).to_be_hidden()
        page.get_by_role("button", name="Sign out").click()
        expect(page.get_by_role("button", name="Email me a sign-in link")).to_be_visible()
        assert page.evaluate(KEPT_CARD) is False

        context.set_offline(True)
        page.goto(server.url(HOST, "/me/"))

        expect(page.get_by_role("heading", name="You are offline")).to_be_visible()
        expect(page.locator("#my-qr")).to_have_count(0)
        expect(page.locator("#points-balance")).to_have_count(0)

        # Another customer signs in on the same phone: only their card is kept.
        context.set_offline(False)
        link, second = sign_in_link(installable_organization, points=7)
        page.goto(server.url(HOST, link))
        expect(page.locator("#points-balance")).to_have_text("7")
        page.wait_for_function(f"() => {KEPT_CARD}")
        context.set_offline(True)
        page.reload()
        expect(page.locator("#offline-notice[data-copy=offline]")).to_be_visible()
        payload = page.locator("#my-qr").get_attribute("data-payload")
        assert customer_code_from_qr(organization=installable_organization, payload=payload) == (
            second.customer_code
        )
        assert page.evaluate(
            "caches.keys().then(names => names.filter(name => name.startsWith('lp-customer-')))"
        ) == ["lp-customer-1-" + offline_cache_key_of(installable_organization, second)]
    finally:
        context.close()


@pytest.mark.parametrize("width", [390, 1280])
def test_the_offline_copy_and_the_offline_page_pass_axe(chromium, server, installable_organization, width):
    context = chromium.new_context(viewport={"width": width, "height": 900}, bypass_csp=True)
    page = context.new_page()
    try:
        page.goto(server.url(HOST, sign_in_link(installable_organization, points=30)[0]))
        wait_for_the_kept_card(page)
        context.set_offline(True)
        page.reload()
        expect(page.locator("#offline-notice")).to_be_visible()
        found = {"dashboard": axe_violations(page), "dashboard overflow": horizontal_overflow(page)}
        page.goto(server.url(HOST, "/me/offline?page"))
        expect(page.get_by_role("heading", name="You are offline")).to_be_visible()
        found.update({"offline": axe_violations(page), "offline overflow": horizontal_overflow(page)})
    finally:
        context.close()
    assert found == {"dashboard": [], "dashboard overflow": 0, "offline": [], "offline overflow": 0}
