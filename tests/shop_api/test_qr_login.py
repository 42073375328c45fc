"""Sign-in by QR for e-shops, through the SDK: the shop's screen generates a session, listens
with the SDK's own subscribe_qr_login (or polls), and the customer answers it in the profile
on the running server, signed in as a customer of the organization (requests)."""

import hashlib
import queue
import re
import threading
import time
from datetime import timedelta

import pytest
import requests
from channels.layers import get_channel_layer
from django.utils import timezone

from loyalty_platform.core import redis as lp_redis
from loyalty_platform.customers.login import login_link_create
from loyalty_platform.customers.models import Customer
from loyalty_platform.identification.models import QrLoginSession
from loyalty_platform.identification.services import card_data, qr_login_session_expire
from loyalty_platform.identification.tasks import expire_qr_login_session
from loyalty_platform.shops.models import Shop
from tenants.models import Organization
from tests.pos_fixtures import create_customer, run_at_once
from tests.shop_api.conftest import in_shop, refused, shop_credentials, unique_email

LIFETIME = timedelta(minutes=5)


def _customer(organization: Organization, *, name: str = "Ona Onaitė", points: int = 0) -> Customer:
    customer = create_customer(organization, email=unique_email(), points=points, stamps=2)
    phone = f"+3706{time.time_ns() % 10**7:07d}"
    with in_shop(organization):
        Customer.objects.filter(pk=customer.pk).update(name=name, phone=phone)
        customer.refresh_from_db()
    return customer


class CustomerPhone:
    """The customer's browser on the organization's host: signed in with a login link."""

    def __init__(self, server, organization: Organization, customer: Customer | None = None):
        self.base = f"http://127.0.0.1:{server.port}"
        self.headers = {"Host": f"{organization.slug}.localhost:{server.port}"}
        self.http = requests.Session()
        self.csrf_token = ""
        if customer is not None:
            with in_shop(organization):
                link = login_link_create(customer=customer)
            assert self.get(_path(link), allow_redirects=False).status_code == 302
            # The profile's sign-out form carries a token for this browser's forms.
            self.csrf_token = _csrf_token(self.get("/me/"))

    def get(self, path: str, **kwargs) -> requests.Response:
        return self.http.get(self.base + path, headers=self.headers, timeout=10, **kwargs)

    def open(self, session_id: str) -> requests.Response:
        return self.get(f"/qr-login/{session_id}", allow_redirects=False)

    def post(self, session_id: str, action: str) -> requests.Response:
        return self.http.post(
            f"{self.base}/qr-login/{session_id}",
            data={"csrfmiddlewaretoken": self.csrf_token, "action": action},
            headers=self.headers,
            timeout=10,
            allow_redirects=False,
        )

    def answer(self, session_id: str, action: str) -> requests.Response:
        """Open the page (as the customer does), then answer."""
        self.open(session_id)
        return self.post(session_id, action)


def _csrf_token(page: requests.Response) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)


def _path(url: str) -> str:
    return "/" + url.split("/", 3)[3]


def _state(page: requests.Response) -> str | None:
    found = re.search(r'data-state="([a-z]+)"', page.text)
    return found.group(1) if found else None


def _row(organization: Organization, session_id: str) -> QrLoginSession:
    with in_shop(organization):
        return QrLoginSession.objects.get(pk=session_id)


def _sessions(organization: Organization) -> int:
    with in_shop(organization):
        return QrLoginSession.objects.count()


def _shop_post(server, shop_key: str, path: str, body: bytes | None, content_type: str = "application/json"):
    api_key, secret = shop_credentials(shop_key)
    return requests.post(
        f"http://localhost:{server.port}/en/shop{path}",
        data=body,
        headers={"X-API-Key": api_key, "X-API-Secret": secret, "Content-Type": content_type},
        timeout=10,
    )


def _wait_for_listener(channel: str) -> None:
    """Until the SDK's socket joined the channel's group (the server publishes only to
    members; a frame sent before the subscription would be missed, as with any Pusher client)."""
    layer = get_channel_layer()
    deadline = time.monotonic() + 15
    while not lp_redis.client().zcard(layer._group_key(channel)):
        if time.monotonic() > deadline:
            raise AssertionError(f"nobody subscribed to {channel}")
        time.sleep(0.05)


class Subscription:
    """sdk.subscribe_qr_login on a thread of its own; `result()` is what it returned."""

    def __init__(self, sdk, session: dict, callback=None):
        self.results: queue.Queue = queue.Queue()
        self.thread = threading.Thread(
            target=lambda: self.results.put(
                sdk.subscribe_qr_login(session["session_id"], callback=callback, timeout=30)
            ),
            daemon=True,
        )
        self.thread.start()
        _wait_for_listener(session["channel"])

    def result(self):
        return self.results.get(timeout=35)


# --- Generate ---------------------------------------------------------------------------------


def test_generate_answers_the_deep_link_the_channel_and_a_pending_session(sdk, shop_organization, server):
    before = timezone.now()
    session = sdk.generate_qr_login("Checkout screen")
    session_id = session["session_id"]

    assert session == {
        "session_id": session_id,
        "qr_code": f"http://{shop_organization.slug}.localhost:{server.port}/qr-login/{session_id}",
        "expires_at": session["expires_at"],
        "channel": f"qr-login.{session_id}",
        "event": "status_update",
    }
    assert re.fullmatch(r"[0-9a-f]{32}", session_id)
    row = _row(shop_organization, session_id)
    assert before + LIFETIME <= row.expires_at <= timezone.now() + LIFETIME
    assert session["expires_at"] == row.expires_at.isoformat()
    assert (row.status, row.device_name, row.shop_id, row.customer_id, row.token_hash) == (
        "pending",
        "Checkout screen",
        None,
        None,
        "",
    )
    assert row.api_key_lookup_id == sdk.api_key.removeprefix("lty_")
    assert sdk.poll_qr_login(session_id) == {
        "session_id": session_id,
        "status": "pending",
        "expires_at": row.expires_at.isoformat(),
    }


def test_generate_names_its_shop_and_refuses_an_unknown_or_closed_one(sdk, shop_organization):
    with in_shop(shop_organization):
        shop = Shop.objects.create(name="Web shop")
        closed = Shop.objects.create(name="Closed web shop", is_active=False)
    session = sdk.generate_qr_login("Web", shop_id=shop.pk)
    assert _row(shop_organization, session["session_id"]).shop_id == shop.pk
    before = _sessions(shop_organization)

    for shop_id in (closed.pk, shop.pk + 10**6):
        error = refused(sdk.generate_qr_login, "Web", shop_id=shop_id)
        assert (error.http_status, error.code) == (404, "SHOP_NOT_FOUND")
    assert _sessions(shop_organization) == before


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b'{"device_name": 42}', 422, "DEVICE_NAME_INVALID"),
        (b'{"device_name": "' + b"x" * 101 + b'"}', 422, "DEVICE_NAME_INVALID"),
        (b'{"device_name": "Till\\u0000"}', 400, "INVALID_CHARACTERS"),
        (b'{"shop_id": "1"}', 422, "SHOP_ID_INVALID"),
        (b'{"shop_id": 1.5}', 422, "SHOP_ID_INVALID"),
        (b'{"shop_id": 99999999999999999999999999}', 422, "SHOP_ID_INVALID"),
        (b'{"shop_id": 0}', 422, "SHOP_ID_INVALID"),
        (b'{"colour": "red"}', 422, "UNKNOWN_FIELD"),
        (b"[1]", 422, "INVALID_BODY"),
        (b"{", 400, "INVALID_JSON"),
    ],
)
def test_generate_refuses_bad_input_and_creates_nothing(
    server, shop_key, shop_organization, body, status, code
):
    before = _sessions(shop_organization)
    answer = _shop_post(server, shop_key, "/auth/qr-login/generate", body)
    assert (answer.status_code, answer.json()["success"], answer.json()["code"]) == (status, False, code)
    assert _sessions(shop_organization) == before


# --- Confirm over the SDK's subscription --------------------------------------------------------


def test_the_shop_hears_the_confirmation_through_subscribe_qr_login(sdk, shop_organization, server):
    customer = _customer(shop_organization, points=250)
    phone = CustomerPhone(server, shop_organization, customer)
    session = sdk.generate_qr_login("Checkout screen")
    session_id = session["session_id"]
    listening = Subscription(sdk, session)

    page = phone.open(session_id)
    assert (page.status_code, _state(page)) == (200, "ask")
    assert f"Sign in to Checkout screen of {shop_organization.name}?" in page.text
    assert _row(shop_organization, session_id).status == "scanned"
    assert sdk.poll_qr_login(session_id)["status"] == "scanned"
    confirmed = phone.answer(session_id, "confirm")
    event = listening.result()

    assert (confirmed.status_code, _state(confirmed)) == (200, "confirmed")
    token = event["token"]
    with in_shop(shop_organization):
        expected_card = card_data(customer)
    assert event == {
        "session_id": session_id,
        "status": "authenticated",
        "user": {"id": customer.pk, "name": "Ona Onaitė", "email": customer.email, "phone": customer.phone},
        "token": token,
        "card": expected_card,
    }
    assert (expected_card["points_balance"], expected_card["stamp_count"]) == (250, 2)
    assert re.fullmatch(r"qrl_[A-Za-z0-9_-]{43}", token)
    row = _row(shop_organization, session_id)
    assert (row.status, row.customer_id) == ("authenticated", customer.pk)
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in (row.token_nonce, row.token_hash)
    assert sdk.poll_qr_login(session_id) == {
        "session_id": session_id,
        "status": "authenticated",
        "expires_at": row.expires_at.isoformat(),
        "user": event["user"],
        "token": token,
    }


def test_the_token_signs_nobody_in(sdk, shop_organization, server):
    customer = _customer(shop_organization)
    session = sdk.generate_qr_login("Kiosk")
    assert CustomerPhone(server, shop_organization, customer).answer(session["session_id"], "confirm").ok
    token = sdk.poll_qr_login(session["session_id"])["token"]

    stranger = CustomerPhone(server, shop_organization)
    as_login_link = stranger.get(f"/me/login/{token}", allow_redirects=False)
    stranger.http.cookies.set("sessionid", token)
    profile = stranger.get("/me/", allow_redirects=False)

    assert as_login_link.status_code == 400
    assert (profile.status_code, profile.headers["Location"]) == (302, "/me/login?next=%2Fme%2F")


def test_the_poll_shows_the_token_only_for_a_while_after_the_confirmation(sdk, shop_organization, server):
    customer = _customer(shop_organization)
    session = sdk.generate_qr_login("Kiosk")
    CustomerPhone(server, shop_organization, customer).answer(session["session_id"], "confirm")
    with in_shop(shop_organization):
        QrLoginSession.objects.filter(pk=session["session_id"]).update(
            completed_at=timezone.now() - LIFETIME - timedelta(seconds=1)
        )

    polled = sdk.poll_qr_login(session["session_id"])

    assert (polled["status"], polled["user"]["id"], "token" in polled) == (
        "authenticated",
        customer.pk,
        False,
    )


def test_a_visitor_who_is_not_signed_in_signs_in_and_comes_back_to_the_question(
    sdk, shop_organization, server
):
    customer = _customer(shop_organization)
    session = sdk.generate_qr_login("Kiosk")
    visitor = CustomerPhone(server, shop_organization)

    first = visitor.open(session["session_id"])
    next_path = f"/qr-login/{session['session_id']}"
    assert (first.status_code, first.headers["Location"]) == (
        302,
        f"/me/login?next=%2Fqr-login%2F{session['session_id']}",
    )
    assert _row(shop_organization, session["session_id"]).status == "pending"
    # The sign-in email's link carries the page to come back to.
    with in_shop(shop_organization):
        link = login_link_create(customer=customer, next_path=next_path)
    back = visitor.get(_path(link), allow_redirects=False)
    assert (back.status_code, back.headers["Location"]) == (302, next_path)
    assert _state(visitor.open(session["session_id"])) == "ask"


# --- Decline, the second confirmer, expiry ----------------------------------------------------


def test_declining_tells_the_shop_and_the_session_cannot_complete_afterwards(sdk, shop_organization, server):
    customer = _customer(shop_organization)
    phone = CustomerPhone(server, shop_organization, customer)
    session = sdk.generate_qr_login("Kiosk")
    session_id = session["session_id"]
    frames = []

    def every_frame(event, payload):
        frames.append((event, payload))
        return payload if payload.get("status") == "cancelled" else None

    listening = Subscription(sdk, session, callback=every_frame)
    declined = phone.answer(session_id, "decline")
    listening.result()
    again = phone.answer(session_id, "confirm")

    assert (declined.status_code, _state(declined)) == (200, "declined")
    assert frames == [
        ("status_update", {"session_id": session_id, "status": "scanned"}),
        ("status_update", {"session_id": session_id, "status": "cancelled"}),
    ]
    assert (again.status_code, _state(again)) == (409, "refused")
    assert "This sign-in is over." in again.text
    row = _row(shop_organization, session_id)
    assert (row.status, row.customer_id, row.token_hash) == ("cancelled", None, "")
    polled = sdk.poll_qr_login(session_id)
    assert (polled["status"], "user" in polled, "token" in polled) == ("cancelled", False, False)


def test_the_first_confirmer_wins_and_a_second_is_refused(sdk, shop_organization, server):
    first, second = _customer(shop_organization), _customer(shop_organization, name="Jonas")
    first_phone = CustomerPhone(server, shop_organization, first)
    second_phone = CustomerPhone(server, shop_organization, second)
    session_id = sdk.generate_qr_login("Kiosk")["session_id"]

    assert first_phone.answer(session_id, "confirm").status_code == 200
    token = sdk.poll_qr_login(session_id)["token"]
    opened = second_phone.open(session_id)
    confirmed = second_phone.answer(session_id, "confirm")
    declined = second_phone.answer(session_id, "decline")
    again = first_phone.answer(session_id, "confirm")

    for page in (opened, confirmed, declined):
        assert (page.status_code, _state(page)) == (409, "refused")
        assert "already used by someone else" in page.text
    assert (again.status_code, _state(again)) == (200, "confirmed")
    polled = sdk.poll_qr_login(session_id)
    assert (polled["user"]["id"], polled["token"]) == (first.pk, token)


def test_two_customers_confirming_at_once_sign_in_one(sdk, shop_organization, server):
    customers = [_customer(shop_organization), _customer(shop_organization)]
    phones = [CustomerPhone(server, shop_organization, customer) for customer in customers]
    session_id = sdk.generate_qr_login("Kiosk")["session_id"]
    for phone in phones:
        assert _state(phone.open(session_id)) == "ask"

    statuses = run_at_once(2, lambda index: phones[index].post(session_id, "confirm").status_code)

    assert sorted(statuses) == [200, 409]
    winner = customers[statuses.index(200)]
    assert _row(shop_organization, session_id).customer_id == winner.pk
    assert sdk.poll_qr_login(session_id)["user"]["id"] == winner.pk


def test_an_expired_session_tells_the_shop_and_cannot_complete(sdk, shop_organization, server):
    customer = _customer(shop_organization)
    session = sdk.generate_qr_login("Kiosk")
    session_id = session["session_id"]
    listening = Subscription(sdk, session)
    with in_shop(shop_organization):
        assert qr_login_session_expire(session_id=session_id) is False  # not over yet
        QrLoginSession.objects.filter(pk=session_id).update(expires_at=timezone.now() - timedelta(seconds=1))
        polled_before_the_task = sdk.poll_qr_login(session_id)["status"]
        assert expire_qr_login_session.apply(args=(session_id,)).get() is True

    event = listening.result()
    page = CustomerPhone(server, shop_organization, customer).answer(session_id, "confirm")

    assert polled_before_the_task == "expired"
    assert event == {"session_id": session_id, "status": "expired"}
    assert (page.status_code, _state(page)) == (410, "refused")
    assert "This sign-in code has expired." in page.text
    row = _row(shop_organization, session_id)
    assert (row.status, row.customer_id) == ("expired", None)
    with in_shop(shop_organization):
        assert qr_login_session_expire(session_id=session_id) is False


def test_an_answered_session_does_not_expire(sdk, shop_organization, server):
    customer = _customer(shop_organization)
    session_id = sdk.generate_qr_login("Kiosk")["session_id"]
    CustomerPhone(server, shop_organization, customer).answer(session_id, "confirm")
    with in_shop(shop_organization):
        QrLoginSession.objects.filter(pk=session_id).update(expires_at=timezone.now() - timedelta(seconds=1))
        assert qr_login_session_expire(session_id=session_id) is False
    assert sdk.poll_qr_login(session_id)["status"] == "authenticated"


def test_a_post_without_a_known_answer_changes_nothing(sdk, shop_organization, server):
    customer = _customer(shop_organization)
    session_id = sdk.generate_qr_login("Kiosk")["session_id"]

    page = CustomerPhone(server, shop_organization, customer).answer(session_id, "maybe")

    assert (page.status_code, _state(page)) == (422, "ask")
    assert _row(shop_organization, session_id).status == "scanned"


# --- Poll: refusals and isolation ------------------------------------------------------------------


def test_poll_of_an_unknown_session_is_not_found(sdk):
    for session_id in ("0" * 32, "x" * 200):
        error = refused(sdk.poll_qr_login, session_id)
        assert (error.http_status, error.code) == (404, "QR_SESSION_NOT_FOUND")
    error = refused(sdk.poll_qr_login, "a%00b")
    assert (error.http_status, error.code) == (400, "INVALID_CHARACTERS")


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [(b'{"session": 1}', 422, "UNKNOWN_FIELD"), (b"{", 400, "INVALID_JSON"), (b'"x"', 422, "INVALID_BODY")],
)
def test_poll_refuses_a_body_it_does_not_take(sdk, server, shop_key, body, status, code):
    session_id = sdk.generate_qr_login("Kiosk")["session_id"]
    answer = _shop_post(server, shop_key, f"/auth/qr-login/poll/{session_id}", body)
    assert (answer.status_code, answer.json()["code"]) == (status, code)
    assert _shop_post(server, shop_key, f"/auth/qr-login/poll/{session_id}", b"{}").json()["data"][
        "status"
    ] == ("pending")


def test_another_organization_sees_neither_the_session_nor_its_page(
    sdk, sdk_other, shop_organization, server
):
    customer = _customer(shop_organization)
    session_id = sdk.generate_qr_login("Kiosk")["session_id"]
    CustomerPhone(server, shop_organization, customer).answer(session_id, "confirm")
    other = Organization.objects.get(slug="test-b")
    stranger = _customer(other)

    error = refused(sdk_other.poll_qr_login, session_id)
    page = CustomerPhone(server, other, stranger).open(session_id)
    fresh_id = sdk.generate_qr_login("Kiosk")["session_id"]
    fresh_page = CustomerPhone(server, other, stranger).answer(fresh_id, "confirm")

    assert (error.http_status, error.code) == (404, "QR_SESSION_NOT_FOUND")
    for answered in (page, fresh_page):
        assert (answered.status_code, _state(answered)) == (404, "refused")
        assert customer.email not in answered.text
    assert _row(shop_organization, fresh_id).status == "pending"
