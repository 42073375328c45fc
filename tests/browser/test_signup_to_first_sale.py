"""The whole way from the platform's sign-up page to a first sale, in Chromium against the
running server: a merchant signs up asking for sample data, confirms the emailed link, lands
in the new portal signed in, and the dashboard's checklist leads to the browser till, where a
test sale ticks its step. Every tick comes from what the merchant actually did."""

import hashlib
import uuid

import pytest
from django_tenants.utils import tenant_context
from playwright.sync_api import expect

from loyalty_platform.programs.models import LedgerEntry
from tenants.models import Organization, SignupRequest
from tests.pos_fixtures import create_customer

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("committed_db")]
TOKEN = "first-sale-token"


def ticked(page) -> list[str]:
    return page.locator(".onboarding-step[data-done=true]").evaluate_all(
        "steps => steps.map(step => step.dataset.step)"
    )


def test_a_merchant_signs_up_and_runs_a_first_test_sale_from_the_checklist(page, server):
    slug = f"first-sale-{uuid.uuid4().hex[:6]}"
    page.goto(server.url("localhost", "/signup"))
    page.get_by_label("Business name").fill("Café Aurora")
    page.get_by_label("Address of your loyalty pages").fill(slug)
    expect(page.locator("#slug-status")).to_have_attribute("data-state", "available")
    page.get_by_label("Your email").fill(f"owner@{slug}.example")
    page.get_by_label("Password").fill("a-long-owner-password")
    page.get_by_label("Country").select_option("LT")
    page.get_by_label("Start with sample data").check()
    page.get_by_label("I accept the platform's").check()
    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()
    assert not Organization.objects.filter(slug=slug).exists()

    # The emailed link's token is known only as a hash; the test swaps in one it knows.
    SignupRequest.objects.filter(slug=slug).update(token_hash=hashlib.sha256(TOKEN.encode()).hexdigest())
    page.goto(server.url("localhost", f"/signup/verify/{TOKEN}"))
    page.get_by_role("button", name="Confirm and create my organization").click()
    host = f"{slug}.localhost"
    page.wait_for_url(server.url(host, "/admin/"))

    # The sample data gave a program and rewards; nothing else is done yet.
    expect(page.locator("#onboarding-progress")).to_have_text("2 of 7 done")
    assert ticked(page) == ["program", "reward"]

    organization = Organization.objects.get(slug=slug)
    customer = create_customer(organization)
    page.locator(".onboarding-step[data-step=sale]").get_by_role("link", name="Open the till").click()
    expect(page.locator("#till[data-state=open]")).to_have_count(1)
    page.get_by_label("Customer code").fill(str(customer.customer_code))
    page.get_by_role("button", name="Find", exact=True).click()
    expect(page.locator("#till[data-wallet=shown]")).to_have_count(1)
    page.get_by_label("Stamps", exact=True).fill("1")
    page.get_by_role("button", name="Add stamps", exact=True).click()
    expect(page.get_by_role("status")).to_have_text("Stamps added.")

    page.goto(server.url(host, "/admin/"))
    # Opening the till issued its key, and the sale is in the ledger.
    expect(page.locator("#onboarding-progress")).to_have_text("4 of 7 done")
    assert ticked(page) == ["program", "reward", "key", "sale"]
    with tenant_context(organization):
        assert list(LedgerEntry.objects.values_list("card__customer_id", "delta", "cause")) == [
            (customer.pk, 1, LedgerEntry.Cause.EARN)
        ]
