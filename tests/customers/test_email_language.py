"""The welcome, sign-in link and till invitation emails in their recipient's language
(decision 0058): the customer's own, else the organization's for someone not a customer yet."""

import re
from datetime import timedelta

from django.utils import timezone
from django_tenants.utils import tenant_context

from loyalty_platform.customers.login import login_link_send
from loyalty_platform.customers.models import Customer
from loyalty_platform.customers.welcome import welcome_email_send
from loyalty_platform.identification.emails import invitation_email_send
from loyalty_platform.identification.models import Invitation
from tests.pos_fixtures import create_customer


def html_language(html: str) -> str:
    return re.search(r'<html lang="([^"]+)">', html).group(1)


def _customer(organization, **fields) -> Customer:
    customer = create_customer(organization)
    with tenant_context(organization):
        Customer.objects.filter(pk=customer.pk).update(**fields)
        customer.refresh_from_db()
    return customer


def test_the_welcome_is_in_the_customers_lithuanian_with_their_name_escaped(organization, mailoutbox):
    customer = _customer(organization, name="<b>Ona</b> & Co", language="lt")
    with tenant_context(organization):
        assert welcome_email_send(customer_id=customer.pk) is True

    (message,) = mailoutbox
    assert message.subject == "Sveiki prisijungę prie Test Org A lojalumo programos"
    lines = message.body.splitlines()
    assert lines[:3] == [
        "Sveiki, <b>Ona</b> & Co,",
        "",
        "Sveiki prisijungę prie Test Org A lojalumo programos: prisiregistravote kasoje. Jūsų kortelė, "
        "taškai, antspaudai ir kuponai \u2013 jūsų profilyje:",
    ]
    assert (
        "Ši nuoroda leidžia prisijungti vieną kartą ir galioja 15 minučių. Vėliau prisijunkite "
        "profilio puslapyje savo el. pašto adresu."
    ) in lines
    html = message.alternatives[0][0]
    assert html_language(html) == "lt"
    assert "Sveiki, &lt;b&gt;Ona&lt;/b&gt; &amp; Co," in html and "<b>Ona</b>" not in html


def test_the_sign_in_link_is_in_the_customers_norwegian_with_their_name_escaped(organization, mailoutbox):
    customer = _customer(organization, name="<b>Per</b> & Co", language="nb")
    with tenant_context(organization):
        url = login_link_send(customer=customer)

    (message,) = mailoutbox
    assert message.subject == "Innloggingslenken din for Test Org A"
    lines = message.body.splitlines()
    assert lines[:3] == [
        "Hei <b>Per</b> & Co,",
        "",
        "Logg inn på lojalitetsprofilen din hos Test Org A med denne lenken:",
    ]
    assert url in lines
    html = message.alternatives[0][0]
    assert html_language(html) == "nb"
    assert "&lt;b&gt;Per&lt;/b&gt; &amp; Co" in html and "<b>Per</b>" not in html


def test_the_till_invitation_is_in_the_organizations_dutch_with_its_name_escaped(in_organization, mailoutbox):
    organization = in_organization
    organization.language = "nl"
    organization.name = "<b>Koffie</b> & Co"
    invitation = Invitation.objects.create(
        email="new@example.com", expires_at=timezone.now() + timedelta(hours=1)
    )

    invitation_email_send(invitation_id=invitation.pk, url="http://test-a.localhost:8000/join/abc")

    (message,) = mailoutbox
    assert message.subject == "Word lid van het spaarprogramma van <b>Koffie</b> & Co"
    lines = message.body.splitlines()
    assert lines[:4] == [
        "Hallo,",
        "",
        "Je bent bij de kassa uitgenodigd om lid te worden van het spaarprogramma van <b>Koffie</b> & Co.",
        "Open deze link om lid te worden:",
    ]
    assert "http://test-a.localhost:8000/join/abc" in lines
    html = message.alternatives[0][0]
    assert html_language(html) == "nl"
    assert "&lt;b&gt;Koffie&lt;/b&gt; &amp; Co" in html and "<b>Koffie</b>" not in html
