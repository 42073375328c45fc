"""Joining by phone end to end, on a phone's screen (390 px): the till enrolls a number through
the POS API, a real Celery worker texts the link (the file SMS backend), the person opens it,
consents and is a member, and the till's Pusher listener hears invitation_accepted."""

import json
import queue
import re
import shutil
import time
import uuid
from pathlib import Path

import pysher
import pytest
import requests
from django.conf import settings
from django.db import connections
from django_tenants.utils import tenant_context
from playwright.sync_api import expect

from loyalty_platform.core.sms import sms_files
from loyalty_platform.customers.models import Customer
from loyalty_platform.embedded import BASE_DIR
from tenants.models import Organization
from tenants.services import organization_create
from tests.browser.accessibility import axe_violations, horizontal_overflow
from tests.pos_fixtures import create_programs, issue_key
from tests.processes import celery_worker

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("committed_db")]
SLUG = "test-phone-join"


@pytest.fixture(scope="module")
def joining_organization(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        organization = Organization.objects.filter(slug=SLUG).first()
        if organization is None:
            organization = organization_create(slug=SLUG, name="Phone Café")
            create_programs(organization)
        organization.phone_enrollment = True
        organization.save(update_fields=["phone_enrollment"])
        return organization, issue_key(organization)


@pytest.fixture(scope="module")
def sms_dir(django_db_setup, django_db_blocker):
    """A Celery worker for the module, writing the texts it sends into a directory."""
    path = Path(BASE_DIR) / "var" / "sms" / f"test-join-{uuid.uuid4().hex[:8]}"
    path.mkdir(parents=True)
    with django_db_blocker.unblock(), celery_worker("join-sms", TEST_SMS_FILE_PATH=str(path)):
        yield path
        connections.close_all()
    shutil.rmtree(path, ignore_errors=True)


def texted_to(sms_dir: Path, phone: str) -> dict:
    """The text to `phone`, once the worker wrote it (it sends after the till's call)."""
    deadline = time.monotonic() + 30
    while not (found := [m for m in sms_files(sms_dir) if m["to"] == phone]):
        if time.monotonic() > deadline:
            raise AssertionError(f"no text to {phone} arrived")
        time.sleep(0.1)
    return found[-1]


def test_a_till_enrolls_a_phone_and_hears_when_the_person_finished_joining(
    chromium, server, joining_organization, sms_dir
):
    organization, key = joining_organization
    phone = f"+3706{time.time_ns() % 10**7:07d}"
    base, host = f"http://127.0.0.1:{server.port}", {"Host": f"{SLUG}.localhost:{server.port}"}

    enrolled = requests.post(
        f"{base}/webhook/customer", json={"phone": phone}, headers={**host, "X-Api-Key": key}, timeout=10
    )

    assert enrolled.status_code == 200, enrolled.text
    data = enrolled.json()["data"]
    assert (data["status"], data["is_new"], data["masked_email"]) == ("pending", True, "")
    events, subscribed = queue.Queue(), queue.Queue()
    till = pysher.Pusher(settings.REALTIME_APP_KEY, custom_host="127.0.0.1", port=server.port, secure=False)

    def on_connect(_data):
        channel = till.subscribe(data["channel"])
        channel.bind("pusher_internal:subscription_succeeded", subscribed.put)
        channel.bind("invitation_accepted", events.put)

    till.connection.bind("pusher:connection_established", on_connect)
    till.connect()
    context = chromium.new_context(viewport={"width": 390, "height": 844}, bypass_csp=True)
    page = context.new_page()
    try:
        subscribed.get(timeout=15)
        text = texted_to(sms_dir, phone)["text"]
        link = re.search(rf"http://{SLUG}\.localhost:\d+/me/finish/jn_[A-Za-z0-9_-]+", text).group(0)
        assert text.startswith("Phone Café: tap to finish joining our loyalty program: ")

        page.goto(re.sub(r"localhost:\d+", f"localhost:{server.port}", link))
        expect(page.get_by_role("heading", name="Finish joining Phone Café")).to_be_visible()
        assert horizontal_overflow(page) == 0
        assert axe_violations(page) == []
        # Without the terms the page says what is missing and nothing happens.
        page.get_by_label("I accept the privacy policy (required)").check()
        page.get_by_role("button", name="Join").click()
        expect(page.get_by_text("Please accept the terms.")).to_be_visible()
        assert events.empty()
        page.get_by_label("I accept the terms (required)").check()
        page.get_by_label("I accept the privacy policy (required)").check()
        page.get_by_label("Name").fill("Ona")
        page.get_by_role("button", name="Join").click()

        expect(page.get_by_role("heading", name="Your card", exact=True)).to_be_visible()
        expect(page.get_by_text("Welcome! You're a member now.")).to_be_visible()
        event = json.loads(events.get(timeout=15))
    finally:
        till.disconnect(timeout=5)
        context.close()
    assert event == {"invitation_id": data["invitation_id"], "customer_code": data["customer_code"]}
    with tenant_context(organization):
        customer = Customer.objects.get(customer_code=data["customer_code"])
    assert (customer.status, customer.name, customer.email, customer.phone) == ("active", "Ona", "", phone)
    polled = requests.get(
        f"{base}/webhook/customer/invitations/{data['invitation_id']}",
        headers={**host, "X-Api-Key": key},
        timeout=10,
    ).json()["data"]
    assert (polled["status"], polled["customer_code"]) == ("accepted", data["customer_code"])


@pytest.mark.parametrize("width", [390, 1280])
def test_the_join_page_and_the_texted_sign_in_pass_axe(
    chromium, server, joining_organization, sms_dir, width
):
    _organization, key = joining_organization
    phone = f"+3706{time.time_ns() % 10**7:07d}"
    host = {"Host": f"{SLUG}.localhost:{server.port}", "X-Api-Key": key}
    response = requests.post(
        f"http://127.0.0.1:{server.port}/webhook/customer", json={"phone": phone}, headers=host, timeout=10
    )
    assert response.status_code == 200, response.text
    link = re.search(r"/me/finish/jn_[A-Za-z0-9_-]+", texted_to(sms_dir, phone)["text"]).group(0)
    context = chromium.new_context(viewport={"width": width, "height": 900}, bypass_csp=True)
    page = context.new_page()
    try:
        page.goto(server.url(f"{SLUG}.localhost", link))
        expect(page.get_by_role("heading", name="Finish joining Phone Café")).to_be_visible()
        assert (horizontal_overflow(page), axe_violations(page)) == (0, [])
        page.goto(server.url(f"{SLUG}.localhost", "/me/login"))
        expect(page.get_by_role("button", name="Text me a sign-in link")).to_be_visible()
        assert (horizontal_overflow(page), axe_violations(page)) == (0, [])
    finally:
        context.close()
