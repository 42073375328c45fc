"""The organization's public page passes axe-core (WCAG 2 A/AA rules) at phone and desktop
width, with the programs, rewards, Join and Sign in, and the staff link last."""

from pathlib import Path

import pytest
from django_tenants.utils import tenant_context

from loyalty_platform.rewards.models import Reward
from tests.pos_fixtures import committed_organization

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("committed_db")]

AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
WIDTHS = [(390, 844), (1280, 800)]


@pytest.fixture
def home_organization():
    organization, created = committed_organization("test-home", "Café Lumière")
    if created:
        with tenant_context(organization):
            Reward.objects.create(name="Croissant", required_credits=80)
            Reward.objects.create(name="Lunch menu", required_credits=400)
    return organization


@pytest.mark.parametrize(("width", "height"), WIDTHS)
def test_the_public_page_has_no_axe_violations(chromium, server, home_organization, width, height):
    # axe is injected as an inline script: the page's own policy would block it (rightly).
    context = chromium.new_context(viewport={"width": width, "height": height}, bypass_csp=True)
    try:
        page = context.new_page()
        page.goto(server.url(f"{home_organization.slug}.localhost", "/"))
        page.add_script_tag(path=str(AXE))
        result = page.evaluate(
            "axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', "
            "'best-practice']}})"
        )
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        links = page.locator("a").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    finally:
        context.close()

    assert [(v["id"], [n["target"] for n in v["nodes"]]) for v in result["violations"]] == []
    assert len(result["passes"]) > 10  # axe did run its checks
    assert overflow <= 0  # nothing wider than the screen
    assert links == ["/me/signup", "/me/login", "/me/signup", "/me/login", "/admin/"]
