"""A developer adds a webhook endpoint in the portal, copies its secret from the one page that
shows it, sends a test event and finds it in the delivery log, on a phone and a desktop; every
page passes axe-core's WCAG 2.1 AA rules and fits the screen. Screenshots go to
/tmp/shots-webhooks/ for a person to look at."""

import uuid
from pathlib import Path

import pytest
from django_tenants.utils import tenant_context

from loyalty_platform.webhooks.models import WebhookDelivery, WebhookEndpoint
from tests.browser.accessibility import axe_violations, horizontal_overflow
from tests.factories import StaffUserFactory
from tests.pos_fixtures import committed_organization

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("committed_db")]
HOST = "webhooks-portal.localhost"
SHOTS = Path("/tmp/shots-webhooks")  # noqa: S108 (screenshots for a person to look at)


def _problems(page) -> list[str]:
    problems = axe_violations(page)
    if overflow := horizontal_overflow(page):
        problems.append(f"{overflow}px wider than the screen")
    return problems


@pytest.fixture
def developer():
    organization, _created = committed_organization("webhooks-portal", "Webhook Café")
    email = f"developer-{uuid.uuid4().hex[:8]}@example.com"
    with tenant_context(organization):
        StaffUserFactory(email=email, role="developer")
    yield organization, email
    with tenant_context(organization):
        WebhookEndpoint.objects.filter(created_by__email=email).delete()


@pytest.mark.parametrize("width", [390, 1280])
def test_add_an_endpoint_see_its_secret_once_and_send_a_test_event(chromium, server, developer, width):
    organization, email = developer
    SHOTS.mkdir(exist_ok=True)
    context = chromium.new_context(
        viewport={"width": width, "height": 900},
        bypass_csp=True,
        permissions=["clipboard-read", "clipboard-write"],
    )
    page = context.new_page()
    page.goto(server.url(HOST, "/admin/login/"))
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Log in").click()
    # A developer lands on the webhook endpoints.
    page.wait_for_url(server.url(HOST, "/admin/webhooks/webhookendpoint/"))
    findings = {"list": _problems(page)}

    def look(name: str) -> None:
        findings[name] = _problems(page)
        page.screenshot(path=str(SHOTS / f"{name}-{width}.png"), full_page=True)

    page.goto(server.url(HOST, "/admin/webhooks/webhookendpoint/add/"))
    look("add")
    url = f"http://127.0.0.1:9/hook-{width}"
    page.fill("[name=url]", url)
    page.fill("[name=description]", "CRM sync")
    page.check("input[name=events][value='points.earned']")
    page.check("input[name=events][value='customer.enrolled']")
    page.click("button[name=_save], input[name=_save]")

    page.wait_for_url("**/secret/")
    look("secret")
    shown = page.locator("[data-secret]").input_value()
    with tenant_context(organization):
        endpoint = WebhookEndpoint.objects.get(url=url, created_by__email=email)
        assert endpoint.event_types == ["customer.enrolled", "points.earned"]
        assert shown == endpoint.secrets.get().secret
    page.get_by_role("button", name="Copy").click()
    page.wait_for_function("document.querySelector('[data-copy-status]').textContent !== ''")
    assert page.locator("[data-copy-status]").inner_text() == "Copied."
    assert page.evaluate("navigator.clipboard.readText()") == shown
    page.reload()
    assert page.locator("[data-secret]").count() == 0
    assert page.locator("[data-secret-gone]").is_visible()
    assert shown not in page.content()

    page.goto(server.url(HOST, f"/admin/webhooks/webhookendpoint/{endpoint.pk}/change/"))
    look("change")
    assert shown[:10] in page.content() and shown not in page.content()
    page.get_by_role("button", name="Send test event").click()

    page.wait_for_url("**/deliveries/*/")
    look("delivery")
    with tenant_context(organization):
        delivery = WebhookDelivery.objects.select_related("event").get(endpoint=endpoint)
        assert (delivery.event.type, delivery.status) == ("webhook.test", "pending")
    assert page.locator("[data-event-id]").inner_text() == delivery.event.public_id

    page.get_by_role("link", name="Delivery log").first.click()
    page.wait_for_url("**/deliveries/")
    look("deliveries")
    row = page.locator(f"tr[data-delivery='{delivery.pk}']")
    assert row.locator("th").inner_text() == "webhook.test"

    page.goto(server.url(HOST, f"/admin/webhooks/webhookendpoint/{endpoint.pk}/verify/"))
    look("verify")
    page.goto(server.url(HOST, f"/admin/webhooks/webhookendpoint/{endpoint.pk}/rotate/"))
    look("rotate")
    page.goto(server.url(HOST, "/admin/webhooks/webhookendpoint/"))
    look("list")
    context.close()

    assert {name: problems for name, problems in findings.items() if problems} == {}
