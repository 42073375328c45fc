"""The customer's phone and the till, in headless Chromium against the running server."""

import json
import queue
import re
import uuid

import pysher
import pytest
import requests
from django.conf import settings
from django_tenants.utils import tenant_context
from playwright.sync_api import expect

from loyalty_platform.customers.login import login_link_create
from loyalty_platform.customers.services import customer_enroll
from loyalty_platform.verification.services import open_pins_for_customer
from tenants.models import Organization
from tenants.services import organization_create
from tests.pos_fixtures import create_programs, issue_key

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("committed_db")]
SLUG = "test-browser"


@pytest.fixture(scope="module")
def balanced_organization(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        organization = Organization.objects.filter(slug=SLUG).first() or organization_create(
            slug=SLUG, name="Browser Café", verification_preset="balanced"
        )
        if not organization.api_keys.exists():
            create_programs(organization)
        return organization, issue_key(organization)


def signed_in_page(page, server, organization):
    with tenant_context(organization):
        customer, _ = customer_enroll(
            email=f"{uuid.uuid4().hex}@example.com", consent_terms=True, consent_privacy=True
        )
        url = login_link_create(customer=customer)
    page.goto(server.url(f"{SLUG}.localhost", "/" + url.split("/", 3)[3]))
    expect(page.get_by_role("heading", name="Your card", exact=True)).to_be_visible()
    return customer


def test_scanning_the_tills_qr_identifies_the_customer_at_the_till(
    page, chromium, server, balanced_organization
):
    organization, key = balanced_organization
    base, host = f"http://127.0.0.1:{server.port}", {"Host": f"{SLUG}.localhost:{server.port}"}
    session = requests.post(
        f"{base}/webhook/qr-card-sessions",
        json={"device_name": "Till 2"},
        headers={**host, "X-Api-Key": key},
        timeout=10,
    ).json()["data"]
    # The till's display shows the session's QR.
    display = chromium.new_page()
    display.goto(
        server.url(f"{SLUG}.localhost", "/qr.png?size=320&data=" + requests.utils.quote(session["qr_code"]))
    )
    assert display.evaluate("document.images[0].naturalWidth") == 320
    events, subscribed = queue.Queue(), queue.Queue()
    till = pysher.Pusher(settings.REALTIME_APP_KEY, custom_host="127.0.0.1", port=server.port, secure=False)

    def on_connect(_data):
        channel = till.subscribe(session["channel"])
        channel.bind("pusher_internal:subscription_succeeded", subscribed.put)
        channel.bind("card_identified", events.put)

    till.connection.bind("pusher:connection_established", on_connect)
    till.connect()
    try:
        subscribed.get(timeout=15)
        customer = signed_in_page(page, server, organization)
        # The phone's camera opens the link the QR encodes.
        page.goto(session["qr_code"].replace(f"{SLUG}.localhost:8000", f"{SLUG}.localhost:{server.port}"))
        expect(page.get_by_role("heading", name="You're identified")).to_be_visible()
        event = json.loads(events.get(timeout=15))
    finally:
        till.disconnect(timeout=5)
        display.close()
    assert event["card_data"]["customer_code"] == customer.customer_code
    assert event["status"] == "authenticated"


def test_the_pin_appears_on_the_customers_phone_when_the_till_asks(page, server, balanced_organization):
    organization, key = balanced_organization
    customer = signed_in_page(page, server, organization)
    expect(page.locator("body[data-realtime=subscribed]")).to_have_count(1, timeout=15000)
    expect(page.locator("#pins")).to_be_hidden()
    till = {"Host": f"{SLUG}.localhost:{server.port}", "X-Api-Key": key}
    # A stamp to redeem: a call the balance would refuse is refused before any PIN prompt.
    earned = requests.post(
        f"http://127.0.0.1:{server.port}/webhook/pos",
        json={
            "customer_code": customer.customer_code,
            "amount": 1,
            "card_type": "stamp",
            "external_id": uuid.uuid4().hex,
        },
        headers=till,
        timeout=10,
    )
    assert earned.status_code == 200

    response = requests.post(
        f"http://127.0.0.1:{server.port}/webhook/redeem",
        json={
            "customer_code": customer.customer_code,
            "value": 1,
            "card_type": "stamp",
            "external_id": uuid.uuid4().hex,
        },
        headers={"Host": f"{SLUG}.localhost:{server.port}", "X-Api-Key": key},
        timeout=10,
    )

    assert response.status_code == 412
    with tenant_context(organization):
        pin = open_pins_for_customer(customer=customer)[0]["pin"]
    expect(page.locator("#pins .digits")).to_have_text(pin, timeout=10000)
    expect(page.locator("#pins .action")).to_have_text("Redeem 1 stamp")
    expect(page.locator("#pins .countdown")).to_have_text(re.compile(r"^\d+ s left$"))
    expect(page.locator("#pins")).to_be_visible()


def test_a_customer_claims_a_receipts_points_on_their_phone(page, server, balanced_organization):
    organization, key = balanced_organization
    order = requests.post(
        f"http://127.0.0.1:{server.port}/webhook/orders",
        json={
            "external_id": uuid.uuid4().hex,
            "currency": "EUR",
            "total": "9.80",
            "lines": [{"sku": "BREAD", "category": "bakery", "quantity": 2, "unit_price": "4.90"}],
        },
        headers={"Host": f"{SLUG}.localhost:{server.port}", "X-Api-Key": key},
        timeout=10,
    ).json()["data"]
    signed_in_page(page, server, organization)

    # The phone's camera opens the link the receipt's QR encodes.
    page.goto(order["claim_url"].replace(f"{SLUG}.localhost:8000", f"{SLUG}.localhost:{server.port}"))
    page.get_by_role("button", name="Add 9 points to my card").click()

    expect(page.get_by_role("heading", name="Points added")).to_be_visible()
    page.get_by_role("link", name="Go to your profile").click()
    expect(page.locator("#points-balance")).to_have_text("9")


def test_a_live_balance_update_is_written_the_way_the_pages_language_groups_numbers(
    chromium, server, balanced_organization
):
    organization, key = balanced_organization
    with tenant_context(organization):
        customer, _ = customer_enroll(
            email=f"{uuid.uuid4().hex}@example.com", consent_terms=True, consent_privacy=True
        )
        url = login_link_create(customer=customer)
    context = chromium.new_context(locale="nl-NL")
    page = context.new_page()
    try:
        page.goto(server.url(f"{SLUG}.localhost", "/" + url.split("/", 3)[3]))
        expect(page.locator("html[lang=nl]")).to_have_count(1)
        expect(page.locator("body[data-realtime=subscribed]")).to_have_count(1, timeout=15000)
        expect(page.locator("#points-balance")).to_have_text("0")

        earned = requests.post(
            f"http://127.0.0.1:{server.port}/webhook/pos",
            json={
                "customer_code": customer.customer_code,
                "amount": 1250,
                "card_type": "point",
                "external_id": uuid.uuid4().hex,
            },
            headers={"Host": f"{SLUG}.localhost:{server.port}", "X-Api-Key": key},
            timeout=10,
        )

        assert earned.status_code == 200
        # As the server writes it in Dutch (core/formats.py): 1.250, not 1250.
        expect(page.locator("#points-balance")).to_have_text("1.250", timeout=10000)
    finally:
        context.close()
