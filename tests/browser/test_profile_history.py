"""The profile on a phone and a desktop with a history of a few days: the days and the words
show, axe-core's WCAG 2.1 A/AA rules pass, nothing is wider than the screen."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connections
from django_tenants.utils import tenant_context
from playwright.sync_api import expect

from loyalty_platform.customers.login import login_link_create
from loyalty_platform.customers.services import customer_enroll
from loyalty_platform.programs.services import card_adjust, customer_earn
from tests.browser.accessibility import axe_violations, horizontal_overflow
from tests.pos_fixtures import committed_organization

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("committed_db")]
SLUG = "test-history-page"
HOST = f"{SLUG}.localhost"


@pytest.fixture(scope="module")
def history_organization(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        organization, _ = committed_organization(SLUG, "History Café")
        connections.close_all()
    return organization


@pytest.mark.parametrize("width", [390, 1280])
def test_the_history_reads_in_words_by_day(chromium, server, history_organization, width, tmp_path):
    with tenant_context(history_organization):
        customer, _ = customer_enroll(
            email=f"{uuid.uuid4().hex}@example.com", consent_terms=True, consent_privacy=True
        )
        with time_machine.travel(datetime.now(UTC) - timedelta(days=2)):
            customer_earn(customer=customer, amount=25, card_type="point", external_id=uuid.uuid4().hex)
        card_adjust(
            customer=customer,
            card_type="point",
            delta=5,
            reason="Goodwill: the machine broke",
            staff_user=None,
        )
        url = login_link_create(customer=customer)
    context = chromium.new_context(viewport={"width": width, "height": 900}, bypass_csp=True)
    page = context.new_page()
    try:
        page.goto(server.url(HOST, "/" + url.split("/", 3)[3]))
        history = page.locator("section.history")
        expect(history.locator(".history-day")).to_have_count(2)
        lines = history.locator(".history-line .what")
        expect(lines).to_have_text(["Correction: Goodwill: the machine broke", "Purchase"])
        expect(history.locator(".history-line .change")).to_have_text(["+5 points", "+25 points"])
        history.screenshot(path=str(tmp_path / f"history-{width}.png"))
        found = axe_violations(page)
        overflow = horizontal_overflow(page)
    finally:
        context.close()

    assert (found, overflow) == ([], 0)
