"""The dashboard in Chromium under the Content-Security-Policy: Chart.js, served as a
static file, draws the daily chart from the page's JSON, with no policy violation."""

import shutil
import uuid

import pytest
from django_tenants.utils import tenant_context
from playwright.sync_api import expect, sync_playwright

from loyalty_platform.accounts.services import staff_user_create
from tenants.models import Organization
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.browser.test_content_security_policy import RECORD_VIOLATIONS, staff_login
from tests.processes import live_server

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("committed_db")]


# Module scope: Playwright keeps an event loop in this thread while it is open, so it is
# closed before the next module's tests run.
@pytest.fixture(scope="module")
def browser_and_server(django_db_setup, django_db_blocker):
    if not shutil.which(CHROMIUM):
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    with (
        django_db_blocker.unblock(),
        live_server() as server,
        sync_playwright() as playwright,
    ):
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser, server
        browser.close()


def test_the_chart_draws_from_the_pages_figures_under_the_policy(browser_and_server):
    browser, server = browser_and_server
    organization = Organization.objects.get(slug="test-a")
    email = f"dash-{uuid.uuid4().hex[:8]}@example.com"
    with tenant_context(organization):
        # A superuser until the roles give owners accounts.view_dashboard.
        staff_user_create(email=email, password="browser-password-1")
    context = browser.new_context()
    page = context.new_page()
    violations: list[str] = []

    def record(text: str) -> None:
        violations.append(text)

    def on_console(message) -> None:
        if "Content Security Policy" in message.text:
            violations.append(message.text)

    page.expose_function("cspViolation", record)
    page.add_init_script(RECORD_VIOLATIONS)
    page.on("console", on_console)

    staff_login(page, server.url("test-a.localhost", "/admin/login/"), email, "browser-password-1")
    page.wait_for_url(server.url("test-a.localhost", "/admin/"))
    page.goto(server.url("test-a.localhost", "/admin/?period=7"))

    expect(page.get_by_role("heading", name="Points issued and redeemed per day")).to_be_visible()
    page.wait_for_function("window.Chart && Chart.getChart(document.getElementById('dashboard-chart'))")
    labels = page.evaluate("Chart.getChart(document.getElementById('dashboard-chart')).data.labels.length")
    assert labels == 7
    # The text alternative: the same seven days as table rows.
    expect(page.locator(".dashboard-daily tbody tr")).to_have_count(7)
    assert violations == []
    context.close()
