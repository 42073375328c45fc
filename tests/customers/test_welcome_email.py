"""The welcome email of a customer enrolled at a till with their email: both parts, the sign-in
link in them, sent after commit by Celery, never for a rolled-back enrollment."""

import re

import pytest
from django.db import transaction
from django_tenants.utils import tenant_context

from loyalty_platform.celery import app as celery_app
from loyalty_platform.customers.login import login_link_consume
from loyalty_platform.customers.models import Customer
from loyalty_platform.customers.services import customer_enroll, customer_erase
from loyalty_platform.customers.welcome import welcome_email_send
from tests.pos_fixtures import tasks_run

LINK = re.compile(r"http://test-a\.localhost:8000/me/login/([A-Za-z0-9_-]+)")


def test_a_till_enrollment_with_an_email_sends_the_welcome_with_a_sign_in_link(
    organization, programs, pos, mailoutbox, django_capture_on_commit_callbacks
):
    with tasks_run(django_capture_on_commit_callbacks):
        response = pos.post(
            "/webhook/customer",
            {"email": "Anna@Example.com", "name": "Anna", "consent_terms": True, "consent_privacy": True},
        )

    assert response.status_code == 200
    assert len(mailoutbox) == 1
    email = mailoutbox[0]
    assert (email.to, email.subject) == (["anna@example.com"], "Welcome to Test Org A's loyalty program")
    token = LINK.search(email.body).group(1)
    assert email.body == (
        "Hello Anna,\n\n"
        "Welcome to Test Org A's loyalty program: you joined at the till. Your card, points, stamps "
        "and coupons are in your profile:\n\n"
        f"http://test-a.localhost:8000/me/login/{token}\n\n"
        "This link signs you in once and works for 15 minutes. Afterwards, sign in from the "
        "profile's page with your email address.\n"
        "If you did not join, ignore this email.\n\n"
        "Terms: http://test-a.localhost:8000/terms\n"
        "Privacy policy: http://test-a.localhost:8000/privacy\n"
    )
    [(html, mimetype)] = email.alternatives
    assert mimetype == "text/html"
    assert '<html lang="en">' in html
    assert f'<a href="http://test-a.localhost:8000/me/login/{token}"' in html
    assert "Hello Anna," in html and "Open my profile" in html
    assert '<a href="http://test-a.localhost:8000/terms">Terms</a>' in html
    assert '<a href="http://test-a.localhost:8000/privacy">Privacy policy</a>' in html
    assert "Welcome to Test Org A's loyalty program: you joined at the till." in html
    # The link signs the customer in, once.
    with tenant_context(organization):
        assert login_link_consume(token=token).customer.email == "anna@example.com"


def test_without_a_name_the_welcome_greets_plainly(organization, mailoutbox):
    with tenant_context(organization):
        customer, _ = customer_enroll(email="b@example.com", consent_terms=True, consent_privacy=True)
        assert welcome_email_send(customer_id=customer.pk) is True
    assert mailoutbox[0].body.startswith("Hello,\n\nWelcome to Test Org A")
    assert "<p>Hello,</p>" in mailoutbox[0].alternatives[0][0]


def test_an_existing_customer_enrolled_again_gets_no_welcome(
    organization, programs, pos, mailoutbox, django_capture_on_commit_callbacks
):
    body = {"email": "c@example.com", "consent_terms": True, "consent_privacy": True}
    with tenant_context(organization):
        customer_enroll(**body, source="profile")

    with tasks_run(django_capture_on_commit_callbacks):
        response = pos.post("/webhook/customer", body)

    assert response.json()["data"]["is_new"] is False
    assert mailoutbox == []


@pytest.mark.parametrize("source", ["profile", "import"])
def test_other_enrollments_send_no_welcome(organization, source, django_capture_on_commit_callbacks):
    with tenant_context(organization), django_capture_on_commit_callbacks(execute=False) as callbacks:
        customer_enroll(email="d@example.com", consent_terms=True, consent_privacy=True, source=source)

    assert callbacks == []


def test_a_rolled_back_enrollment_sends_nothing(organization, mailoutbox, django_capture_on_commit_callbacks):
    class Abort(Exception):
        pass

    celery_app.conf.task_always_eager = True
    try:
        with (
            tenant_context(organization),
            django_capture_on_commit_callbacks(execute=True) as callbacks,
            pytest.raises(Abort),
            transaction.atomic(),
        ):
            customer_enroll(email="e@example.com", consent_terms=True, consent_privacy=True)
            raise Abort
    finally:
        celery_app.conf.task_always_eager = False

    assert callbacks == []
    assert mailoutbox == []
    with tenant_context(organization):
        assert not Customer.objects.filter(email="e@example.com").exists()


def test_a_refused_enrollment_sends_nothing(
    organization, programs, pos, mailoutbox, django_capture_on_commit_callbacks
):
    with tasks_run(django_capture_on_commit_callbacks):
        response = pos.post("/webhook/customer", {"email": "f@example.com", "consent_terms": True})

    assert (response.status_code, response.json()) == (422, {"error": "consent_privacy_required"})
    assert mailoutbox == []


def test_no_welcome_for_a_customer_erased_before_the_task_ran(organization, mailoutbox):
    with tenant_context(organization):
        customer, _ = customer_enroll(email="g@example.com", consent_terms=True, consent_privacy=True)
        customer_erase(customer=customer)

        assert welcome_email_send(customer_id=customer.pk) is False
    assert mailoutbox == []


def test_the_welcome_of_another_organizations_customer_is_not_sent_here(
    organization, other_organization, mailoutbox
):
    with tenant_context(organization):
        customer, _ = customer_enroll(email="h@example.com", consent_terms=True, consent_privacy=True)
    with tenant_context(other_organization):
        assert welcome_email_send(customer_id=customer.pk) is False
    assert mailoutbox == []
