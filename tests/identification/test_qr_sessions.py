import json
from datetime import timedelta

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.utils import timezone
from django_tenants.utils import tenant_context

from loyalty_platform.celery import app as celery_app
from loyalty_platform.customers.session import SESSION_KEY
from loyalty_platform.identification.models import Invitation, QrCardSession
from loyalty_platform.identification.services import qr_card_session_expire
from tests.conftest import HostClient
from tests.pos_fixtures import create_customer


def signed_in(organization, customer) -> HostClient:
    client = HostClient(organization)
    with tenant_context(organization):
        session = client.session
        session[SESSION_KEY] = customer.pk
        session.save()
    client.cookies["sessionid"] = session.session_key
    return client


def listen(channel: str):
    layer = get_channel_layer()
    name = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(channel, name)
    return lambda: async_to_sync(layer.receive)(name)


def test_create_poll_identify_and_push(organization, programs, pos, django_capture_on_commit_callbacks):
    customer = create_customer(organization, points=120, stamps=3)
    with django_capture_on_commit_callbacks(execute=False):
        created = pos.post("/webhook/qr-card-sessions", {"device_name": "Till 1"}).json()["data"]
    session_id = created["session_id"]
    assert created == {
        "session_id": session_id,
        "qr_code": f"http://test-a.localhost:8000/identify/{session_id}",
        "expires_at": created["expires_at"],
        "channel": f"qr-card.{session_id}",
    }
    assert len(session_id) == 32
    pending = pos.get(f"/webhook/qr-card-sessions/{session_id}").json()["data"]
    assert (pending["status"], "card_data" in pending) == ("pending", False)
    receive = listen(f"qr-card.{session_id}")

    with django_capture_on_commit_callbacks(execute=True):
        page = signed_in(organization, customer).get(f"/identify/{session_id}")

    assert page.status_code == 200 and b"identified" in page.content
    event = receive()
    assert event["event"] == "card_identified"
    data = json.loads(event["data"])
    assert (data["session_id"], data["status"]) == (session_id, "authenticated")
    card = data["card_data"]
    assert (card["customer_code"], card["points_balance"], card["stamp_count"], card["status"]) == (
        customer.customer_code,
        120,
        3,
        "active",
    )
    assert card["user"] == {"id": customer.pk, "name": "", "phone": "", "email": customer.email}
    assert card["partner"] == {"id": organization.pk, "name": "Test Org A"}
    assert card["redemption"] == {
        "enabled": True,
        "points_per_currency": 100,
        "currency_amount": "1.00",
        "min_points": 100,
    }
    polled = pos.get(f"/webhook/qr-card-sessions/{session_id}").json()["data"]
    assert (
        polled["status"] == "authenticated" and polled["card_data"]["customer_code"] == customer.customer_code
    )


def test_a_session_completes_once(organization, programs, pos):
    first, second = create_customer(organization), create_customer(organization)
    session_id = pos.post("/webhook/qr-card-sessions", {}).json()["data"]["session_id"]

    assert signed_in(organization, first).get(f"/identify/{session_id}").status_code == 200
    again = signed_in(organization, first).get(f"/identify/{session_id}")
    other = signed_in(organization, second).get(f"/identify/{session_id}")

    assert again.status_code == 200
    assert other.status_code == 409
    with tenant_context(organization):
        assert QrCardSession.objects.get(pk=session_id).customer_id == first.pk


def test_expired_session_cannot_complete_and_is_announced(
    organization, programs, pos, django_capture_on_commit_callbacks
):
    customer = create_customer(organization)
    session_id = pos.post("/webhook/qr-card-sessions", {}).json()["data"]["session_id"]
    with tenant_context(organization):
        QrCardSession.objects.filter(pk=session_id).update(expires_at=timezone.now() - timedelta(seconds=1))
    receive = listen(f"qr-card.{session_id}")

    page = signed_in(organization, customer).get(f"/identify/{session_id}")
    assert page.status_code == 410
    assert pos.get(f"/webhook/qr-card-sessions/{session_id}").json()["data"]["status"] == "expired"
    with tenant_context(organization), django_capture_on_commit_callbacks(execute=True):
        assert qr_card_session_expire(session_id=session_id) is True
        assert qr_card_session_expire(session_id=session_id) is False
    assert json.loads(receive()["data"]) == {"session_id": session_id, "status": "expired"}


def test_not_signed_in_is_sent_to_sign_in_and_back(organization, programs, pos):
    session_id = pos.post("/webhook/qr-card-sessions", {}).json()["data"]["session_id"]
    response = HostClient(organization).get(f"/identify/{session_id}")
    assert response.status_code == 302
    assert response["Location"] == f"/me/login?next=%2Fidentify%2F{session_id}"


def test_unknown_and_foreign_sessions(organization, other_organization, programs, pos, pos_b):
    customer = create_customer(organization)
    session_b = pos_b.post("/webhook/qr-card-sessions", {}).json()["data"]["session_id"]

    assert pos.get(f"/webhook/qr-card-sessions/{session_b}").json() == {"error": "qr_session_not_found"}
    assert pos.get("/webhook/qr-card-sessions/nothing").status_code == 404
    assert signed_in(organization, customer).get(f"/identify/{session_b}").status_code == 404


def test_qr_session_bad_input(organization, pos):
    for body, code in (
        ({"shop_id": "x"}, "shop_id_invalid"),
        ({"device_name": 5}, "device_name_invalid"),
        ({"extra": 1}, "unknown_field"),
    ):
        response = pos.post("/webhook/qr-card-sessions", body)
        assert (response.status_code, response.json()["error"]) == (422, code)
    with tenant_context(organization):
        assert not QrCardSession.objects.exists()


def test_invitation_by_phone_is_accepted_by_a_new_member(
    organization, programs, pos, django_capture_on_commit_callbacks
):
    created = pos.post("/webhook/customer/invitations", {"phone": "+31 6 1111 2222"}).json()["data"]
    invitation_id = created["invitation_id"]
    assert created["url"] == f"http://test-a.localhost:8000/join/{invitation_id}"
    assert created["channel"] == f"invitation.{invitation_id}"
    receive = listen(created["channel"])
    member = create_customer(organization)

    with django_capture_on_commit_callbacks(execute=True):
        page = signed_in(organization, member).get(f"/join/{invitation_id}")

    assert page.status_code == 200
    assert json.loads(receive()["data"]) == {
        "invitation_id": invitation_id,
        "customer_code": member.customer_code,
    }
    polled = pos.get(f"/webhook/customer/invitations/{invitation_id}").json()["data"]
    assert (polled["status"], polled["customer_code"]) == ("accepted", member.customer_code)
    assert (
        pos.get("/webhook/customer", {"phone": "+31611112222"}).json()["data"]["customer_code"]
        == member.customer_code
    )


def test_invitation_by_email_sends_the_link(
    organization, pos, mailoutbox, django_capture_on_commit_callbacks
):
    celery_app.conf.task_always_eager = True
    try:
        with django_capture_on_commit_callbacks(execute=True):
            created = pos.post("/webhook/customer/invitations", {"email": "Friend@Example.com"}).json()[
                "data"
            ]
    finally:
        celery_app.conf.task_always_eager = False
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == ["friend@example.com"] and created["url"] in mailoutbox[0].body


def test_invitation_errors(organization, pos):
    for body, code in (
        ({}, "phone_or_email_required"),
        ({"phone": "12"}, "phone_invalid"),
        ({"email": "nope"}, "invalid_email"),
    ):
        response = pos.post("/webhook/customer/invitations", body)
        assert (response.status_code, response.json()["error"]) == (422, code)
    assert pos.get("/webhook/customer/invitations/unknown").json() == {"error": "invitation_not_found"}
    with tenant_context(organization):
        assert not Invitation.objects.exists()


def test_join_without_session_goes_to_signup(organization, pos):
    invitation_id = pos.post("/webhook/customer/invitations", {"phone": "+31611112222"}).json()["data"][
        "invitation_id"
    ]
    response = HostClient(organization).get(f"/join/{invitation_id}")
    assert response.status_code == 302 and response["Location"].startswith("/me/signup?next=")
