"""POST /signup: a valid form stores a pending sign-up and emails its link; bad input,
the honeypot and the rate limits store and send nothing."""

import pytest
from django.contrib.auth.hashers import check_password
from django.core import mail

from tenants.models import Organization, SignupRequest
from tests.signup.helpers import PASSWORD, post_resend, post_signup, token_from_last_email


def test_the_sign_up_page_has_the_form_and_no_inline_script(platform_client):
    response = platform_client.get("/signup")

    assert response.status_code == 200
    page = response.content.decode()
    for field in ("name", "slug", "email", "password", "country", "terms", "sample_data", "website"):
        assert f'name="{field}"' in page
    assert '<option value="LT">Lithuania</option>' in page
    assert 'id="id_sample_data">' in page  # unticked
    assert "<script>" not in page
    assert 'src="/static/js/signup.js"' in page


def test_a_valid_sign_up_stores_a_pending_request_and_emails_its_link(platform_client):
    organizations = Organization.objects.count()

    response = post_signup(platform_client, timezone="Europe/Vilnius")

    assert response.status_code == 200
    assert b'data-code="signup_sent"' in response.content
    signup = SignupRequest.objects.get()
    assert (signup.name, signup.slug, signup.email, signup.country, signup.timezone, signup.sample_data) == (
        "Café Luna",
        "cafe-luna",
        "owner@luna.example",
        "LT",
        "Europe/Vilnius",
        False,
    )
    assert signup.password_hash != PASSWORD
    assert check_password(PASSWORD, signup.password_hash)
    assert signup.verified_at is None and signup.organization is None
    assert (signup.expires_at - signup.created_at).total_seconds() == 24 * 3600
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["owner@luna.example"]
    token = token_from_last_email()
    assert token not in signup.token_hash
    # Nothing of the organization exists before the link is confirmed.
    assert Organization.objects.count() == organizations


def test_the_address_is_stored_lower_case_and_the_email_domain_too(platform_client):
    post_signup(platform_client, slug=" Cafe-Luna ", email="Owner@LUNA.Example")

    signup = SignupRequest.objects.get()
    assert (signup.slug, signup.email) == ("cafe-luna", "Owner@luna.example")


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "x" * 121}, "name"),
        ({"slug": ""}, "slug"),
        ({"slug": "admin"}, "slug"),
        ({"slug": "test-a"}, "slug"),
        ({"slug": "ab"}, "slug"),
        ({"slug": "café"}, "slug"),
        ({"email": "not-an-email"}, "email"),
        ({"password": "short"}, "password"),
        ({"password": "password123"}, "password"),  # a common password
        ({"country": "XX"}, "country"),
        ({"country": ""}, "country"),
        ({"terms": None}, "terms"),
    ],
)
def test_bad_input_is_a_400_and_stores_and_sends_nothing(platform_client, overrides, field):
    response = post_signup(platform_client, **overrides)

    assert response.status_code == 400
    assert f'id="{field}-error"'.encode() in response.content
    assert SignupRequest.objects.count() == 0
    assert mail.outbox == []


def test_a_filled_honeypot_looks_like_success_and_does_nothing(platform_client):
    honest = post_signup(platform_client, email="a@luna.example", ip="10.0.0.7")
    robot = post_signup(platform_client, email="b@luna.example", website="http://spam.example")

    assert robot.status_code == honest.status_code == 200
    assert b'data-code="signup_sent"' in robot.content
    assert b"We sent a link to b@luna.example" in robot.content
    assert list(SignupRequest.objects.values_list("email", flat=True)) == ["a@luna.example"]
    assert [message.to for message in mail.outbox] == [["a@luna.example"]]


def test_sign_ups_are_limited_per_ip(platform_client, settings):
    settings.ABUSE_LIMITS = {**settings.ABUSE_LIMITS, "signup_ip": (3, 3600)}

    answers = [
        post_signup(platform_client, ip="10.1.1.1", email=f"owner@shop{index}.example", slug=f"shop-{index}")
        for index in range(4)
    ]
    other_ip = post_signup(platform_client, ip="10.1.1.2", email="owner@shop9.example", slug="shop-9")

    assert [answer.status_code for answer in answers] == [200, 200, 200, 429]
    assert 0 < int(answers[-1]["Retry-After"]) <= 3600
    assert b'data-code="rate_limited"' in answers[-1].content
    assert other_ip.status_code == 200
    assert sorted(SignupRequest.objects.values_list("slug", flat=True)) == [
        "shop-0",
        "shop-1",
        "shop-2",
        "shop-9",
    ]
    assert len(mail.outbox) == 4


def test_sign_ups_are_limited_per_email_domain(platform_client, settings):
    settings.ABUSE_LIMITS = {**settings.ABUSE_LIMITS, "signup_email_domain": (2, 3600)}

    answers = [
        post_signup(
            platform_client, ip=f"10.2.0.{index}", email=f"owner{index}@Same.example", slug=f"same-{index}"
        )
        for index in range(3)
    ]
    other_domain = post_signup(platform_client, ip="10.2.0.9", email="owner@other.example", slug="other-1")

    assert [answer.status_code for answer in answers] == [200, 200, 429]
    assert "Retry-After" in answers[-1]
    assert other_domain.status_code == 200
    assert sorted(SignupRequest.objects.values_list("slug", flat=True)) == ["other-1", "same-0", "same-1"]
    assert len(mail.outbox) == 3


def test_the_default_limit_allows_five_sign_ups_an_hour_from_one_ip(platform_client, settings):
    assert settings.ABUSE_LIMITS["signup_ip"] == (5, 3600)
    answers = [
        post_signup(platform_client, ip="10.3.3.3", email=f"o@d{index}.example", slug=f"five-{index}")
        for index in range(6)
    ]

    assert [answer.status_code for answer in answers] == [200] * 5 + [429]
    assert SignupRequest.objects.count() == 5


def test_a_robot_filling_the_honeypot_is_limited_too(platform_client, settings):
    settings.ABUSE_LIMITS = {**settings.ABUSE_LIMITS, "signup_ip": (1, 3600)}

    first = post_signup(platform_client, ip="10.4.4.4", website="x")
    second = post_signup(platform_client, ip="10.4.4.4", website="x")

    assert (first.status_code, second.status_code) == (200, 429)
    assert SignupRequest.objects.count() == 0


def test_resending_gives_a_new_link_and_the_old_one_stops_working(platform_client):
    post_signup(platform_client)
    first_token = token_from_last_email()

    response = post_resend(platform_client, "owner@luna.example", ip="10.0.0.2")

    assert response.status_code == 200
    assert len(mail.outbox) == 2
    second_token = token_from_last_email()
    assert second_token != first_token
    assert platform_client.get(f"/signup/verify/{first_token}").status_code == 404
    assert platform_client.get(f"/signup/verify/{second_token}").status_code == 200
    assert SignupRequest.objects.count() == 1


def test_resending_to_an_address_without_a_sign_up_says_the_same_and_sends_nothing(platform_client):
    response = post_resend(platform_client, "nobody@luna.example")

    assert response.status_code == 200
    assert b'data-code="signup_sent"' in response.content
    assert mail.outbox == []


def test_resending_counts_in_the_same_limits(platform_client, settings):
    settings.ABUSE_LIMITS = {**settings.ABUSE_LIMITS, "signup_ip": (2, 3600)}
    post_signup(platform_client, ip="10.5.5.5")

    answers = [post_resend(platform_client, "owner@luna.example", ip="10.5.5.5") for _ in range(2)]

    assert [answer.status_code for answer in answers] == [200, 429]
    assert len(mail.outbox) == 2


def test_resend_without_an_email_is_a_400(platform_client):
    response = post_resend(platform_client, "")

    assert response.status_code == 400
    assert b'data-code="email_invalid"' in response.content
