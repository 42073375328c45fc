"""The points expiry warning in the customer's language (decision 0058), its counts and days
written that language's way (decision 0059)."""

import re
from datetime import timedelta

import pytest
from django_tenants.utils import tenant_context

from loyalty_platform.customers.models import Customer
from tests.pos_fixtures import create_customer
from tests.programs.test_expiry_warnings import NOW, earn_expiring, expiring, run_at


@pytest.fixture
def point_program(organization, programs):
    with tenant_context(organization):
        return expiring(programs["point"])


def test_a_lithuanian_customer_gets_the_warning_in_lithuanian_with_lithuanian_days_and_counts(
    organization, point_program, mailoutbox
):
    ona = create_customer(organization, email="ona@example.com")
    with tenant_context(organization):
        Customer.objects.filter(pk=ona.pk).update(name="<b>Ona</b> & Co", language="lt")
        earn_expiring(ona, 1250, expires_at=NOW + timedelta(days=3))
        earn_expiring(ona, 30, expires_at=NOW + timedelta(days=5))

        run = run_at(NOW)

    assert run.summary() == {"cards": 1, "emails": 1, "not_emailed": 0, "failed": 0}
    (message,) = mailoutbox
    assert message.subject == "Test Org A: 1\xa0280 taškų galiojimas baigiasi 2026 m. birželio 4 d."
    assert message.body.startswith(
        "Sveiki, <b>Ona</b> & Co,\n"
        "\n"
        "Test Org A: netrukus baigsis jūsų 1\xa0280 taškų galiojimas. Panaudokite juos iki tol:\n"
        "\n"
        "  2026 m. birželio 4 d.: 1\xa0250 taškų\n"
        "  2026 m. birželio 6 d.: 30 taškų\n"
    )
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html"
    assert re.search(r'<html lang="([^"]+)">', html).group(1) == "lt"
    assert "Sveiki, &lt;b&gt;Ona&lt;/b&gt; &amp; Co," in html
    assert "<b>Ona</b>" not in html
    assert ">2026 m. birželio 4 d.</th>" in html


def test_without_a_choice_of_their_own_the_customer_gets_the_organizations_language(
    organization, point_program, mailoutbox
):
    organization.language = "nb"
    organization.save(update_fields=["language"])
    per = create_customer(organization, email="per@example.com")
    with tenant_context(organization):
        earn_expiring(per, 5, expires_at=NOW + timedelta(days=3))

        run_at(NOW)

    (message,) = mailoutbox
    html = message.alternatives[0][0]
    assert re.search(r'<html lang="([^"]+)">', html).group(1) == "nb"
    assert message.body.startswith("Hei,\n")
