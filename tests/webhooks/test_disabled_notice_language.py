"""The webhook endpoint disabled notice in the organization's language and time zone: its
staff have no language of their own (decision 0058)."""

import re
from datetime import UTC, datetime

from django.core import mail

from loyalty_platform.accounts import roles
from loyalty_platform.accounts.services import staff_user_create
from loyalty_platform.webhooks.models import WebhookEndpoint
from loyalty_platform.webhooks.notifications import endpoint_disabled_notify


def test_a_lithuanian_organizations_owners_are_told_in_lithuanian_with_its_text_escaped(in_organization):
    organization = in_organization
    organization.language = "lt"
    organization.timezone = "Europe/Vilnius"
    organization.name = "<b>Kava</b> & Co"
    staff_user_create(email="owner@hooks.example", password=None, role=roles.OWNER)
    endpoint = WebhookEndpoint.objects.create(
        url="https://hooks.example/in",
        event_types=["*"],
        description="<script>alert(1)</script>",
        is_enabled=False,
        failing_since=datetime(2026, 5, 1, 9, 0, tzinfo=UTC),
        disabled_at=datetime(2026, 5, 4, 9, 0, tzinfo=UTC),
        disabled_reason="failing_too_long",
    )

    assert endpoint_disabled_notify(organization=organization, endpoint_id=endpoint.pk) is True

    (message,) = mail.outbox
    assert message.to == ["owner@hooks.example"]
    assert message.subject == "<b>Kava</b> & Co webhook galinis taškas buvo išjungtas"
    lines = message.body.splitlines()
    assert lines[0] == "Sveiki,"
    assert lines[2] == (
        "Visi pristatymai į <b>Kava</b> & Co webhook galinį tašką https://hooks.example/in nepavyksta nuo "
        "2026 m. gegužės 1 d., 12:00 (Europe/Vilnius), daugiau nei 3 dienas, todėl jis buvo išjungtas "
        "2026 m. gegužės 4 d., 12:00 (Europe/Vilnius)."
    )
    assert "Aprašymas: <script>alert(1)</script>" in lines
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html"
    assert re.search(r'<html lang="([^"]+)">', html).group(1) == "lt"
    assert "&lt;b&gt;Kava&lt;/b&gt; &amp; Co" in html and "<b>Kava</b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>" not in html
