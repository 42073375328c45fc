"""Editing the profile and withdrawing marketing consent, on a phone (390 px) and a desktop
(1280 px): "My details" saves the name and birth date, a new phone number is confirmed by the
texted code, offers by email are withdrawn in one click and the history says so, and the
language chosen applies at once. axe-core's WCAG 2.1 A/AA rules pass on every step and
nothing is wider than the screen."""

import re
import secrets
import uuid
from datetime import date

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context
from playwright.sync_api import expect

from loyalty_platform.core import sms
from loyalty_platform.customers.login import login_link_create
from loyalty_platform.customers.models import ConsentEvent, Customer, PhoneChange
from loyalty_platform.customers.phone_change import phone_change_code_send
from loyalty_platform.customers.services import customer_code_candidate
from tests.browser.accessibility import axe_violations, horizontal_overflow
from tests.pos_fixtures import committed_organization

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("committed_db")]
SLUG = "test-own-data"
HOST = f"{SLUG}.localhost"
WIDTHS = [390, 1280]


def problems(page) -> list[str]:
    found = axe_violations(page)
    if overflow := horizontal_overflow(page):
        found.append(f"{overflow}px wider than the screen")
    return found


def new_member(organization) -> Customer:
    now = timezone.now()
    with tenant_context(organization):
        return Customer.objects.create(
            customer_code=customer_code_candidate(),
            email=f"own-{uuid.uuid4().hex[:10]}@example.com",
            name="Ruta",
            consent_terms_at=now,
            consent_privacy_at=now,
            consent_marketing_at=now,
        )


def texted_code(organization, customer) -> str:
    """The server queued the texting task for a Celery worker; its work is done here, where the
    locmem SMS backend lets the test read the text."""
    with tenant_context(organization):
        change = PhoneChange.objects.get(customer=customer, confirmed_at__isnull=True)
        assert phone_change_code_send(change_id=change.pk, language="en")
    return re.search(r"is ([0-9]{6})\.", sms.outbox[-1].text).group(1)


@pytest.mark.parametrize("width", WIDTHS)
def test_editing_the_profile_and_withdrawing_marketing_consent(chromium, server, width, tmp_path):
    organization, _ = committed_organization(SLUG, "Own Data Café")
    customer = new_member(organization)
    phone = f"+3706{secrets.randbelow(10**7):07d}"
    with tenant_context(organization):
        url = login_link_create(customer=customer)
    context = chromium.new_context(viewport={"width": width, "height": 900}, bypass_csp=True)
    page = context.new_page()
    found = {}
    try:
        page.goto(server.url(HOST, "/" + url.split("/", 3)[3]))
        page.get_by_role("link", name="My details: name, phone, language and offers").click()
        expect(page.get_by_role("heading", name="My details", level=1)).to_be_visible()
        found["details"] = problems(page)

        page.get_by_role("textbox", name="Name (optional)").fill("Rūta Jonaitė")
        page.get_by_label("Birth date").fill("1991-04-02")
        page.get_by_role("button", name="Save my details").click()
        expect(page.get_by_role("status")).to_have_text("Saved: your details.")
        expect(page.get_by_role("textbox", name="Name (optional)")).to_have_value("Rūta Jonaitė")

        page.get_by_label("New phone number, with its country code").fill(phone)
        page.get_by_role("button", name="Change my number").click()
        expect(page.get_by_role("status")).to_contain_text("We texted a code to")
        found["code asked"] = problems(page)
        page.get_by_label("The code we texted to").fill("12")
        page.get_by_role("button", name="Confirm my new number").click()
        expect(page.get_by_role("alert")).to_have_text(
            "This is not the code we texted. Please check it and try again."
        )
        found["wrong code"] = problems(page)
        page.get_by_label("The code we texted to").fill(texted_code(organization, customer))
        page.get_by_role("button", name="Confirm my new number").click()
        expect(page.get_by_role("status")).to_have_text("Saved: your phone number is confirmed.")
        expect(page.locator("#phone-now")).to_contain_text(phone)

        email = page.locator('.consent[data-channel="email"]')
        expect(email).to_contain_text("We may email you offers (since")
        email.get_by_role("button", name="Stop offers by email").click()
        expect(page.get_by_role("status")).to_have_text("Saved: we will not email you offers any more.")
        expect(email).to_contain_text("We do not email you offers.")
        expect(page.locator(".consent-history")).to_contain_text("Withdrew consent to offers by email")
        expect(page.locator(".consent-history")).to_contain_text("The customer's profile")
        found["consent withdrawn"] = problems(page)
        page.screenshot(path=str(tmp_path / f"details-{width}.png"), full_page=True)

        page.get_by_label("Language of your pages and emails").select_option("lt")
        page.get_by_role("button", name="Save my details").click()
        expect(page.locator("html")).to_have_attribute("lang", "lt")
        found["in Lithuanian"] = problems(page)
    finally:
        context.close()

    with tenant_context(organization):
        saved = Customer.objects.get(pk=customer.pk)
        events = list(ConsentEvent.objects.filter(customer=saved).values_list("channel", "given", "source"))
    assert found == {
        "details": [],
        "code asked": [],
        "wrong code": [],
        "consent withdrawn": [],
        "in Lithuanian": [],
    }
    assert (saved.name, saved.birth_date, saved.phone, saved.language) == (
        "Rūta Jonaitė",
        date(1991, 4, 2),
        phone,
        "lt",
    )
    assert saved.consent_marketing_at is None
    assert events == [("email", False, "profile")]
