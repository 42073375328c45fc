"""Abuse limits: sign-in emails per address and per IP, wrong API keys per IP, wrong staff
passwords per login and per IP. Each organization counts its own."""

import uuid

import pytest
from django_tenants.utils import tenant_context

from loyalty_platform.customers.models import LoginLink
from tests.conftest import HostClient
from tests.factories import StaffUserFactory
from tests.pos_fixtures import PosClient, create_customer

SMALL_LIMITS = {
    "login_email_address": (3, 3600),
    "login_email_ip": (5, 3600),
    "api_key_failure_ip": (3, 300),
    "staff_login_failure_user": (3, 900),
    "staff_login_failure_ip": (5, 900),
}


@pytest.fixture(autouse=True)
def small_limits(settings):
    settings.ABUSE_LIMITS = SMALL_LIMITS


def ask_link(organization, email: str, ip: str = "10.0.0.1"):
    return HostClient(organization, REMOTE_ADDR=ip).post("/me/login", {"email": email})


def links_of(organization, customer) -> int:
    with tenant_context(organization):
        return LoginLink.objects.filter(customer=customer).count()


def test_sign_in_emails_to_one_address_stop_at_the_limit(organization, programs, mailoutbox):
    customer = create_customer(organization, email="anna@example.com")

    statuses = [ask_link(organization, "anna@example.com", ip=f"10.0.0.{n}").status_code for n in range(5)]

    assert statuses == [200, 200, 200, 429, 429]
    assert len(mailoutbox) == 3
    assert links_of(organization, customer) == 3


def test_the_limit_does_not_tell_members_from_strangers(organization, programs, mailoutbox):
    create_customer(organization, email="anna@example.com")

    member = [ask_link(organization, "ANNA@example.com", ip=f"10.0.1.{n}").status_code for n in range(4)]
    stranger = [ask_link(organization, "nobody@example.com", ip=f"10.0.2.{n}").status_code for n in range(4)]

    assert member == stranger == [200, 200, 200, 429]
    limited = ask_link(organization, "nobody@example.com", ip="10.0.3.1")
    assert limited["Retry-After"].isdigit() and "Too many sign-in emails" in limited.content.decode()


def test_sign_in_emails_from_one_ip_stop_at_the_limit_and_sign_up_counts(organization, programs, mailoutbox):
    client = HostClient(organization, REMOTE_ADDR="10.9.9.9")
    signup = {"email": "new@example.com", "consent_terms": "on", "consent_privacy": "on"}

    statuses = [client.post("/me/signup", signup).status_code]
    statuses += [client.post("/me/login", {"email": f"p{n}@example.com"}).status_code for n in range(5)]
    other_ip = HostClient(organization, REMOTE_ADDR="10.9.9.8").post(
        "/me/login", {"email": "new@example.com"}
    )

    assert statuses == [200, 200, 200, 200, 200, 429]
    assert other_ip.status_code == 200
    assert len(mailoutbox) == 2  # the sign-up's link and the other IP's


def test_each_organization_counts_its_own_sign_in_emails(
    organization, other_organization, programs, mailoutbox
):
    for _ in range(3):
        ask_link(organization, "anna@example.com")
    assert ask_link(organization, "anna@example.com").status_code == 429
    assert ask_link(other_organization, "anna@example.com").status_code == 200


def test_wrong_api_keys_from_one_ip_get_429_but_a_valid_key_keeps_working(organization, programs, key_a):
    customer = create_customer(organization)
    wrong = PosClient("test-a.localhost", "sk_live_000000000000_wrong")
    lookup = {"code": customer.customer_code}

    statuses = [wrong.get("/webhook/customer", lookup).status_code for _ in range(5)]
    limited = wrong.get("/webhook/customer", lookup)
    valid = PosClient("test-a.localhost", key_a).get("/webhook/customer", lookup)
    other_ip = wrong.get("/webhook/customer", lookup, headers={"REMOTE_ADDR": "10.1.1.1"})

    assert statuses == [401, 401, 401, 429, 429]
    assert limited.json() == {"error": "too many requests", "retry_after": int(limited["Retry-After"])}
    assert valid.status_code == 200
    assert (other_ip.status_code, other_ip.json()) == (401, {"error": "invalid or missing API key"})


def test_a_key_of_another_organization_counts_as_a_wrong_key(organization, programs, key_b):
    of_b_on_a = PosClient("test-a.localhost", key_b)
    statuses = [of_b_on_a.get("/webhook/customer", {"code": 123456}).status_code for _ in range(4)]
    assert statuses == [401, 401, 401, 429]


def staff_sign_in(organization, password: str, ip: str = "10.2.0.1"):
    client = HostClient(organization, REMOTE_ADDR=ip)
    return client.post("/admin/login/?next=/admin/", {"username": "owner@example.com", "password": password})


def test_wrong_staff_passwords_lock_the_login_even_for_the_right_password(organization):
    with tenant_context(organization):
        StaffUserFactory(email="owner@example.com")

    wrong = [staff_sign_in(organization, "wrong", ip=f"10.2.0.{n}") for n in range(3)]
    right_after = staff_sign_in(organization, "correct horse battery", ip="10.2.1.1")

    assert all(r.status_code == 200 and "correct email" in r.content.decode().lower() for r in wrong)
    assert right_after.status_code == 200
    assert "Too many failed sign-ins" in right_after.content.decode()
    assert "_auth_user_id" not in right_after.wsgi_request.session


def test_a_right_password_before_the_limit_signs_in(organization):
    with tenant_context(organization):
        StaffUserFactory(email="owner@example.com")
    staff_sign_in(organization, "wrong")
    staff_sign_in(organization, "wrong")

    response = staff_sign_in(organization, "correct horse battery")

    assert (response.status_code, response["Location"]) == (302, "/admin/")


def test_staff_logins_are_counted_per_organization(organization, other_organization):
    for org in (organization, other_organization):
        with tenant_context(org):
            StaffUserFactory(email="owner@example.com")
    for _ in range(3):
        staff_sign_in(organization, "wrong")

    assert "Too many failed sign-ins" in staff_sign_in(organization, "correct horse battery").content.decode()
    assert staff_sign_in(other_organization, "correct horse battery").status_code == 302


def test_operators_admin_is_limited_too(platform_client, django_user_model):
    django_user_model.objects.create_superuser(email="op@example.com", password="operator pass 1")
    client = HostClient(None, REMOTE_ADDR="10.3.0.1")
    for _ in range(3):
        client.post("/admin/login/?next=/admin/", {"username": "op@example.com", "password": "wrong"})

    response = client.post(
        "/admin/login/?next=/admin/", {"username": "op@example.com", "password": "operator pass 1"}
    )

    assert "Too many failed sign-ins" in response.content.decode()


def test_a_forged_forwarded_for_is_ignored_without_trusted_proxies(organization, programs, mailoutbox):
    statuses = [
        HostClient(organization, REMOTE_ADDR="10.4.0.1", HTTP_X_FORWARDED_FOR=f"192.0.2.{n}")
        .post("/me/login", {"email": f"f{n}@example.com"})
        .status_code
        for n in range(6)
    ]
    assert statuses == [200, 200, 200, 200, 200, 429]  # one IP: the connection's


def test_behind_one_proxy_the_address_it_saw_counts_not_what_the_client_claims(
    organization, programs, mailoutbox, settings
):
    settings.TRUSTED_PROXY_HOPS = 1

    def ask(claimed: str, seen_by_proxy: str) -> int:
        client = HostClient(
            organization, REMOTE_ADDR="10.0.0.254", HTTP_X_FORWARDED_FOR=f"{claimed}, {seen_by_proxy}"
        )
        return client.post("/me/login", {"email": f"{uuid.uuid4().hex}@example.com"}).status_code

    same_client = [ask(f"198.51.100.{n}", "203.0.113.9") for n in range(6)]
    another_client = ask("198.51.100.1", "203.0.113.10")

    assert same_client == [200, 200, 200, 200, 200, 429]
    assert another_client == 200
