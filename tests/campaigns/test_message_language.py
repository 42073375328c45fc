"""A campaign's email in the customer's language (decision 0058): the merchant's subject and
body as written, the chrome around them (voucher line, why they get it, unsubscribe)
translated, the unsubscribe link and its RFC 8058 headers unchanged; the boosts' texts."""

import re
from decimal import Decimal

from django.core import mail
from django.utils import timezone, translation
from django_tenants.utils import tenant_context

from loyalty_platform.campaigns import runner
from loyalty_platform.campaigns.boosts import boost_text
from loyalty_platform.campaigns.models import CampaignAction
from loyalty_platform.customers.models import Customer
from loyalty_platform.vouchers.models import Promotion
from tests.campaigns.runner_fixtures import make_action, make_campaign
from tests.pos_fixtures import create_customer


def test_a_lithuanian_customer_gets_the_merchants_words_as_written_in_a_lithuanian_frame(
    organization, programs
):
    customer = create_customer(organization, points=12)
    with tenant_context(organization):
        Customer.objects.filter(pk=customer.pk).update(
            consent_marketing_at=timezone.now(), name="<b>Ona</b> & Co", language="lt"
        )
        promotion = Promotion.objects.create(title="Cookie")
        campaign = make_campaign(status="running")
        make_action(
            campaign, "message", subject="Hello {name}", body="Dear {name}, you have {points} points."
        )
        make_action(campaign, "grant_voucher", promotion=promotion)
        (run_id,) = runner.tick()
        runner.run_work(run_id)
        code = customer.vouchers.get().code

    (email,) = mail.outbox
    assert email.subject == "Hello <b>Ona</b> & Co"
    unsubscribe = email.extra_headers["List-Unsubscribe"]
    url = unsubscribe[1:-1]
    assert re.fullmatch(r"<http://test-a\.localhost:8000/unsubscribe/[^>\s]+>", unsubscribe)
    assert email.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert email.body == (
        "Dear <b>Ona</b> & Co, you have 12 points.\n"
        "\n"
        f"Jūsų talono kodas: {code}\n"
        "\n"
        "--\n"
        "Gaunate šį laišką, nes sutikote gauti Test Org A naujienas.\n"
        f"Atsisakyti prenumeratos: {url}\n\n"
    )
    html, mimetype = email.alternatives[0]
    assert mimetype == "text/html"
    assert re.search(r'<html lang="([^"]+)">', html).group(1) == "lt"
    assert 'lang="en"' not in html
    assert "<p>Dear &lt;b&gt;Ona&lt;/b&gt; &amp; Co, you have 12 points.</p>" in html
    assert "<b>Ona</b>" not in html
    assert "Jūsų talono kodas: <strong" in html
    assert f'<a href="{url}">Atsisakyti prenumeratos</a>' in html


def _action(**fields) -> CampaignAction:
    return CampaignAction(**fields)


def test_boost_texts_are_translated_and_counted_by_language():
    cases = [
        (
            _action(kind="points_multiplier", multiplier=Decimal("2.00"), applies_to="all"),
            "2x points on everything",
        ),
        (
            _action(
                kind="points_multiplier", multiplier=Decimal("1.5"), applies_to="category", match_values="tea"
            ),
            "1.5x points on tea",
        ),
        (_action(kind="bonus_stamps", stamps=1, applies_to="visit"), "+1 stamp per visit"),
        (_action(kind="bonus_stamps", stamps=3, applies_to="visit"), "+3 stamps per visit"),
        (
            _action(kind="bonus_points", points=1, applies_to="sku", match_values="A1"),
            "+1 point per unit on A1",
        ),
        (
            _action(kind="bonus_points", points=5, applies_to="sku", match_values="A1"),
            "+5 points per unit on A1",
        ),
        (
            _action(kind="bonus_points", points=50, applies_to="visit", minimum_spend=Decimal("20.00")),
            "+50 points per visit (minimum spend 20)",
        ),
        (_action(kind="bonus_points", points=1, applies_to="visit"), "+1 point per visit"),
    ]
    with translation.override("en"):
        assert [boost_text(action) for action, _text in cases] == [text for _action, text in cases]
    # Lithuanian counts in four forms: 1 taškas, 5 taškai, 50 taškų.
    with translation.override("lt"):
        assert [boost_text(action) for action, _text in cases] == [
            "2x taškų už viską",
            "1.5x taškų už: tea",
            "+1 antspaudas už apsilankymą",
            "+3 antspaudai už apsilankymą",
            "+1 taškas už vienetą: A1",
            "+5 taškai už vienetą: A1",
            "+50 taškų už apsilankymą (kai išleidžiama bent 20)",
            "+1 taškas už apsilankymą",
        ]
