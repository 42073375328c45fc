"""The link to the customer's profile, through the SDK's send_app_link: found by phone, sent
by email (the platform has no SMS sender), by a real Celery worker writing its mail as files;
the link in the email signs the customer in on the running server."""

import re
import shutil
import time
import uuid
from pathlib import Path

import pytest
import requests
from django.db import connections

from loyalty_platform.customers.models import Customer, LoginLink
from loyalty_platform.embedded import BASE_DIR
from loyalty_platform.shops.models import Shop
from tenants.models import Organization
from tests.mail_files import emails_to
from tests.pos_fixtures import create_customer
from tests.processes import celery_worker
from tests.shop_api.conftest import in_shop, make_sdk, refused, shop_credentials, unique_email

SENT = {"sent": True, "channels": ["email"], "sms": "not_configured"}


@pytest.fixture(scope="module")
def mail_dir(django_db_setup, django_db_blocker):
    """A Celery worker for the module, writing the emails it sends into a directory."""
    path = Path(BASE_DIR) / "var" / "mail" / f"test-app-link-{uuid.uuid4().hex[:8]}"
    path.mkdir(parents=True)
    with django_db_blocker.unblock(), celery_worker("app-link", TEST_EMAIL_FILE_PATH=str(path)):
        yield path
        connections.close_all()
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def web_shop(shop_organization, django_db_blocker) -> Shop:
    with django_db_blocker.unblock(), in_shop(shop_organization):
        shop = Shop.objects.create(name="Web shop")
    connections.close_all()
    return shop


def _phone() -> str:
    return f"+3706{time.time_ns() % 10**7:07d}"


def _customer(organization: Organization, *, name: str = "Ona", status: str = "active") -> Customer:
    customer = create_customer(organization, email=unique_email())
    with in_shop(organization):
        Customer.objects.filter(pk=customer.pk).update(name=name, phone=_phone(), status=status)
        customer.refresh_from_db()
    return customer


def _emails(mail_dir: Path, customer: Customer, count: int = 1) -> list:
    """The customer's emails once `count` of them arrived (the worker sends after the call)."""
    deadline = time.monotonic() + 30
    while len(found := emails_to(mail_dir, customer.email)) < count:
        if time.monotonic() > deadline:
            raise AssertionError(f"{len(found)} of {count} emails to {customer.email} arrived")
        time.sleep(0.1)
    return found


def _nothing_sent_to(mail_dir: Path, organization: Organization, customer: Customer, sdk, shop: Shop) -> None:
    """Emails leave in order: once a later one arrived, nothing queued before it is on its way."""
    sentinel = _customer(organization)
    assert sdk.send_app_link(sentinel.phone, shop.pk, language="en") == SENT
    _emails(mail_dir, sentinel)
    assert emails_to(mail_dir, customer.email) == []
    with in_shop(organization):
        assert not LoginLink.objects.filter(customer=customer).exists()


def _link(message) -> str:
    return re.search(r"https?://\S+/me/login/\S+", message.get_body(("plain",)).get_content()).group(0)


def _signed_in_by(server, organization: Organization, link: str) -> requests.Response:
    http = requests.Session()
    base, headers = (
        f"http://127.0.0.1:{server.port}",
        {"Host": f"{organization.slug}.localhost:{server.port}"},
    )
    opened = http.get(base + "/" + link.split("/", 3)[3], headers=headers, allow_redirects=False, timeout=10)
    assert (opened.status_code, opened.headers["Location"]) == (302, "/me/")
    return http.get(base + "/me/", headers=headers, allow_redirects=False, timeout=10)


def test_the_customer_gets_an_email_in_lithuanian_whose_link_signs_them_in(
    sdk, server, shop_organization, web_shop, mail_dir
):
    customer = _customer(shop_organization, name="Ona")
    local_format = "+370 6" + customer.phone[5:8] + " " + customer.phone[8:]

    answer = sdk.send_app_link(local_format, web_shop.pk, customer_name="Someone else", language="lt")

    assert answer == SENT
    (message,) = _emails(mail_dir, customer)
    assert message["Subject"] == f"Jūsų {shop_organization.name} lojalumo profilis"
    text = message.get_body(("plain",)).get_content()
    assert text.startswith("Sveiki, Ona,")
    assert "Web shop atsiuntė Jums nuorodą" in text
    assert "Someone else" not in text
    # The HTML part, in the same language (a real worker has no request language).
    assert '<html lang="lt">' in message.get_body(("html",)).get_content()
    profile = _signed_in_by(server, shop_organization, _link(message))
    assert profile.status_code == 200
    assert f'"channel": "private-customer.{customer.pk}"' in profile.text  # their own page


def test_english_when_asked_and_the_paths_language_by_default(
    sdk, server, shop_key, shop_organization, web_shop, mail_dir
):
    english, default = _customer(shop_organization, name=""), _customer(shop_organization)
    api_key, secret = shop_credentials(shop_key)

    assert sdk.send_app_link(english.phone, web_shop.pk, language="en") == SENT
    by_path = requests.post(
        f"http://localhost:{server.port}/lt/shop/auth/send-app-link",
        json={"phone": default.phone, "shop_id": web_shop.pk},
        headers={"X-API-Key": api_key, "X-API-Secret": secret},
        timeout=10,
    )

    assert by_path.json() == {"success": True, "data": SENT}
    (message,) = _emails(mail_dir, english)
    assert message["Subject"] == f"Your {shop_organization.name} loyalty profile"
    assert message.get_body(("plain",)).get_content().startswith("Hello,\n\nWeb shop sent you a link to your")
    assert _signed_in_by(server, shop_organization, _link(message)).status_code == 200
    (lithuanian,) = _emails(mail_dir, default)
    assert lithuanian["Subject"].startswith("Jūsų ")


def test_a_phone_nobody_has_is_refused_and_sends_nothing(sdk, shop_organization, web_shop, mail_dir):
    error = refused(sdk.send_app_link, _phone(), web_shop.pk, language="en")
    assert (error.http_status, error.code) == (404, "CUSTOMER_NOT_FOUND")


def test_bad_phones_are_refused_in_the_paths_language(server, shop_key, web_shop):
    sdk_lt = make_sdk(server, shop_key, locale="lt")
    for phone in ("abc", "+1", "12345678901234567890", "+370 6OO 00000"):
        error = refused(sdk_lt.send_app_link, phone, web_shop.pk)
        assert (error.http_status, error.code, error.message) == (
            422,
            "PHONE_INVALID",
            "Neteisingas telefono numeris.",
        )


def test_a_blocked_customer_an_unknown_shop_or_a_closed_one_are_refused_and_nothing_is_sent(
    sdk, shop_organization, web_shop, mail_dir
):
    blocked = _customer(shop_organization, status="blocked")
    customer = _customer(shop_organization)
    with in_shop(shop_organization):
        closed = Shop.objects.create(name="Closed", is_active=False)

    blocked_error = refused(sdk.send_app_link, blocked.phone, web_shop.pk, language="en")
    shop_errors = [
        refused(sdk.send_app_link, customer.phone, shop_id, language="en")
        for shop_id in (closed.pk, web_shop.pk + 10**6)
    ]

    assert (blocked_error.http_status, blocked_error.code) == (422, "CUSTOMER_BLOCKED")
    assert [(error.http_status, error.code) for error in shop_errors] == [(404, "SHOP_NOT_FOUND")] * 2
    _nothing_sent_to(mail_dir, shop_organization, blocked, sdk, web_shop)
    _nothing_sent_to(mail_dir, shop_organization, customer, sdk, web_shop)


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"shop_id": 1}, 422, "PHONE_REQUIRED"),
        ({"phone": "+37060000000"}, 422, "SHOP_ID_REQUIRED"),
        ({"phone": 37060000000, "shop_id": 1}, 422, "PHONE_INVALID"),
        ({"phone": "+37060000000", "shop_id": "1"}, 422, "SHOP_ID_INVALID"),
        ({"phone": "+37060000000", "shop_id": 10**30}, 422, "SHOP_ID_INVALID"),
        ({"phone": "+37060000000", "shop_id": 1, "language": "de"}, 422, "LANGUAGE_INVALID"),
        ({"phone": "+37060000000", "shop_id": 1, "customer_name": 7}, 422, "CUSTOMER_NAME_INVALID"),
        ({"phone": "+37060000000", "shop_id": 1, "customer_name": "x" * 151}, 422, "CUSTOMER_NAME_INVALID"),
        ({"phone": "+370600\u000000000", "shop_id": 1}, 400, "INVALID_CHARACTERS"),
        ({"phone": "+37060000000", "shop_id": 1, "sms": True}, 422, "UNKNOWN_FIELD"),
    ],
)
def test_bad_input_is_refused(server, shop_key, body, status, code):
    api_key, secret = shop_credentials(shop_key)
    answer = requests.post(
        f"http://localhost:{server.port}/en/shop/auth/send-app-link",
        json=body,
        headers={"X-API-Key": api_key, "X-API-Secret": secret},
        timeout=10,
    )
    assert (answer.status_code, answer.json()["success"], answer.json()["code"]) == (status, False, code)


def test_a_customer_gets_three_links_an_hour_at_most(sdk, shop_organization, web_shop, mail_dir):
    customer, other = _customer(shop_organization), _customer(shop_organization)

    answers = [sdk.send_app_link(customer.phone, web_shop.pk, language="en") for _ in range(3)]
    error = refused(sdk.send_app_link, customer.phone, web_shop.pk, language="en")

    assert answers == [SENT] * 3
    assert (error.http_status, error.code) == (429, "TOO_MANY_REQUESTS")
    raw = requests.post(
        f"{sdk.api_url}/auth/send-app-link",
        json={"phone": customer.phone, "shop_id": web_shop.pk},
        headers={"X-API-Key": sdk.api_key, "X-API-Secret": sdk.api_secret},
        timeout=10,
    )
    assert raw.status_code == 429
    assert int(raw.headers["Retry-After"]) == raw.json()["retry_after"] > 0
    assert sdk.send_app_link(other.phone, web_shop.pk, language="en") == SENT
    _emails(mail_dir, other)
    assert len(_emails(mail_dir, customer, 3)) == 3
    with in_shop(shop_organization):
        assert LoginLink.objects.filter(customer=customer).count() == 3


def test_another_organizations_key_does_not_find_this_organizations_customer(
    sdk, sdk_other, shop_organization, web_shop, mail_dir
):
    customer = _customer(shop_organization)
    other = Organization.objects.get(slug="test-b")
    with in_shop(other):
        other_shop = Shop.objects.create(name="B's web shop")

    error = refused(sdk_other.send_app_link, customer.phone, other_shop.pk, language="en")

    assert (error.http_status, error.code) == (404, "CUSTOMER_NOT_FOUND")
    _nothing_sent_to(mail_dir, shop_organization, customer, sdk, web_shop)
