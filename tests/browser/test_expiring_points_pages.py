"""Points expiring soon on the customer's phone and desktop (the notice on the point card, the
warning emails setting and its message after saving) and the program page's table of points
by month of expiry: axe-core's WCAG 2.1 A/AA rules pass, nothing is wider than the screen, and
screenshots of the card show it whole."""

import struct
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context
from playwright.sync_api import expect

from loyalty_platform.accounts.services import staff_user_create
from loyalty_platform.customers.login import login_link_create
from loyalty_platform.customers.models import Customer
from loyalty_platform.programs.models import Program
from tests.browser.accessibility import axe_violations, horizontal_overflow
from tests.pos_fixtures import committed_organization
from tests.programs.test_expiring_selectors import expiry_rule, lot, member

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("committed_db")]
SLUG = "test-expiring"
HOST = f"{SLUG}.localhost"
WIDTHS = [390, 1280]


@pytest.fixture
def expiring_organization():
    organization, created = committed_organization(SLUG, "Expiring Café")
    if created:
        with tenant_context(organization):
            expiry_rule(Program.objects.get(kind="point"))
    return organization


def png_size(png: bytes) -> tuple[int, int]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", png[16:24])


def problems(page) -> list[str]:
    found = axe_violations(page)
    if overflow := horizontal_overflow(page):
        found.append(f"{overflow}px wider than the screen")
    return found


@pytest.mark.parametrize("width", WIDTHS)
def test_the_profile_shows_expiring_points_and_saves_the_setting(
    chromium, server, expiring_organization, width, tmp_path
):
    now = timezone.now()
    with tenant_context(expiring_organization):
        card = member()
        lot(card, 120, now + timedelta(days=9))
        lot(card, 30, now + timedelta(days=25))
        lot(card, 500, None)
        url = login_link_create(customer=card.customer)
    context = chromium.new_context(viewport={"width": width, "height": 900}, bypass_csp=True)
    page = context.new_page()
    try:
        page.goto(server.url(HOST, "/" + url.split("/", 3)[3]))
        notice = page.locator("#points-expiring")
        expect(notice).to_contain_text("150 points expire within 30 days, the first on")
        found = {"profile": problems(page)}
        box = page.locator(".card.points").bounding_box()
        shot = page.locator(".card.points").screenshot(path=str(tmp_path / f"point-card-{width}.png"))
        page.screenshot(path=str(tmp_path / f"profile-{width}.png"), full_page=True)

        page.get_by_label("No, do not email me about it").check()
        page.locator("form.expiry-warnings").get_by_role("button", name="Save").click()
        expect(page.get_by_role("status")).to_have_text(
            "Saved: we will not email you before your points expire."
        )
        expect(page.get_by_label("No, do not email me about it")).to_be_checked()
        found["after saving"] = problems(page)
    finally:
        context.close()

    with tenant_context(expiring_organization):
        assert Customer.objects.get(pk=card.customer_id).points_expiry_warnings is False
    assert found == {"profile": [], "after saving": []}
    assert box["x"] >= 0 and box["x"] + box["width"] <= width
    card_width, card_height = png_size(shot)
    assert 0 < card_width <= width and card_height > 0


@pytest.mark.parametrize("width", WIDTHS)
def test_the_program_page_shows_the_liability_table(chromium, server, expiring_organization, width, tmp_path):
    email = f"expiry-{uuid.uuid4().hex[:8]}@example.com"
    now = timezone.now()
    with tenant_context(expiring_organization):
        staff_user_create(email=email, password="portal-password-1")
        program = Program.objects.get(kind="point")
        lot(member(), 40, now + timedelta(days=70))
    context = chromium.new_context(viewport={"width": width, "height": 900}, bypass_csp=True)
    page = context.new_page()
    try:
        page.goto(server.url(HOST, "/admin/login/"))
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill("portal-password-1")
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(server.url(HOST, "/admin/"))
        page.goto(server.url(HOST, f"/admin/programs/program/{program.pk}/change/"))
        expect(page.get_by_role("heading", name="Points that will expire")).to_be_visible()
        expect(page.locator("table.expiry-liability-table")).to_be_visible()
        found = problems(page)
        page.locator("#expiry-liability").screenshot(path=str(tmp_path / f"liability-{width}.png"))
        # Points never expire: the months and the warning days hide (kind_fields.js).
        page.select_option("[name=points_expiry]", "never")
        months_hidden = page.locator("[name=points_expiry_months]").is_hidden()
        warning_hidden = page.locator("[name=expiry_warning_days]").is_hidden()
        page.select_option("[name=points_expiry]", "inactivity")
        months_shown = page.locator("[name=points_expiry_months]").is_visible()
    finally:
        context.close()

    assert found == []
    assert (months_hidden, warning_hidden, months_shown) == (True, True, True)
