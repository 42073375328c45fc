"""Staff build a segment with two rules in the portal and see its size and sample; the segment
pages pass axe-core's WCAG 2.1 AA rules and do not scroll sideways at 390 and 1280 px."""

import uuid

import pytest
from django.db import connection, connections
from django_tenants.utils import tenant_context

from loyalty_platform.accounts.services import staff_user_create
from loyalty_platform.campaigns.models import Segment
from loyalty_platform.customers.models import Customer
from loyalty_platform.programs.models import Card, Program
from tenants.models import Organization
from tests.browser.accessibility import axe_violations, horizontal_overflow
from tests.pos_fixtures import create_customer

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("committed_db")]


@pytest.fixture(scope="module")
def staff_and_customers(django_db_setup, django_db_blocker):
    """A staff member, and two customers with marketing consent and points: one of them with
    500 points (a name no other test uses marks the segment)."""
    with django_db_blocker.unblock():
        organization = Organization.objects.get(slug="test-a")
        email = f"segments-{uuid.uuid4().hex[:8]}@example.com"
        tag = uuid.uuid4().hex[:8]
        with tenant_context(organization):
            staff_user_create(email=email, password="portal-password-1")
            if not Program.objects.filter(kind="point", is_active=True).exists():
                Program.objects.create(kind="point", name="Points")
        rich = create_customer(organization, email=f"rich-{tag}@example.com", points=500)
        poor = create_customer(organization, email=f"poor-{tag}@example.com", points=20)
        with tenant_context(organization):
            Customer.objects.filter(pk__in=[rich.pk, poor.pk]).update(consent_marketing_at=rich.created_at)
        yield organization, email, rich, tag
        with tenant_context(organization):
            Segment.objects.filter(name__startswith=f"Segment {tag}").delete()
        connection.set_schema_to_public()
        connections.close_all()  # the test database is dropped at the end of the run


def _login(chromium, server, email, width):
    context = chromium.new_context(viewport={"width": width, "height": 900}, bypass_csp=True)
    page = context.new_page()
    page.goto(server.url("test-a.localhost", "/admin/login/"))
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill("portal-password-1")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(server.url("test-a.localhost", "/admin/"))
    return context, page


def _problems(page) -> list[str]:
    problems = axe_violations(page)
    if overflow := horizontal_overflow(page):
        problems.append(f"{overflow}px wider than the screen")
    return problems


@pytest.mark.parametrize("width", [390, 1280])
def test_staff_build_a_segment_with_two_rules_and_see_its_size(chromium, server, staff_and_customers, width):
    organization, email, rich, tag = staff_and_customers
    context, page = _login(chromium, server, email, width)
    findings = {}

    page.goto(server.url("test-a.localhost", "/admin/campaigns/segment/add/"))
    if problems := _problems(page):
        findings["add"] = problems
    page.locator("#id_name").fill(f"Segment {tag} {width}")
    page.locator("#id_match").select_option("all")
    add_rule = page.locator("#rules-group a.add-row").first
    add_rule.click()
    add_rule.click()
    page.locator("#id_rules-0-kind").select_option("marketing_consent")
    page.locator("#id_rules-1-kind").select_option("points_balance")
    # Each rule shows the fields its kind uses (added rows too: the formset:added event).
    assert not page.locator("#id_rules-0-days").is_visible()
    assert not page.locator("#id_rules-0-comparison").is_visible()
    assert page.locator("#id_rules-1-amount").is_visible()
    assert not page.locator("#id_rules-1-tier").is_visible()
    page.locator("#id_rules-1-comparison").select_option("gte")
    page.locator("#id_rules-1-amount").fill("100")
    page.locator("[name=_continue]").first.click()
    page.wait_for_url("**/change/**")

    size = page.locator("#segment-size")
    assert size.get_attribute("data-size") is not None
    with tenant_context(organization):
        segment = Segment.objects.get(name=f"Segment {tag} {width}")
        expected = Customer.objects.filter(
            status="active",
            consent_marketing_at__isnull=False,
            pk__in=Card.objects.filter(
                program__kind="point", program__is_active=True, balance__gte=100
            ).values("customer_id"),
        ).count()
        assert segment.rules.count() == 2
    assert int(size.get_attribute("data-size")) == expected >= 1
    assert page.locator(".segment-sample").get_by_text(rich.email).count() == 1
    if problems := _problems(page):
        findings["change"] = problems

    page.goto(server.url("test-a.localhost", f"/admin/campaigns/segment/{segment.pk}/list/import/"))
    if problems := _problems(page):
        findings["list import"] = problems
    page.goto(server.url("test-a.localhost", "/admin/campaigns/segment/"))
    if problems := _problems(page):
        findings["list"] = problems
    context.close()

    assert findings == {}
