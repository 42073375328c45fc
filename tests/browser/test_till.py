"""The browser till in headless Chromium against the running server: a cashier opens it, finds
a customer and sells, with the PIN prompt of the Balanced preset, through the real POS API."""

import json
import uuid
from decimal import Decimal
from pathlib import Path

import pytest
import requests
from django.db.models import Sum
from django_tenants.utils import tenant_context
from playwright.sync_api import expect

from loyalty_platform.customers.login import login_link_create
from loyalty_platform.customers.models import Customer
from loyalty_platform.customers.services import customer_enroll
from loyalty_platform.programs.models import Card, LedgerEntry
from loyalty_platform.shops.models import Shop
from loyalty_platform.stored_value.models import Giftcard, MoneyEntry, PrepaidAccount
from loyalty_platform.stored_value.services import giftcard_batch_generate
from loyalty_platform.verification.services import customer_qr_payload, open_pins_for_customer
from loyalty_platform.vouchers.models import Promotion, Voucher
from loyalty_platform.vouchers.services import vouchers_generate
from tenants.models import ApiKey, Organization
from tenants.services import organization_create
from tests.pos_fixtures import create_customer, create_programs, issue_key
from tests.till.conftest import PASSWORD, cashier_create

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("committed_db")]
SLUG = "test-till"
AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"


@pytest.fixture(scope="module")
def till_organization(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        organization = Organization.objects.filter(slug=SLUG).first()
        if organization is None:
            organization = organization_create(slug=SLUG, name="Till Café", verification_preset="balanced")
            create_programs(organization)
            with tenant_context(organization):
                Shop.objects.create(name="Harbour")
        return organization


@pytest.fixture
def cashier(till_organization):
    return cashier_create(till_organization, f"cashier-{uuid.uuid4().hex[:8]}@example.com")


def open_till(page, server, cashier):
    page.on("console", lambda message: page.console.append(message.text) if message.type == "error" else None)
    page.console = []
    page.goto(server.url(f"{SLUG}.localhost", "/admin/login/?next=/admin/till/"))
    page.get_by_label("Email").fill(cashier.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(server.url(f"{SLUG}.localhost", "/admin/till/"))
    # One shop: the till opens at it without asking.
    expect(page.locator("#till[data-state=open]")).to_have_count(1)
    expect(page.get_by_role("status")).to_have_text("The till is open.")


def find_by_code(page, customer):
    page.get_by_label("Customer code").fill(str(customer.customer_code))
    page.get_by_role("button", name="Find", exact=True).click()
    expect(page.locator("#till[data-wallet=shown]")).to_have_count(1)
    expect(page.locator("#customer-code")).to_have_text(str(customer.customer_code))


def customers_phone(phone, server, organization) -> Customer:
    """A customer signed in to their profile on their phone."""
    with tenant_context(organization):
        customer, _ = customer_enroll(
            email=f"{uuid.uuid4().hex}@example.com", consent_terms=True, consent_privacy=True
        )
        url = login_link_create(customer=customer)
    phone.goto(server.url(f"{SLUG}.localhost", "/" + url.split("/", 3)[3]))
    expect(phone.get_by_role("heading", name="Your card", exact=True)).to_be_visible()
    return customer


def point_ledger(organization, customer) -> tuple[int, list[LedgerEntry]]:
    with tenant_context(organization):
        card = Card.objects.get(customer=customer, program__kind="point")
        entries = list(LedgerEntry.objects.filter(card=card).exclude(cause="adjust").order_by("pk"))
        total = LedgerEntry.objects.filter(card=card).aggregate(total=Sum("delta"))["total"] or 0
        assert card.balance == total
        return total, entries


def the_pin(organization, customer) -> str:
    with tenant_context(organization):
        return open_pins_for_customer(customer=customer)[0]["pin"]


def test_a_full_till_sale_with_the_pin_prompt_under_balanced(page, server, till_organization, cashier):
    customer = create_customer(till_organization)
    open_till(page, server, cashier)
    find_by_code(page, customer)
    expect(page.locator("#balance-points")).to_have_text("0")

    page.get_by_label("Amount spent").fill("250")
    page.get_by_role("button", name="Earn", exact=True).click()
    expect(page.get_by_role("status")).to_have_text("Points added.")
    expect(page.locator("#balance-points")).to_have_text("250")

    page.get_by_label("Points to redeem").fill("100")
    page.get_by_role("button", name="Redeem points", exact=True).click()
    dialog = page.get_by_role("dialog", name="Customer's PIN")
    expect(dialog).to_be_visible()
    pin = the_pin(till_organization, customer)
    wrong = str((int(pin) + 1) % 10 ** len(pin)).zfill(len(pin))
    dialog.get_by_label("PIN", exact=True).fill(wrong)
    dialog.get_by_role("button", name="Confirm").click()
    expect(page.locator("#pin-error")).to_have_text("Wrong PIN. 2 attempt(s) left.")
    assert point_ledger(till_organization, customer)[0] == 250  # the wrong PIN took nothing
    dialog.get_by_label("PIN", exact=True).fill(pin)
    dialog.get_by_role("button", name="Confirm").click()

    expect(page.get_by_role("status")).to_have_text("Points redeemed.")
    expect(dialog).to_be_hidden()
    expect(page.locator("#balance-points")).to_have_text("150")
    total, entries = point_ledger(till_organization, customer)
    assert total == 150
    assert [entry.delta for entry in entries] == [250, -100]
    till_key = ApiKey.objects.get(organization=till_organization, staff_user_id=cashier.pk)
    assert till_key.revoked_at is None
    assert {entry.api_key_lookup_id for entry in entries} == {till_key.lookup_id}
    assert all(entry.external_id.startswith("till-") for entry in entries)


def test_a_lost_answer_and_a_double_click_never_post_twice(page, server, till_organization, cashier):
    customer = create_customer(till_organization)
    open_till(page, server, cashier)
    find_by_code(page, customer)
    sent = []

    def lose_the_answer(route):
        # The server gets the call and answers; the till never sees the answer.
        request = route.request
        sent.append(json.loads(request.post_data))
        headers = {name: request.headers[name] for name in ("x-api-key", "content-type")}
        answer = requests.post(
            f"http://127.0.0.1:{server.port}/webhook/pos",
            data=request.post_data,
            headers={**headers, "Host": f"{SLUG}.localhost:{server.port}"},
            timeout=10,
        )
        assert answer.status_code == 200
        route.abort()

    page.route("**/webhook/pos", lose_the_answer)
    page.get_by_label("Amount spent").fill("40")
    page.get_by_role("button", name="Earn", exact=True).click()
    expect(page.get_by_role("alert").first).to_contain_text("No answer from the server")
    page.unroute("**/webhook/pos")
    assert point_ledger(till_organization, customer)[0] == 40  # it did run
    with page.expect_request("**/webhook/pos") as retried:
        page.get_by_role("button", name="Retry").click()
    expect(page.get_by_role("status")).to_have_text("Points added.")
    expect(page.locator("#balance-points")).to_have_text("40")
    assert json.loads(retried.value.post_data)["external_id"] == sent[0]["external_id"]

    page.get_by_label("Amount spent").fill("7")
    page.get_by_role("button", name="Earn", exact=True).dblclick()
    expect(page.locator("#balance-points")).to_have_text("47")
    page.wait_for_load_state("networkidle")

    total, entries = point_ledger(till_organization, customer)
    assert total == 47
    assert [entry.delta for entry in entries] == [40, 7]
    assert entries[0].external_id == sent[0]["external_id"] != entries[1].external_id


def test_a_blocked_customer_is_refused_at_the_till(page, server, till_organization, cashier):
    customer = create_customer(till_organization, points=300)
    with tenant_context(till_organization):
        Customer.objects.filter(pk=customer.pk).update(status=Customer.Status.BLOCKED)
    open_till(page, server, cashier)
    find_by_code(page, customer)
    expect(page.get_by_text("Blocked: this customer cannot earn or redeem.")).to_be_visible()

    page.get_by_label("Amount spent").fill("20")
    page.get_by_role("button", name="Earn", exact=True).click()
    expect(page.locator("#till-error-text")).to_have_text("This customer is blocked: nothing was changed.")
    page.get_by_label("Points to redeem").fill("100")
    page.get_by_role("button", name="Redeem points", exact=True).click()
    expect(page.locator("#till-error-text")).to_have_text("This customer is blocked: nothing was changed.")

    expect(page.get_by_role("dialog")).to_be_hidden()  # refused before any PIN
    assert point_ledger(till_organization, customer) == (300, [])
    expect(page.locator("#balance-points")).to_have_text("300")


def test_the_customers_phone_scans_the_tills_code_and_the_till_learns_who_they_are(
    page, chromium, server, till_organization, cashier
):
    open_till(page, server, cashier)
    page.get_by_role("button", name="Show a code for the customer's phone").click()
    expect(page.locator("#till[data-realtime=subscribed]")).to_have_count(1, timeout=15000)
    link = page.locator("#session-qr").get_attribute("data-link")
    assert page.evaluate("document.getElementById('session-qr').naturalWidth") > 0

    phone = chromium.new_context().new_page()
    try:
        customer = customers_phone(phone, server, till_organization)
        phone.goto(link.replace(f"{SLUG}.localhost:8000", f"{SLUG}.localhost:{server.port}"))
        expect(phone.get_by_role("heading", name="You're identified")).to_be_visible()
    finally:
        phone.context.close()

    expect(page.locator("#customer-code")).to_have_text(str(customer.customer_code))
    expect(page.locator("#till[data-wallet=shown]")).to_have_count(1)


def test_the_vendored_qr_reader_reads_a_customers_qr_and_the_camera_explains_itself(
    page, server, till_organization, cashier
):
    with tenant_context(till_organization):
        customer, _ = customer_enroll(
            email=f"{uuid.uuid4().hex}@example.com", consent_terms=True, consent_privacy=True
        )
        payload = customer_qr_payload(organization=till_organization, customer=customer).payload
    open_till(page, server, cashier)
    decoded = page.evaluate(
        """async (src) => {
            const image = new Image();
            image.src = src;
            await image.decode();
            const canvas = document.createElement("canvas");
            canvas.width = image.naturalWidth;
            canvas.height = image.naturalHeight;
            const context = canvas.getContext("2d");
            context.drawImage(image, 0, 0);
            const data = context.getImageData(0, 0, canvas.width, canvas.height);
            return window.jsQR(data.data, data.width, data.height).data;
        }""",
        "/qr.png?size=320&data=" + payload,
    )
    assert decoded == payload

    # Headless Chromium has no camera: the till says so and offers the typed code.
    page.get_by_role("button", name="Scan the customer's QR").click()
    expect(page.locator("#scan-message")).to_contain_text("The camera cannot be used here")


@pytest.mark.parametrize("width", [390, 1280])
def test_the_till_fits_the_screen_and_passes_axe(page, server, till_organization, cashier, width):
    customer = create_customer(till_organization)
    page.set_viewport_size({"width": width, "height": 900})
    open_till(page, server, cashier)
    find_by_code(page, customer)

    assert page.evaluate("document.documentElement.scrollWidth") <= width
    page.evaluate(AXE.read_text())
    # The till's own part of the page. (The whole page also has unfold's header outside any
    # landmark: axe's "region" rule, for the theme to fix.)
    results = page.evaluate("axe.run({include: [['#till']]}, {resultTypes: ['violations']})")
    violations = [(v["id"], [node["target"] for node in v["nodes"]]) for v in results["violations"]]
    assert not [text for text in page.console if "Content Security Policy" in text]
    assert violations == [], json.dumps(
        [(v["id"], v["help"], [n["target"] for n in v["nodes"]]) for v in results["violations"]]
    )


def test_signing_out_ends_the_tills_key(page, server, till_organization, cashier):
    customer = create_customer(till_organization)
    open_till(page, server, cashier)
    find_by_code(page, customer)

    # The portal's own log-out, in the same browser (as from another tab).
    status = page.evaluate(
        """() => fetch("/admin/logout/", {
            method: "POST",
            headers: {"X-CSRFToken": document.querySelector("[name=csrfmiddlewaretoken]").value},
        }).then((response) => response.status)"""
    )
    assert status == 200
    till_key = ApiKey.objects.get(organization=till_organization, staff_user_id=cashier.pk)
    assert till_key.revoked_at is not None
    page.get_by_label("Amount spent").fill("30")
    page.get_by_role("button", name="Earn", exact=True).click()

    expect(page.locator("#till-error-text")).to_have_text(
        "Your staff session has ended. Sign in again to use the till."
    )
    assert point_ledger(till_organization, customer) == (0, [])


def test_coupon_voucher_giftcard_and_prepaid_at_the_till(page, server, till_organization, cashier):
    customer = create_customer(till_organization)
    pos = {"Host": f"{SLUG}.localhost:{server.port}", "X-Api-Key": issue_key(till_organization)}
    base = f"http://127.0.0.1:{server.port}/webhook"
    code = customer.customer_code
    with tenant_context(till_organization):
        card = giftcard_batch_generate(name="till", count=1, currency="EUR").giftcards.get()
        promotion = Promotion.objects.create(title="Croissant offered")
        voucher = vouchers_generate(promotion=promotion, count=1)[0]
    for path, body in (
        (
            "/pos",
            {"customer_code": code, "amount": 10, "card_type": "stamp", "external_id": uuid.uuid4().hex},
        ),
        (f"/customers/{code}/prepaid/transactions", {"amount": "30.00", "external_id": uuid.uuid4().hex}),
        (f"/giftcards/{card.code}/transactions", {"amount": "25.00", "external_id": uuid.uuid4().hex}),
    ):
        assert requests.post(base + path, json=body, headers=pos, timeout=10).status_code == 200
    open_till(page, server, cashier)
    find_by_code(page, customer)
    expect(page.locator("#balance-prepaid")).to_have_text("30.00 EUR")
    dialog = page.get_by_role("dialog", name="Customer's PIN")

    page.get_by_role("button", name="Redeem: Free Coffee").click()
    expect(dialog).to_be_visible()
    dialog.get_by_label("PIN", exact=True).fill(the_pin(till_organization, customer))
    dialog.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("status")).to_have_text("Coupon redeemed.")
    expect(page.locator("#coupon-none")).to_be_visible()

    page.get_by_label("Voucher code").fill(voucher.code)
    page.get_by_role("button", name="Check").click()
    expect(page.get_by_role("status")).to_have_text("Voucher can be used: Croissant offered, 1 use(s) left.")
    page.get_by_role("button", name="Redeem voucher").click()
    expect(page.get_by_role("status")).to_have_text("Voucher redeemed.")

    page.get_by_label("Giftcard code").fill(card.code)
    page.locator("#giftcard-amount").fill("10")
    page.get_by_role("button", name="Pay with giftcard").click()
    expect(page.get_by_role("status")).to_have_text("Paid with the giftcard. Left on the card: 15.00.")

    page.locator("#prepaid-amount").fill("12.50")
    page.get_by_role("button", name="Pay with credit").click()
    expect(dialog).to_be_visible()  # Balanced asks for a PIN to pay with credit
    dialog.get_by_label("PIN", exact=True).fill(the_pin(till_organization, customer))
    dialog.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("status")).to_have_text("Paid with prepaid credit. Left: 17.50.")
    expect(page.locator("#balance-prepaid")).to_have_text("17.50 EUR")

    with tenant_context(till_organization):
        assert customer.coupons.get().status == "redeemed"
        assert Voucher.objects.get(pk=voucher.pk).uses == 1
        assert Giftcard.objects.get(pk=card.pk).balance == Decimal("15.00")
        account = PrepaidAccount.objects.get(customer=customer)
        assert account.balance == Decimal("17.50")
        till_key = ApiKey.objects.get(organization=till_organization, staff_user_id=cashier.pk)
        paid = MoneyEntry.objects.filter(api_key_lookup_id=till_key.lookup_id)
        assert sorted((entry.amount, entry.giftcard_id, entry.prepaid_account_id) for entry in paid) == [
            (Decimal("-12.50"), None, account.pk),
            (Decimal("-10.00"), card.pk, None),
        ]
