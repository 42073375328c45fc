"""Taking a reward in the profile on a phone and a desktop: the customer sees the catalogue,
takes a reward with their points, sees it waiting "to collect at the till" with its code, and
the till collects it with that code through the POS API; axe-core's WCAG 2.1 A/AA rules pass
and nothing is wider than the screen."""

import uuid

import pytest
import requests
from django.db import connections
from django_tenants.utils import tenant_context
from playwright.sync_api import expect

from loyalty_platform.customers.login import login_link_create
from loyalty_platform.programs.models import Program
from loyalty_platform.rewards.models import Reward, RewardReception
from tests.browser.accessibility import axe_violations, horizontal_overflow
from tests.pos_fixtures import balances, committed_organization, create_customer, issue_key

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("committed_db")]
SLUG = "test-rewards-page"
HOST = f"{SLUG}.localhost"


@pytest.fixture(scope="module")
def rewards_organization(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        organization, created = committed_organization(SLUG, "Reward Bakery")
        with tenant_context(organization):
            if created:
                Program.objects.filter(kind="point").update(reward_collect_days=30)
                Reward.objects.create(
                    name="Croissant",
                    description="Any croissant from the counter",
                    required_credits=80,
                    allow_pre_redeem=True,
                )
                Reward.objects.create(name="Tote bag", required_credits=300, allow_pre_redeem=True)
            croissant = Reward.objects.get(name="Croissant")
        key = issue_key(organization)
        connections.close_all()
    return organization, croissant, key


@pytest.mark.parametrize("width", [390, 1280])
def test_a_reward_taken_in_the_profile_is_collected_at_the_till(
    chromium, server, rewards_organization, width, tmp_path
):
    organization, croissant, api_key = rewards_organization
    customer = create_customer(organization, email=f"{uuid.uuid4().hex}@example.com", points=120)
    with tenant_context(organization):
        url = login_link_create(customer=customer)
    context = chromium.new_context(viewport={"width": width, "height": 900}, bypass_csp=True)
    page = context.new_page()
    try:
        page.goto(server.url(HOST, "/" + url.split("/", 3)[3]))
        rewards = page.locator("section.rewards")
        expect(rewards.locator("#rewards-points")).to_have_text("You have 120 points to spend.")
        expect(rewards.locator(".reward-status")).to_have_text(
            ["You have enough points.", "180 more points needed"]
        )
        rewards.screenshot(path=str(tmp_path / f"rewards-{width}.png"))
        catalogue_violations = axe_violations(page)

        page.get_by_role("button", name="Take Croissant for 80 points").click()

        expect(page.locator(".messages")).to_contain_text(
            "Croissant is yours: show it at the till to collect it."
        )
        waiting = page.locator("section.to-collect")
        expect(waiting.get_by_role("heading", name="To collect at the till")).to_be_visible()
        expect(waiting.locator("h3")).to_have_text(["Croissant"])
        expect(waiting.get_by_role("img", name="QR code to collect Croissant")).to_be_visible()
        expect(page.locator("#rewards-points")).to_have_text("You have 40 points to spend.")
        code = waiting.locator(".reception-code").inner_text()
        waiting.screenshot(path=str(tmp_path / f"to-collect-{width}.png"))
        found = axe_violations(page)
        overflow = horizontal_overflow(page)

        # The cashier collects it with the code the customer shows (the loopback address with
        # the organization's Host: Python resolves no *.localhost).
        collected = requests.post(
            server.url("127.0.0.1", f"/webhook/reward-receptions/{code}/collect"),
            json={"external_id": f"collect-{uuid.uuid4().hex}"},
            headers={"X-Api-Key": api_key, "Host": HOST},
            timeout=10,
        )
        page.reload()
        expect(page.locator("section.to-collect")).to_have_count(0)
    finally:
        context.close()

    assert (catalogue_violations, found, overflow) == ([], [], 0)
    assert collected.status_code == 200
    assert (collected.json()["data"]["status"], collected.json()["data"]["reward"]["id"]) == (
        "collected",
        croissant.pk,
    )
    with tenant_context(organization):
        reception = RewardReception.objects.get(customer=customer)
    assert (str(reception.pk), reception.status, reception.points) == (code, "collected", 80)
    assert balances(organization, customer)["point"] == (40, 40, 2)
