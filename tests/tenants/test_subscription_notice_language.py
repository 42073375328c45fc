"""The subscription notice in the organization's language and time zone: its owners have no
language of their own (decision 0058)."""

import re
from datetime import UTC, datetime, timedelta

from tenants.models import Organization
from tests.tenants.test_subscription_notices import _mails_to, _run_at, _subscription, owners  # noqa: F401


def test_a_norwegian_organizations_owners_hear_in_norwegian_with_its_name_escaped(
    organization,
    owners,  # noqa: F811
    mailoutbox,
):
    Organization.objects.filter(pk=organization.pk).update(
        language="nb", timezone="Europe/Oslo", name="<b>Kaffe</b> & Co"
    )
    ends_at = datetime(2027, 1, 15, 11, 0, tzinfo=UTC)
    _subscription(organization, ends_at=ends_at)

    _run_at(ends_at - timedelta(days=7))

    (message,) = _mails_to(owners)
    assert (
        message.subject
        == "Abonnementet for <b>Kaffe</b> & Co slutter den 15. januar 2027 12:00 (Europe/Oslo)"
    )
    lines = message.body.splitlines()
    assert lines[0] == "Hei,"
    assert lines[2] == (
        "Abonnementet for <b>Kaffe</b> & Co (Standard) slutter den 15. januar 2027 12:00 (Europe/Oslo), "
        "om 7 dager, og ikke noe annet abonnement følger etter."
    )
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html"
    assert re.search(r'<html lang="([^"]+)">', html).group(1) == "nb"
    assert "&lt;b&gt;Kaffe&lt;/b&gt; &amp; Co" in html and "<b>Kaffe</b>" not in html
