"""Campaigns from end to end, in headless Chromium against the running server and a real Celery
worker: staff build a segment and see its size, launch a weekend double-points campaign and a
win-back voucher campaign; a till's earn during the weekend shows the boost; the lapsed
customer gets the email (captured as a file under var/mail/) and sees the voucher in the
profile.

The weekend is the test's own: the campaign runs on today's and tomorrow's weekdays, so the
earn falls inside it whatever day the suite runs (test_schedule.py pins Saturday and Sunday)."""

import email
import shutil
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context
from playwright.sync_api import expect

from loyalty_platform.accounts.services import staff_user_create
from loyalty_platform.campaigns.models import Campaign, CampaignBoost, CampaignMessage
from loyalty_platform.customers.login import login_link_create
from loyalty_platform.customers.models import Customer
from loyalty_platform.embedded import BASE_DIR
from loyalty_platform.programs.models import LedgerEntry
from loyalty_platform.shops.models import Shop
from loyalty_platform.vouchers.models import Promotion, Voucher
from loyalty_platform.vouchers.services import vouchers_generate
from tests.mail_files import emails_to
from tests.pos_fixtures import committed_organization, create_customer
from tests.processes import celery_worker

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("committed_db")]
SLUG = "campaigns-e2e"
HOST = f"{SLUG}.localhost"
PASSWORD = "portal-password-1"
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


@pytest.fixture
def mail_dir():
    path = Path(BASE_DIR) / "var" / "mail" / f"test-campaigns-{uuid.uuid4().hex[:8]}"
    path.mkdir(parents=True)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _wait_for(check, page, timeout_ms: int = 60_000):
    """Poll the database (the worker commits in its own process) until `check()` holds."""
    for _ in range(timeout_ms // 250):
        if check():
            return
        page.wait_for_timeout(250)
    raise AssertionError("the worker did not get there in time")


def _text_of(message: email.message.EmailMessage) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def test_staff_launch_a_weekend_boost_and_a_win_back_voucher_that_reaches_the_lapsed_customer(
    chromium, server, mail_dir
):
    organization, _ = committed_organization(SLUG, "Campaign Café")
    staff_email = f"owner-{uuid.uuid4().hex[:8]}@example.com"
    lapsed = create_customer(organization, email=f"lapsed-{uuid.uuid4().hex[:6]}@example.com")
    regular = create_customer(organization, email=f"regular-{uuid.uuid4().hex[:6]}@example.com")
    with tenant_context(organization):
        staff_user_create(email=staff_email, password=PASSWORD)
        Shop.objects.get_or_create(name="Harbour")
        # Enrolled 70 days ago and never seen since; both agreed to marketing emails.
        Customer.objects.filter(pk=lapsed.pk).update(created_at=timezone.now() - timedelta(days=70))
        Customer.objects.filter(pk__in=[lapsed.pk, regular.pk]).update(consent_marketing_at=timezone.now())
        promotion = Promotion.objects.create(title="A coffee on us")
        vouchers_generate(promotion=promotion, count=3, pool="win-back")
    today = timezone.now().date()  # the organization's time zone is UTC
    weekend = {today.weekday(), (today + timedelta(days=1)).weekday()}

    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(server.url(HOST, "/admin/login/"))
    page.get_by_label("Email").fill(staff_email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(server.url(HOST, "/admin/"))

    # A segment of lapsed customers who agreed to emails: its size shows before anything is sent.
    page.goto(server.url(HOST, "/admin/campaigns/segment/add/"))
    page.locator("#id_name").fill("We miss you")
    page.locator("#id_match").select_option("all")
    add_rule = page.locator("#rules-group a.add-row").first
    add_rule.click()
    add_rule.click()
    page.locator("#id_rules-0-kind").select_option("last_visit")
    page.locator("#id_rules-0-comparison").select_option("gte")
    page.locator("#id_rules-0-days").fill("60")
    page.locator("#id_rules-1-kind").select_option("marketing_consent")
    page.locator("[name=_continue]").first.click()
    page.wait_for_url("**/change/**")
    expect(page.locator("#segment-size")).to_have_attribute("data-size", "1")
    expect(page.locator(".segment-sample").get_by_text(lapsed.email)).to_have_count(1)
    expect(page.locator(".segment-sample").get_by_text(regular.email)).to_have_count(0)

    # The weekend double points, for everyone.
    page.goto(server.url(HOST, "/admin/campaigns/campaign/add/"))
    page.fill("[name=name]", "Double weekend")
    page.fill("[name=starts_at_0]", today.isoformat())
    page.fill("[name=starts_at_1]", "00:00:00")
    for weekday in weekend:
        page.check(f"input[name=weekdays][value='{weekday}']")
    page.select_option("[name=actions-0-kind]", "points_multiplier")
    page.fill("[name=actions-0-multiplier]", "2")
    page.click("[name=_continue]")
    page.click("[data-step=launch]")
    expect(page.locator("[data-campaign-status=running]")).to_have_count(1)

    # The win-back campaign: a voucher from the pool and an email naming it, to the segment.
    page.goto(server.url(HOST, "/admin/campaigns/campaign/add/"))
    page.fill("[name=name]", "Win-back coffee")
    page.fill("[name=starts_at_0]", today.isoformat())
    page.fill("[name=starts_at_1]", "00:00:00")
    page.select_option("[name=segment]", label="We miss you")
    page.select_option("[name=actions-0-kind]", "grant_voucher")
    page.select_option("[name=actions-0-promotion]", label="A coffee on us")
    page.locator("#actions-group a.add-row").first.click()
    page.select_option("[name=actions-1-kind]", "message")
    page.fill("[name=actions-1-subject]", "We kept a coffee for you")
    page.fill("[name=actions-1-body]", "Hello {name}, show {voucher_code} at the counter.")
    page.click("[name=_continue]")

    with celery_worker(TEST_EMAIL_FILE_PATH=str(mail_dir)):
        page.click("[data-step=launch]")
        expect(page.locator("[data-campaign-status=running]")).to_have_count(1)
        with tenant_context(organization):
            win_back = Campaign.objects.get(name="Win-back coffee")

        def emailed() -> bool:
            with tenant_context(organization):
                return CampaignMessage.objects.filter(run__campaign=win_back, status="sent").exists()

        _wait_for(emailed, page)

    with tenant_context(organization):
        (voucher,) = Voucher.objects.filter(promotion=promotion, customer__isnull=False)
        assert voucher.customer_id == lapsed.pk
        assert list(CampaignMessage.objects.values_list("customer_id", "status")) == [(lapsed.pk, "sent")]
    (message,) = emails_to(mail_dir, lapsed.email)
    assert message["Subject"] == "We kept a coffee for you"
    assert f"show {voucher.code} at the counter" in _text_of(message)
    assert "/unsubscribe/" in message["List-Unsubscribe"]
    assert emails_to(mail_dir, regular.email) == []

    page.reload()
    expect(page.locator("[data-figure=vouchers] strong")).to_have_text("1 / 0")
    expect(page.locator("[data-figure=messages-sent] strong")).to_have_text("1")

    # A sale at the till during the weekend: 12.00 earns 12 points and the campaign 12 more.
    page.goto(server.url(HOST, "/admin/till/"))
    expect(page.get_by_role("status")).to_have_text("The till is open.")
    page.get_by_label("Customer code").fill(str(regular.customer_code))
    page.get_by_role("button", name="Find", exact=True).click()
    expect(page.locator("#customer-code")).to_have_text(str(regular.customer_code))
    page.get_by_label("Amount spent").fill("12")
    page.get_by_role("button", name="Earn", exact=True).click()
    expect(page.get_by_role("status")).to_have_text("Points added. Double weekend: +12 points.")
    expect(page.locator("#balance-points")).to_have_text("24")
    with tenant_context(organization):
        (entry,) = LedgerEntry.objects.filter(card__customer=regular, cause="earn")
        assert entry.delta == 24
        (boost,) = CampaignBoost.objects.filter(customer=regular)
        assert (boost.campaign.name, boost.points, boost.ledger_entry_id) == ("Double weekend", 12, entry.pk)
    context.close()

    # The lapsed customer opens the profile from a sign-in link and finds the voucher there.
    with tenant_context(organization):
        url = login_link_create(customer=Customer.objects.get(pk=lapsed.pk))
    phone_context = chromium.new_context(viewport={"width": 390, "height": 844})
    phone = phone_context.new_page()
    phone.goto(server.url(HOST, "/" + url.split("/", 3)[3]))
    vouchers = phone.get_by_role("region", name="Vouchers")
    expect(vouchers.get_by_role("heading", name="A coffee on us")).to_be_visible()
    expect(vouchers.locator(".voucher-code")).to_have_text(voucher.code)
    phone_context.close()
