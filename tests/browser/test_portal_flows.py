"""What an owner does in the portal, in Chromium against the running server: reads the
dashboard (its figures are the ledgers'), imports customers from a CSV with good and bad rows,
blocks a customer, after which the POS API refuses earn, redeem and coupon redeem, and invites
a cashier, who gets the till and 403 for settings and exports."""

import hashlib
import uuid

import pytest
import requests
from django.db.models import Sum
from django_tenants.utils import tenant_context
from playwright.sync_api import expect

from loyalty_platform.accounts.models import StaffInvitation
from loyalty_platform.accounts.services import staff_user_create
from loyalty_platform.coupons.models import Coupon
from loyalty_platform.customers.models import Customer
from loyalty_platform.programs.models import LedgerEntry
from tenants.services import organization_create
from tests.pos_fixtures import create_customer, create_programs, issue_key

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("committed_db")]
PASSWORD = "owner-password-1"


@pytest.fixture(scope="module")
def shop_owner(django_db_setup, django_db_blocker):
    """An organization of its own (its dashboard counts only this module's rows), its owner
    and a POS key."""
    with django_db_blocker.unblock():
        slug = f"flows-{uuid.uuid4().hex[:6]}"
        organization = organization_create(slug=slug, name="Flows Café")
        create_programs(organization)
        with tenant_context(organization):
            staff_user_create(email="owner@flows.example", password=PASSWORD)
        return organization, issue_key(organization)


def signed_in(page, server, organization):
    host = f"{organization.slug}.localhost"
    page.goto(server.url(host, "/admin/login/"))
    page.get_by_label("Email").fill("owner@flows.example")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(server.url(host, "/admin/"))
    return host


def card_figure(page, title: str) -> str:
    return (
        page.locator(".dashboard-card", has=page.locator("dt", has_text=title))
        .locator("dd")
        .first.inner_text()
    )


def test_the_owners_dashboard_shows_what_the_ledgers_hold(page, server, shop_owner):
    organization, _key = shop_owner
    for points in (250, 120):
        create_customer(organization, points=points)
    with tenant_context(organization):
        issued = LedgerEntry.objects.filter(card__program__kind="point", delta__gt=0).aggregate(Sum("delta"))
        open_points = issued["delta__sum"]
        members = Customer.objects.exclude(status=Customer.Status.DELETED).count()

    signed_in(page, server, organization)

    assert card_figure(page, "Members").strip() == str(members)
    assert card_figure(page, "Points issued").strip() == str(open_points)
    # 100 points are worth 1.00 EUR in the test programs.
    assert card_figure(page, "Points (").strip() == f"{open_points / 100:.2f} EUR"


def test_an_owner_imports_customers_from_a_csv_with_good_and_bad_rows(page, server, shop_owner, tmp_path):
    organization, _key = shop_owner
    csv_file = tmp_path / "customers.csv"
    csv_file.write_text(
        "email,name,phone\n"
        "ada@flows.example,Ada,+31612345678\n"
        "not-an-email,Bob,\n"
        "cy@flows.example,Cy,\n"
        "ada@flows.example,Ada again,\n"
    )
    host = signed_in(page, server, organization)

    page.goto(server.url(host, "/admin/customers/customer/"))
    page.get_by_role("link", name="Import CSV").click()
    page.get_by_label("CSV file").set_input_files(str(csv_file))
    page.get_by_label("These customers accepted").check()
    page.get_by_role("button", name="Preview").click()

    expect(page.locator("tr.import-create")).to_have_count(2)
    assert sorted(page.locator("tr.import-error").evaluate_all("rows => rows.map(r => r.dataset.error)")) == [
        "duplicate_email_in_file",
        "invalid_email",
    ]
    with tenant_context(organization):
        assert not Customer.objects.filter(email__endswith="@flows.example").exists()

    page.get_by_role("button", name="Import").click()

    with tenant_context(organization):
        imported = sorted(
            Customer.objects.filter(email__endswith="@flows.example").values_list("email", "name")
        )
    assert imported == [("ada@flows.example", "Ada"), ("cy@flows.example", "Cy")]

    # The same file again: nothing new to create.
    page.goto(server.url(host, "/admin/customers/customer/import/"))
    page.get_by_label("CSV file").set_input_files(str(csv_file))
    page.get_by_label("These customers accepted").check()
    page.get_by_role("button", name="Preview").click()
    expect(page.locator("tr.import-create")).to_have_count(0)


def test_a_customer_blocked_in_the_portal_is_refused_at_the_pos(page, server, shop_owner):
    organization, key = shop_owner
    customer = create_customer(organization, points=500, stamps=9)
    host = f"{organization.slug}.localhost"
    # The loopback address with the organization's Host: Python resolves no *.localhost.
    api = server.url("127.0.0.1", "/webhook")
    headers = {"X-Api-Key": key, "Host": host}

    def post(path: str, body: dict):
        return requests.post(f"{api}{path}", json=body, headers=headers, timeout=10)

    code = customer.customer_code
    # The tenth stamp, before the block, fills the card: a coupon to try afterwards.
    filled = post("/pos", {"customer_code": code, "amount": 1, "card_type": "stamp", "external_id": "fill"})
    coupon = filled.json()["data"]["coupon"]
    with tenant_context(organization):
        entries_before = LedgerEntry.objects.filter(card__customer=customer).count()

    signed_in(page, server, organization)
    page.goto(server.url(host, f"/admin/customers/customer/{customer.pk}/change/"))
    page.locator(f"a[href='/admin/customers/customer/{customer.pk}/block/']").click()
    page.get_by_label("Reason").fill("Card shared with strangers")
    page.get_by_role("button", name="Block").click()
    page.wait_for_url(server.url(host, f"/admin/customers/customer/{customer.pk}/change/"))

    answers = {
        "earn": post(
            "/pos", {"customer_code": code, "amount": 5, "card_type": "point", "external_id": "e-1"}
        ),
        "redeem": post(
            "/redeem", {"customer_code": code, "value": 100, "card_type": "point", "external_id": "r-1"}
        ),
        "coupon": post("/coupons/redeem", {"token": coupon["qr_token"], "external_id": "c-1"}),
    }

    assert {name: (answer.status_code, answer.json()) for name, answer in answers.items()} == {
        name: (422, {"error": "customer_blocked"}) for name in answers
    }
    with tenant_context(organization):
        customer.refresh_from_db()
        assert customer.status == Customer.Status.BLOCKED
        assert LedgerEntry.objects.filter(card__customer=customer).count() == entries_before
        assert not Coupon.objects.filter(customer=customer, redeemed_at__isnull=False).exists()


def test_an_invited_cashier_gets_the_till_and_403_for_settings_and_exports(
    chromium, page, server, shop_owner
):
    organization, _key = shop_owner
    host = signed_in(page, server, organization)
    email = f"cashier-{uuid.uuid4().hex[:6]}@flows.example"

    page.goto(server.url(host, "/admin/accounts/user/"))
    page.get_by_role("link", name="Invite staff").click()
    page.get_by_label("Email").fill(email)
    page.get_by_label("Role").select_option("cashier")
    page.get_by_role("button", name="Send invitation").click()
    expect(page.get_by_text(email).first).to_be_visible()

    # The link went out by email from the server's process; the test stands in for the inbox
    # by giving the invitation a token it knows (only its hash is stored).
    with tenant_context(organization):
        invitation = StaffInvitation.objects.get(user__email=email, accepted_at__isnull=True)
        invitation.token_hash = hashlib.sha256(b"token-from-the-email").hexdigest()
        invitation.save(update_fields=["token_hash"])

    cashier = chromium.new_context().new_page()
    opened = cashier.goto(server.url(host, "/admin/accept-invite/token-from-the-email/"))
    assert opened.status == 200, cashier.locator("body").inner_text()[:300]
    cashier.locator("input[name=new_password1]").fill("cashier-password-1")
    cashier.locator("input[name=new_password2]").fill("cashier-password-1")
    cashier.get_by_role("button", name="Set password and sign in").click()

    cashier.wait_for_url(server.url(host, "/admin/till/"))
    sidebar = cashier.locator("nav").first
    for hidden in ("Organization", "API keys", "Staff", "Audit log"):
        expect(sidebar.get_by_role("link", name=hidden)).to_have_count(0)
    forbidden = [
        "/admin/tenants/organization/",
        "/admin/tenants/apikey/",
        "/admin/accounts/user/",
        "/admin/customers/customer/export.csv",
        "/admin/customers/customer/import/",
        "/admin/audit/auditlogentry/",
        "/admin/programs/program/add/",
    ]
    assert {path: cashier.goto(server.url(host, path)).status for path in forbidden} == dict.fromkeys(
        forbidden, 403
    )
    cashier.context.close()
