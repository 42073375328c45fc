"""Deleting an account with prepaid credit left, in the profile on a phone and a desktop
(docs/decisions/0056): the customer with €20.00 is refused with how to get the money back
(axe-core's WCAG 2.1 A/AA rules pass on that page, nothing wider than the screen); staff pay
the credit out through the stored-value service; then the deletion goes through."""

import re
import uuid
from decimal import Decimal

import pytest
from django.db import connections
from django_tenants.utils import tenant_context
from playwright.sync_api import expect

from loyalty_platform.branding.models import LegalVersion
from loyalty_platform.branding.services import contact_email_set, legal_version_publish
from loyalty_platform.customers.login import login_link_create
from loyalty_platform.customers.models import Customer
from loyalty_platform.stored_value.models import MoneyEntry, PrepaidAccount
from loyalty_platform.stored_value.services import money_adjust, prepaid_transact
from tests.browser.accessibility import axe_violations, horizontal_overflow
from tests.factories import StaffUserFactory
from tests.pos_fixtures import committed_organization, create_customer

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("committed_db")]
SLUG = "test-delete-money"
HOST = f"{SLUG}.localhost"


@pytest.fixture(scope="module")
def shop(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        organization, _ = committed_organization(SLUG, "Corner Bakery")
        with tenant_context(organization):
            contact_email_set(email="refunds@corner.example", actor=None)
            staff = StaffUserFactory(email=f"{uuid.uuid4().hex}@corner.example")
        connections.close_all()
    return organization, staff


def delete_account(page) -> None:
    page.get_by_role("link", name="Delete your account").click()
    page.get_by_label("Type DELETE").fill("DELETE")
    page.get_by_role("button", name="Delete my account").click()


@pytest.mark.parametrize("width", [390, 1280])
def test_deletion_refused_with_prepaid_left_and_allowed_after(chromium, server, shop, width, tmp_path):
    organization, staff = shop
    customer = create_customer(organization, email=f"{uuid.uuid4().hex}@example.com")
    with tenant_context(organization):
        prepaid_transact(customer=customer, amount=Decimal("20.00"), currency="EUR", external_id="top-up")
        url = login_link_create(customer=customer)
    context = chromium.new_context(viewport={"width": width, "height": 900}, bypass_csp=True)
    page = context.new_page()
    try:
        page.goto(server.url(HOST, "/" + url.split("/", 3)[3]))
        expect(page.locator("#prepaid-balance")).to_have_text("€20.00")

        delete_account(page)

        heading = page.get_by_role("heading", level=1)
        expect(heading).to_have_text("Your account still holds money")
        expect(heading).to_have_attribute("data-error", "customer_has_money")
        expect(page.locator(".money-left li")).to_have_text(["€20.00 of prepaid credit"])
        expect(page.locator("#money-left-how")).to_have_text(
            "To get it back, spend it at the till, or ask Corner Bakery for a refund. "
            "When nothing is left, the account can be deleted."
        )
        expect(page.get_by_role("link", name="refunds@corner.example")).to_have_attribute(
            "href", "mailto:refunds@corner.example"
        )
        page.screenshot(path=str(tmp_path / f"refused-{width}.png"), full_page=True)
        refused_violations = axe_violations(page)
        refused_overflow = horizontal_overflow(page)
        with tenant_context(organization):
            still = Customer.objects.get(pk=customer.pk)
            refused_state = (still.status, still.email, PrepaidAccount.objects.get(customer=customer).balance)

        # Staff pay the credit out in cash and correct the balance to zero.
        with tenant_context(organization):
            account = PrepaidAccount.objects.get(customer=customer)
            money_adjust(
                account=account, amount=Decimal("-20.00"), reason="Paid out in cash", staff_user=staff
            )

        page.get_by_role("link", name="Go to your profile").click()
        expect(page.locator("#prepaid-balance")).to_have_text("€0.00")
        delete_account(page)

        expect(page.get_by_role("heading", level=1)).to_have_text("Account deleted")
        expect(page.get_by_text("Your account is gone.")).to_be_visible()
        deleted_violations = axe_violations(page)
    finally:
        context.close()

    assert (refused_violations, refused_overflow, deleted_violations) == ([], 0, [])
    assert refused_state == ("active", customer.email, Decimal("20.00"))
    with tenant_context(organization):
        erased = Customer.objects.get(pk=customer.pk)
        entries = list(
            MoneyEntry.objects.filter(prepaid_account__customer=customer)
            .order_by("created_at")
            .values_list("amount", "balance_after", "cause", "note")
        )
    assert (erased.status, erased.email, erased.name) == (
        "deleted",
        f"deleted-{customer.pk}@deleted.invalid",
        "",
    )
    assert entries == [
        (Decimal("20.00"), Decimal("20.00"), "load", ""),
        (Decimal("-20.00"), Decimal("0.00"), "adjust", "Paid out in cash"),
    ]


@pytest.mark.parametrize("width", [390, 1280])
def test_the_terms_and_privacy_pages_pass_axe_and_fit_the_screen(chromium, server, shop, width):
    organization, staff = shop
    with tenant_context(organization):
        if not LegalVersion.objects.filter(kind="terms").exists():
            legal_version_publish(kind="terms", body="Our first terms.", actor=staff)
            legal_version_publish(
                kind="terms",
                body="Our terms.\n\nRules: https://corner.example/" + "a-very-long-path-segment" * 8,
                actor=staff,
            )
    context = chromium.new_context(viewport={"width": width, "height": 900}, bypass_csp=True)
    page = context.new_page()
    findings = {}
    try:
        for path in ("/terms", "/privacy"):
            page.goto(server.url(HOST, path))
            problems = axe_violations(page)
            if overflow := horizontal_overflow(page):
                problems.append(f"{overflow}px wider than the screen")
            findings[path] = problems
        page.goto(server.url(HOST, "/terms"))
        page.get_by_role("link", name=re.compile("^Version of ")).click()
        expect(page.locator(".legal-text")).to_have_text("Our first terms.")
        findings["earlier version"] = axe_violations(page)
    finally:
        context.close()

    assert findings == {"/terms": [], "/privacy": [], "earlier version": []}
