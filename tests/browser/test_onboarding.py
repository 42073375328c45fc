"""A new organization's owner follows the dashboard's getting-started checklist in Chromium
against the running server: brand colour, a stamp program (its card preview follows the
typing), a reward, a cashier invited, the browser till opened and a test sale run there, the
QR poster downloaded. After each, the dashboard shows that step ticked; at the end the
checklist is gone. The dashboard with the checklist, the share page and the program form
with its preview pass axe-core and fit 390 and 1280 px."""

import uuid
from urllib.parse import urlsplit

import pytest
from django_tenants.utils import tenant_context
from playwright.sync_api import expect

from loyalty_platform.accounts.services import staff_user_create
from loyalty_platform.audit.models import AuditLogEntry
from loyalty_platform.onboarding.models import OnboardingState
from loyalty_platform.programs.models import LedgerEntry
from loyalty_platform.shops.services import shop_create
from tenants.models import ApiKey
from tenants.services import organization_create
from tests.browser.accessibility import axe_violations, horizontal_overflow
from tests.pos_fixtures import create_customer

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("committed_db")]
PASSWORD = "owner-password-1"
EMAIL = "owner@onboarding.example"
WIDTHS = (390, 1280)


@pytest.fixture(scope="module")
def new_organization(django_db_setup, django_db_blocker):
    """A fresh organization as sign-up leaves it: its owner, one shop, nothing else."""
    with django_db_blocker.unblock():
        organization = organization_create(slug=f"onboarding-{uuid.uuid4().hex[:6]}", name="Onboarding Café")
        with tenant_context(organization):
            staff_user_create(email=EMAIL, password=PASSWORD)
            shop_create(name="Counter")
        return organization


def sign_in(page, server, host):
    page.goto(server.url(host, "/admin/login/"))
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(server.url(host, "/admin/"))


def dashboard(page, server, host, done: int):
    page.goto(server.url(host, "/admin/"))
    expect(page.locator("#onboarding-progress")).to_have_text(f"{done} of 7 done")


def ticked(page) -> list[str]:
    return page.locator(".onboarding-step[data-done=true]").evaluate_all(
        "steps => steps.map(s => s.dataset.step)"
    )


def step_link(page, step: str, name: str):
    return page.locator(f".onboarding-step[data-step={step}]").get_by_role("link", name=name)


def screens(chromium, server, host) -> dict:
    """A signed-in page at each width, for axe-core and the overflow check."""
    pages = {}
    for width in WIDTHS:
        context = chromium.new_context(viewport={"width": width, "height": 900}, bypass_csp=True)
        pages[width] = context.new_page()
        sign_in(pages[width], server, host)
    return pages


def screen_problems(pages: dict, server, host, path: str) -> dict[int, list[str]]:
    """axe-core's findings and sideways scrolling of `path`, at each width."""
    findings = {}
    for width, page in pages.items():
        response = page.goto(server.url(host, path))
        assert response.status == 200, path
        problems = axe_violations(page)
        if overflow := horizontal_overflow(page):
            problems.append(f"{overflow}px wider than the screen")
        if problems:
            findings[width] = problems
    return findings


def test_an_owner_follows_the_checklist_to_a_first_test_sale(chromium, page, server, new_organization):
    organization = new_organization
    host = f"{organization.slug}.localhost"
    errors = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    sign_in(page, server, host)
    widths = screens(chromium, server, host)
    expect(page.locator("#onboarding-progress")).to_have_text("0 of 7 done")
    assert ticked(page) == []
    assert screen_problems(widths, server, host, "/admin/") == {}

    # 1. The brand colour.
    step_link(page, "brand", "Pick a colour").click()
    page.locator("#id_brand_color").fill("#aa3355")
    page.get_by_role("button", name="Save", exact=True).click()
    dashboard(page, server, host, 1)
    assert ticked(page) == ["brand"]

    # 2. A stamp program, its preview following the typing.
    step_link(page, "program", "Create a program").click()
    page.get_by_role("link", name="Stamps", exact=True).click()
    preview = page.locator("#card-preview")
    expect(preview.locator("#card-preview-top")).to_have_text("Onboarding Café")
    assert preview.evaluate(
        "box => getComputedStyle(box.querySelector('.card-preview-top')).backgroundColor"
    ) == ("rgb(170, 51, 85)")
    page.locator("#id_name").fill("Coffee card")
    expect(page.locator("#card-preview-name")).to_have_text("Coffee card")
    page.locator("#id_stamps_per_card").fill("8")
    expect(preview.locator("#card-preview-stamps li")).to_have_count(8)
    expect(preview.locator("#card-preview-stamps li.full")).to_have_count(3)
    page.locator("#id_reward_name").fill("Free croissant")
    expect(page.locator("#card-preview-text")).to_have_text("3 of 8 stamps; a full card gives Free croissant")
    page.locator("#id_stamps_per_card").fill("12")
    expect(preview.locator("#card-preview-stamps li")).to_have_count(12)
    expect(page.locator("#card-preview-text")).to_have_text(
        "3 of 12 stamps; a full card gives Free croissant"
    )
    form = urlsplit(page.url)
    assert screen_problems(widths, server, host, f"{form.path}?{form.query}") == {}
    page.get_by_role("button", name="Save", exact=True).click()
    dashboard(page, server, host, 2)
    assert ticked(page) == ["brand", "program"]
    # A point program's preview (not saved): the balance's worth and the earn rate.
    page.goto(server.url(host, "/admin/programs/program/add/?kind=point"))
    expect(page.locator("#card-preview-text")).to_have_text("120 points, worth 1.20 EUR")
    page.locator("#id_redeem_points_per_unit").fill("50")
    expect(page.locator("#card-preview-text")).to_have_text("120 points, worth 2.40 EUR")
    page.locator("#id_earn_points_per_unit").fill("2")
    expect(page.locator("#card-preview-earn")).to_have_text("Earn 2 points per 1 EUR spent.")
    expect(page.locator("#card-preview-name")).to_have_text("Your program")
    dashboard(page, server, host, 2)

    # 3. A reward.
    step_link(page, "reward", "Add a reward").click()
    page.locator("#id_name").fill("Croissant")
    page.locator("#id_required_credits").fill("80")
    page.get_by_role("button", name="Save", exact=True).click()
    dashboard(page, server, host, 3)
    assert ticked(page) == ["brand", "program", "reward"]

    # 4. A cashier invited.
    step_link(page, "staff", "Invite staff").click()
    page.get_by_label("Email").fill("cashier@onboarding.example")
    page.get_by_label("Role").select_option("cashier")
    page.get_by_role("button", name="Send invitation").click()
    expect(page.get_by_text("cashier@onboarding.example").first).to_be_visible()
    dashboard(page, server, host, 4)
    assert ticked(page) == ["brand", "program", "reward", "staff"]

    # 5 and 6. The browser till opened (its key), then a test sale there.
    customer = create_customer(organization)
    step_link(page, "key", "Open the till").click()
    expect(page.locator("#till[data-state=open]")).to_have_count(1)
    dashboard(page, server, host, 5)
    assert ticked(page) == ["brand", "program", "reward", "staff", "key"]
    step_link(page, "sale", "Open the till").click()
    expect(page.locator("#till[data-state=open]")).to_have_count(1)
    page.get_by_label("Customer code").fill(str(customer.customer_code))
    page.get_by_role("button", name="Find", exact=True).click()
    expect(page.locator("#till[data-wallet=shown]")).to_have_count(1)
    page.get_by_label("Stamps", exact=True).fill("2")
    page.get_by_role("button", name="Add stamps", exact=True).click()
    expect(page.get_by_role("status")).to_have_text("Stamps added.")
    expect(page.locator("#balance-stamps")).to_have_text("2")
    dashboard(page, server, host, 6)
    assert ticked(page) == ["brand", "program", "reward", "staff", "key", "sale"]

    # 7. The QR poster for the counter.
    step_link(page, "share", "Share your program").click()
    # The profile's sign-up page on the organization's host, as the server states it.
    link = f"http://{urlsplit(page.url).netloc}/me/signup"
    expect(page.get_by_role("textbox", name="Join link")).to_have_value(link)
    with page.expect_download() as download:
        page.get_by_role("button", name="Download the QR poster (PDF)").click()
    assert download.value.suggested_filename == f"join-poster-{organization.slug}.pdf"
    with open(download.value.path(), "rb") as poster:
        assert poster.read(4) == b"%PDF"
    page.goto(server.url(host, "/admin/"))
    expect(page.locator("#onboarding")).to_have_count(0)
    assert screen_problems(widths, server, host, "/admin/share/") == {}

    # The copy button puts the link on the clipboard and records the share.
    desktop = widths[1280]
    desktop.context.grant_permissions(
        ["clipboard-read", "clipboard-write"], origin=f"http://{urlsplit(desktop.url).netloc}"
    )
    desktop.get_by_role("button", name="Copy link").click()
    expect(desktop.get_by_role("status")).to_have_text(
        "Copied. Paste the link wherever your customers will see it."
    )
    assert desktop.evaluate("navigator.clipboard.readText()") == link

    with tenant_context(organization):
        assert LedgerEntry.objects.filter(cause="earn", delta=2).count() == 1
        assert OnboardingState.objects.get().join_link_shared_at is not None
        shares = AuditLogEntry.objects.filter(action="onboarding.join_link_share").order_by("pk")
        assert [entry.details["how"] for entry in shares] == ["poster", "link"]
    # No POS key was issued: the key step ticked on the till's own key (one per opening).
    keys = ApiKey.objects.filter(organization=organization)
    assert [key.is_till_key for key in keys] == [True, True]
    assert errors == []
    for screen in widths.values():
        screen.context.close()
