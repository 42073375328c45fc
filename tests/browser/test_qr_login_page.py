"""The page where a customer answers an e-shop's QR sign-in, on a phone (390 px) and a desktop
(1280 px): it says which screen of which organization asks, passes axe-core's WCAG 2.1 A/AA
rules, is no wider than the screen, and its buttons confirm or decline. Screenshots of the
question go to the temporary directory (/tmp/qr-login-<width>.png) for people to look at."""

import tempfile
import uuid
from pathlib import Path

import pytest
from django_tenants.utils import tenant_context
from playwright.sync_api import expect

from loyalty_platform.customers.login import login_link_create
from loyalty_platform.customers.models import Customer
from loyalty_platform.shops.models import Shop
from tests.browser.accessibility import axe_violations, horizontal_overflow
from tests.pos_fixtures import committed_organization, create_customer, issue_key
from tests.shop_api.conftest import make_sdk

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("committed_db")]
SLUG = "test-qr-login-page"
HOST = f"{SLUG}.localhost"


@pytest.fixture
def shop_sdk(server):
    organization, _ = committed_organization(SLUG, "Gintaras Café")
    with tenant_context(organization):
        shop, _ = Shop.objects.get_or_create(name="Web shop")
    return organization, shop, make_sdk(server, issue_key(organization))


def problems(page) -> list[str]:
    found = axe_violations(page)
    if overflow := horizontal_overflow(page):
        found.append(f"{overflow}px wider than the screen")
    return found


@pytest.mark.parametrize(
    ("width", "answer", "heading"),
    [(390, "No, decline", "Sign-in declined"), (1280, "Yes, sign me in", "You're signed in")],
)
def test_the_customer_answers_the_question_on_a_phone_and_a_desktop(
    chromium, server, shop_sdk, width, answer, heading
):
    organization, shop, sdk = shop_sdk
    customer = create_customer(organization, email=f"{uuid.uuid4().hex[:12]}@example.com", points=40)
    with tenant_context(organization):
        Customer.objects.filter(pk=customer.pk).update(name="Ona")
        link = login_link_create(customer=customer)
    session = sdk.generate_qr_login("Web checkout", shop_id=shop.pk)
    context = chromium.new_context(viewport={"width": width, "height": 844}, bypass_csp=True)
    page = context.new_page()
    try:
        page.goto(server.url(HOST, "/" + link.split("/", 3)[3]))
        # The phone's camera opens the link the QR encodes.
        page.goto(session["qr_code"])
        expect(page.get_by_role("heading", level=1)).to_have_text("Sign in to Web checkout of Gintaras Café?")
        expect(page.get_by_text("The request comes from the shop Web shop.")).to_be_visible()
        expect(page.get_by_text(customer.email)).to_be_visible()
        found = {"question": problems(page)}
        page.screenshot(path=Path(tempfile.gettempdir()) / f"qr-login-{width}.png", full_page=True)
        confirm = page.get_by_role("button", name="Yes, sign me in").bounding_box()
        decline = page.get_by_role("button", name="No, decline").bounding_box()

        page.get_by_role("button", name=answer).click()
        expect(page.get_by_role("heading", level=1)).to_have_text(heading)
        found["answered"] = problems(page)
    finally:
        context.close()

    assert found == {"question": [], "answered": []}
    # Side by side on a desktop, one above the other on a phone; big enough to tap.
    assert (confirm["y"] == decline["y"]) is (width == 1280)
    assert min(confirm["height"], decline["height"]) >= 44
    expected = "cancelled" if answer == "No, decline" else "authenticated"
    assert sdk.poll_qr_login(session["session_id"])["status"] == expected
