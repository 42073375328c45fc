"""The giftcard email in its recipient's language (decision 0058): a customer's own when the
address is one of this organization's customers, else the organization's."""

import re
from datetime import UTC, datetime

from django_tenants.utils import tenant_context

from loyalty_platform.customers.models import Customer
from loyalty_platform.stored_value.emails import giftcard_email_send
from tests.pos_fixtures import create_customer
from tests.stored_value.test_giftcards_api import new_card


def html_language(html: str) -> str:
    return re.search(r'<html lang="([^"]+)">', html).group(1)


def test_a_recipient_who_is_a_lithuanian_customer_gets_it_in_lithuanian_with_the_senders_text_escaped(
    organization, other_organization, mailoutbox
):
    customer = create_customer(organization, email="ona@example.com")
    with tenant_context(organization):
        Customer.objects.filter(pk=customer.pk).update(language="lt")
    # The same address is another organization's customer in Dutch: not this one's.
    other = create_customer(other_organization, email="ona@example.com")
    with tenant_context(other_organization):
        Customer.objects.filter(pk=other.pk).update(language="nl")
    card = new_card(
        organization,
        kind="digital",
        balance="1250.50",
        recipient_email="Ona@Example.com",
        recipient_name="Ona",
        sender_name="<b>Al</b> & Co",
        message="<script>alert(1)</script>",
        expires_at=datetime(2027, 3, 31, 21, 30, tzinfo=UTC),
    )
    with tenant_context(organization):
        giftcard_email_send(giftcard_id=card.pk)

    (message,) = mailoutbox
    assert message.subject == "Dovanų kortelė nuo <b>Al</b> & Co"
    assert message.to == ["Ona@Example.com"]
    lines = message.body.splitlines()
    assert lines[0] == "Sveiki, Ona,"
    assert lines[2] == "<b>Al</b> & Co atsiuntė Jums 1\xa0250,50 EUR vertės Test Org A dovanų kortelę."
    assert '"<script>alert(1)</script>"' in lines
    assert f"Jūsų dovanų kortelės kodas: {card.code}" in lines
    assert "Parodykite jį kasoje arba šiame laiške esantį QR kodą." in lines
    # The profile's words, without a full stop of their own: Lithuanian days end in "d.".
    assert lines[-2:] == ["Galioja iki 2027 m. kovo 31 d.", ""]
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html"
    assert html_language(html) == "lt"
    assert "&lt;b&gt;Al&lt;/b&gt; &amp; Co" in html and "<b>Al</b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>" not in html
    assert "Test Org A dovanų kortelė" in html


def test_a_recipient_who_is_no_customer_gets_it_in_the_organizations_language(organization, mailoutbox):
    organization.language = "nl"
    organization.save(update_fields=["language"])
    card = new_card(organization, kind="digital", balance="25", recipient_email="nobody@example.com")
    with tenant_context(organization):
        giftcard_email_send(giftcard_id=card.pk)

    (message,) = mailoutbox
    assert message.body.splitlines()[0] == "Hallo,"
    assert "25,00 EUR" in message.body
    assert html_language(message.alternatives[0][0]) == "nl"
