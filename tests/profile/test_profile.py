import json
import re
from datetime import timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone
from django_tenants.utils import tenant_context

from loyalty_platform.customers.login import login_link_create
from loyalty_platform.customers.models import Customer, LoginLink
from loyalty_platform.programs.models import Card, LedgerEntry
from loyalty_platform.realtime.signing import channel_signature
from loyalty_platform.verification.services import customer_code_from_qr, pin_challenge_issue
from loyalty_platform.vouchers.models import Promotion, Voucher
from tests.conftest import HostClient
from tests.identification.test_qr_sessions import signed_in
from tests.pos_fixtures import create_customer


def link_from(mail) -> str:
    return re.search(r"http://\S+/me/login/\S+", mail.body).group(0)


def path_of(url: str) -> str:
    return "/" + url.split("/", 3)[3]


def test_signup_records_consents_and_mails_a_link_that_signs_in_once(organization, programs, mailoutbox):
    client = HostClient(organization)
    response = client.post(
        "/me/signup",
        {
            "email": "New@Example.com",
            "name": "Nia",
            "consent_terms": "on",
            "consent_privacy": "on",
            "next": "/me/",
        },
    )
    assert response.status_code == 200 and len(mailoutbox) == 1
    with tenant_context(organization):
        customer = Customer.objects.get(email="new@example.com")
    assert customer.consent_terms_at and customer.consent_privacy_at and customer.consent_marketing_at is None

    link = path_of(link_from(mailoutbox[0]))
    signed = client.get(link)
    assert (signed.status_code, signed["Location"]) == (302, "/me/")
    assert client.get("/me/").status_code == 200
    assert HostClient(organization).get(link).status_code == 410  # used


def test_signup_with_an_existing_email_signs_the_same_customer_in(organization, programs, mailoutbox):
    existing = create_customer(organization, email="known@example.com")
    HostClient(organization).post(
        "/me/signup", {"email": "KNOWN@example.com", "consent_terms": "on", "consent_privacy": "on"}
    )
    client = HostClient(organization)
    client.get(path_of(link_from(mailoutbox[0])))
    assert client.get("/me/api/profile").json()["data"]["customer_code"] == existing.customer_code


@pytest.mark.parametrize(
    ("form", "error"),
    [
        ({"email": "", "consent_terms": "on", "consent_privacy": "on"}, "Please give your email address."),
        ({"email": "bad", "consent_terms": "on", "consent_privacy": "on"}, "This is not an email address."),
        ({"email": "a@example.com", "consent_privacy": "on"}, "Please accept the terms."),
        ({"email": "a@example.com", "consent_terms": "on"}, "Please accept the privacy policy."),
        (
            {"email": "a@example.com", "consent_terms": "on", "consent_privacy": "on", "phone": "12"},
            "country code",
        ),
    ],
)
def test_signup_errors_are_shown_and_nothing_is_created(organization, mailoutbox, form, error):
    response = HostClient(organization).post("/me/signup", form)
    assert response.status_code == 422 and error in response.content.decode()
    assert mailoutbox == []
    with tenant_context(organization):
        assert not Customer.objects.exists()


def test_login_answers_the_same_for_unknown_addresses(organization, programs, mailoutbox):
    create_customer(organization, email="member@example.com")
    known = HostClient(organization).post("/me/login", {"email": "member@example.com"})
    unknown = HostClient(organization).post("/me/login", {"email": "stranger@example.com"})
    # Identical but for the Content-Security-Policy nonce and the CSRF token of the language
    # form, which are new on every response.
    varying = re.compile(rb'nonce="[^"]+"|name="csrfmiddlewaretoken" value="[^"]+"')
    assert varying.sub(b"", known.content) == varying.sub(b"", unknown.content)
    assert [mail.to for mail in mailoutbox] == [["member@example.com"]]


def test_expired_and_invalid_links(organization, programs):
    customer = create_customer(organization)
    with tenant_context(organization):
        url = login_link_create(customer=customer)
    with time_machine.travel(timezone.now() + timedelta(minutes=16)):
        assert HostClient(organization).get(path_of(url)).status_code == 410
    assert HostClient(organization).get("/me/login/forged-token").status_code == 400
    with tenant_context(organization):
        assert LoginLink.objects.get().used_at is None


def test_links_never_redirect_to_another_site(organization, programs):
    customer = create_customer(organization)
    for next_path, expected in (
        ("//evil.example/x", "/me/"),
        ("https://evil.example", "/me/"),
        ("/identify/abc", "/identify/abc"),
    ):
        with tenant_context(organization):
            url = login_link_create(customer=customer, next_path=next_path)
        assert HostClient(organization).get(path_of(url))["Location"] == expected


def test_a_link_of_one_organization_does_not_work_on_another(organization, other_organization, programs):
    customer = create_customer(organization)
    with tenant_context(organization):
        url = login_link_create(customer=customer)
    assert HostClient(other_organization).get(path_of(url)).status_code == 400


def test_customer_login_link_command(organization, programs):
    customer = create_customer(organization, email="support@example.com")
    out = StringIO()
    call_command("customer_login_link", organization.slug, "support@example.com", stdout=out)
    url = out.getvalue().strip()
    assert url.startswith("http://test-a.localhost:8000/me/login/")
    client = HostClient(organization)
    client.get(path_of(url))
    assert client.get("/me/api/profile").json()["data"]["customer_code"] == customer.customer_code


def test_dashboard_and_api(organization, programs):
    customer = create_customer(organization, points=250, stamps=4)
    client = signed_in(organization, customer)

    page = client.get("/me/").content.decode()
    assert "250</strong> points, worth €2.50" in page
    assert "4 of 10 stamps" in page
    assert str(customer.customer_code) in page

    cards = client.get("/me/api/cards").json()["data"]
    assert [(c["kind"], c["balance"]) for c in cards["cards"]] == [("point", 250), ("stamp", 4)]
    qr = client.get("/me/api/qr").json()["data"]
    assert customer_code_from_qr(organization=organization, payload=qr["payload"]) == customer.customer_code
    assert client.get("/me/api/history").json()["data"][0]["delta"] in (250, 4)
    assert client.get("/me/api/pins").json() == {"data": []}


def test_api_needs_a_session(organization, programs):
    for path in ("/me/api/profile", "/me/api/cards", "/me/api/qr", "/me/api/pins", "/me/api/history"):
        response = HostClient(organization).get(path)
        assert (response.status_code, response.json()) == (401, {"error": "not_signed_in"})
    assert HostClient(organization).get("/me/")["Location"] == "/me/login?next=%2Fme%2F"


def test_pins_show_only_in_the_customers_own_session(organization, programs):
    customer, other = create_customer(organization), create_customer(organization)
    with tenant_context(organization):
        issued = pin_challenge_issue(organization=organization, customer=customer, action="redeem")

    mine = signed_in(organization, customer).get("/me/api/pins").json()["data"]
    theirs = signed_in(organization, other).get("/me/api/pins").json()["data"]

    assert [(p["challenge_id"], p["pin"], p["action"], p["summary"]) for p in mine] == [
        (str(issued.challenge.pk), issued.pin, "redeem", "Redeem points or stamps")
    ]
    assert theirs == []


def test_realtime_auth_signs_only_the_own_channel(organization, programs):
    customer = create_customer(organization)
    client = signed_in(organization, customer)

    own = client.post(
        "/realtime/auth", {"socket_id": "1.2", "channel_name": f"private-customer.{customer.pk}"}
    )
    other = client.post(
        "/realtime/auth", {"socket_id": "1.2", "channel_name": f"private-customer.{customer.pk + 1}"}
    )
    anonymous = HostClient(organization).post(
        "/realtime/auth", {"socket_id": "1.2", "channel_name": f"private-customer.{customer.pk}"}
    )
    malformed = client.post(
        "/realtime/auth", {"socket_id": "x", "channel_name": f"private-customer.{customer.pk}"}
    )

    assert own.status_code == 200
    assert own.json() == {
        "auth": channel_signature(
            schema_name=organization.schema_name,
            socket_id="1.2",
            channel_name=f"private-customer.{customer.pk}",
        )
    }
    assert own.json()["auth"] != channel_signature(
        schema_name="org_test_b", socket_id="1.2", channel_name=f"private-customer.{customer.pk}"
    )
    assert [r.status_code for r in (other, anonymous, malformed)] == [403, 403, 403]


def test_realtime_config(organization, client_a):
    data = client_a.get("/realtime/config").json()["data"]
    assert data["channel_prefix"] == {"qr_card": "qr-card."} and data["event"] == "card_identified"
    assert (data["host"], data["scheme"]) == ("test-a.localhost", "ws")


def test_export_and_delete(organization, programs):
    customer = create_customer(organization, points=30)
    client = signed_in(organization, customer)

    assert client.get("/me/export").status_code == 200  # the confirmation page
    exported = json.loads(client.post("/me/export").content)
    assert exported["customer"]["email"] == customer.email
    assert exported["cards"][0]["entries"][0]["delta"] == 30

    refused = client.post("/me/delete", {"confirm": "yes"})
    assert refused.status_code == 422
    client.post("/me/delete", {"confirm": "DELETE"})

    with tenant_context(organization):
        erased = Customer.objects.get(pk=customer.pk)
        card = Card.objects.get(customer=customer, program__kind="point")
        total = sum(LedgerEntry.objects.filter(card=card).values_list("delta", flat=True))
    assert (erased.status, erased.name, erased.phone) == ("deleted", "", "")
    assert customer.email not in erased.email
    assert card.balance == total == 30
    assert client.get("/me/").status_code == 302


@pytest.mark.parametrize("image_format", ["png", "svg"])
def test_qr_images(client_a, image_format):
    response = client_a.get(f"/qr.{image_format}", {"data": "hello", "size": "128"})
    assert response.status_code == 200
    assert response["Content-Type"] == {"png": "image/png", "svg": "image/svg+xml"}[image_format]
    assert "max-age" in response["Cache-Control"]


def test_qr_svg_is_well_formed_and_sized(client_a):
    import xml.etree.ElementTree as ET

    root = ET.fromstring(client_a.get("/qr.svg", {"data": "hello", "size": "200"}).content)

    assert (root.get("width"), root.get("height")) == ("200", "200")


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({}, "data_required"),
        ({"data": "x" * 1025}, "data_too_long"),
        ({"data": "x", "size": "63"}, "size_invalid"),
        ({"data": "x", "size": "1025"}, "size_invalid"),
        ({"data": "x", "size": "big"}, "size_invalid"),
    ],
)
def test_qr_image_bounds(client_a, params, error):
    response = client_a.get("/qr.png", params)
    assert (response.status_code, response.json()["error"]) == (400, error)


def test_head_on_the_export_page_shows_the_page_and_exports_nothing(organization, programs):
    client = signed_in(organization, create_customer(organization, points=5))

    head, get = client.head("/me/export"), client.get("/me/export")

    assert (head.status_code, head.content, head.get("Content-Disposition")) == (200, b"", None)
    assert head["Content-Type"] == get["Content-Type"] == "text/html; charset=utf-8"


def test_the_profile_shows_the_customers_usable_vouchers_and_no_one_elses(organization, programs):
    customer = create_customer(organization)
    other = create_customer(organization)
    with tenant_context(organization):
        promotion = Promotion.objects.create(title="A free coffee")
        ended = Promotion.objects.create(title="Old offer", valid_until=timezone.now() - timedelta(days=1))
        Voucher.objects.create(promotion=promotion, code="MINE-0001", customer=customer)
        Voucher.objects.create(promotion=promotion, code="USED-0002", customer=customer, status="redeemed")
        Voucher.objects.create(promotion=ended, code="GONE-0003", customer=customer)
        Voucher.objects.create(promotion=promotion, code="THEIRS-0004", customer=other)
    page = signed_in(organization, customer).get("/me/").content.decode()
    assert "MINE-0001" in page and "A free coffee" in page
    assert not {"USED-0002", "GONE-0003", "THEIRS-0004"} & set(re.findall(r"[A-Z]+-\d{4}", page))
