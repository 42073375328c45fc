"""Over a real socket: a POS listens with pysher (a Pusher client not written here) while a
customer opens the QR's deep link on the running server."""

import json
import queue
import uuid

import pysher
import pytest
import requests
from django.conf import settings
from django_tenants.utils import tenant_context

from loyalty_platform.customers.login import login_link_create
from loyalty_platform.customers.services import customer_enroll
from tenants.models import Organization
from tests.pos_fixtures import issue_key

pytestmark = pytest.mark.usefixtures("committed_db")


def test_pos_receives_card_identified_over_the_pusher_protocol(server):
    organization = Organization.objects.get(slug="test-a")
    key = issue_key(organization)
    host = {"Host": f"test-a.localhost:{server.port}"}
    base = f"http://127.0.0.1:{server.port}"
    with tenant_context(organization):
        customer, _ = customer_enroll(
            email=f"{uuid.uuid4().hex}@example.com", consent_terms=True, consent_privacy=True
        )
        login_path = "/" + login_link_create(customer=customer).split("/", 3)[3]

    session = requests.post(
        f"{base}/webhook/qr-card-sessions",
        json={"device_name": "Till 9"},
        headers={**host, "X-Api-Key": key},
        timeout=10,
    ).json()["data"]
    events: queue.Queue = queue.Queue()
    subscribed = queue.Queue()
    pos = pysher.Pusher(settings.REALTIME_APP_KEY, custom_host="127.0.0.1", port=server.port, secure=False)

    def on_connect(_data):
        channel = pos.subscribe(session["channel"])
        channel.bind("card_identified", events.put)
        channel.bind("pusher_internal:subscription_succeeded", subscribed.put)

    pos.connection.bind("pusher:connection_established", on_connect)
    pos.connect()
    try:
        subscribed.get(timeout=15)
        browser = requests.Session()
        assert (
            browser.get(base + login_path, headers=host, allow_redirects=False, timeout=10).status_code == 302
        )
        page = browser.get(f"{base}/identify/{session['session_id']}", headers=host, timeout=10)
        assert page.status_code == 200

        event = json.loads(events.get(timeout=15))
    finally:
        pos.disconnect(timeout=5)

    assert (event["session_id"], event["status"]) == (session["session_id"], "authenticated")
    assert event["card_data"]["customer_code"] == customer.customer_code
    assert event["card_data"]["partner"]["name"] == "Test Org A"
