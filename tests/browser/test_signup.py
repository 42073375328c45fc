"""A merchant signs up in Chromium against the running server: the address is checked while
typed, the link (its token set by the test: the server's email outbox is another process's)
is confirmed, and the owner lands in the new portal signed in. The sign-up and confirmation
pages (form with its messages, confirmation, "check your email", a refused link, terms) pass
axe-core without sideways scrolling at phone and desktop widths."""

import hashlib
import uuid

import pytest
from playwright.sync_api import expect

from tenants.models import Organization, SignupRequest, Subscription
from tenants.signup import signup_request_create
from tests.browser.accessibility import axe_violations, horizontal_overflow

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("committed_db")]
PASSWORD = "a-long-owner-password"


def _known_token(signup: SignupRequest, token: str) -> None:
    # Only the token's hash is stored; the test gives the sign-up one it knows.
    signup.token_hash = hashlib.sha256(token.encode()).hexdigest()
    signup.save(update_fields=["token_hash"])


def test_a_merchant_signs_up_confirms_and_lands_in_their_portal_signed_in(chromium, server):
    slug = f"luna-{uuid.uuid4().hex[:6]}"
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(server.url("localhost", "/signup"))

    page.get_by_label("Business name").fill("Café Luna")
    address = page.get_by_label("Address of your loyalty pages")
    address.fill("admin")
    status = page.locator("#slug-status")
    expect(status).to_have_text("This address is reserved for the platform; choose another.")
    expect(status).to_have_attribute("data-state", "taken")
    address.fill(slug)
    expect(status).to_have_text(f"{slug}.localhost:{server.port} is available.")
    expect(status).to_have_attribute("data-state", "available")
    page.get_by_label("Your email").fill(f"owner@{slug}.example")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Country").select_option("LT")
    page.get_by_label("I accept the platform's").check()
    page.get_by_role("button", name="Sign up").click()

    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()
    signup = SignupRequest.objects.get(slug=slug)
    # The script passed the browser's time zone (not Lithuania's, so the country's is kept).
    assert signup.timezone == "Europe/Vilnius"
    assert not Organization.objects.filter(slug=slug).exists()
    _known_token(signup, "browser-sign-up-token")

    page.goto(server.url("localhost", "/signup/verify/browser-sign-up-token"))
    page.get_by_role("button", name="Confirm and create my organization").click()

    host = f"{slug}.localhost"
    page.wait_for_url(server.url(host, "/admin/"))
    expect(page.locator("input[name=password]")).to_have_count(0)
    expect(page.get_by_text("Café Luna").first).to_be_visible()
    organization = Organization.objects.get(slug=slug)
    assert organization.currency == "EUR"
    assert Subscription.objects.get(organization=organization).status == Subscription.Status.TRIALING
    context.close()


@pytest.fixture(scope="module")
def pending_signup(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        slug = f"axe-{uuid.uuid4().hex[:6]}"
        signup = signup_request_create(
            name="Axe Bakery", slug=slug, email=f"owner@{slug}.example", password=PASSWORD, country="LT"
        )
        _known_token(signup, f"axe-token-{slug}")
        return signup


@pytest.mark.parametrize("width", [390, 1280])
def test_the_sign_up_pages_pass_axe_without_sideways_scrolling(chromium, server, pending_signup, width):
    context = chromium.new_context(viewport={"width": width, "height": 900}, bypass_csp=True)
    page = context.new_page()
    pages = {
        "sign-up": "/signup",
        "confirm": f"/signup/verify/axe-token-{pending_signup.slug}",
        "terms": "/terms",
        "link-not-valid": "/signup/verify/not-a-token",
        "check-your-email": "/signup",
    }
    problems = {}
    for name, path in pages.items():
        page.goto(server.url("localhost", path))
        if name == "sign-up":
            # With its live message and, after a refused submit, its error messages.
            page.get_by_label("Address of your loyalty pages").fill("a-rather-long-address-for-a-small-phone")
            expect(page.locator("#slug-status")).not_to_be_empty()
            page.get_by_role("button", name="Sign up").click()
            expect(page.locator("#email-error")).to_be_visible()
        if name == "check-your-email":
            slug = f"axe-{width}-{uuid.uuid4().hex[:6]}"
            page.get_by_label("Business name").fill("Axe Café")
            page.get_by_label("Address of your loyalty pages").fill(slug)
            page.get_by_label("Your email").fill(f"owner@{slug}.example")
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_label("Country").select_option("LT")
            page.get_by_label("I accept the platform's").check()
            page.get_by_role("button", name="Sign up").click()
            expect(page.get_by_role("heading", name="Check your email")).to_be_visible()
        found = axe_violations(page)
        if overflow := horizontal_overflow(page):
            found.append(f"{overflow} px wider than the viewport")
        if found:
            problems[name] = found
    context.close()
    assert problems == {}
