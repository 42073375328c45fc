"""The staff invitation in the organization's language, whatever the inviting owner's page
was in: staff have no language of their own (decision 0058)."""

import re

from django.utils import translation

from loyalty_platform.accounts import roles
from loyalty_platform.accounts.services import staff_invite, staff_user_create


def test_an_invitation_from_an_english_page_is_in_the_organizations_lithuanian_with_its_name_escaped(
    in_organization, mailoutbox, django_capture_on_commit_callbacks
):
    organization = in_organization
    organization.language = "lt"
    organization.name = "<b>Kava</b> & Co"
    owner = staff_user_create(email="owner@kava.example", password=None, role=roles.OWNER)

    with translation.override("en"), django_capture_on_commit_callbacks(execute=True):
        url = staff_invite(
            organization=organization, email="New@Kava.example", role=roles.MANAGER, invited_by=owner
        )

    (message,) = mailoutbox
    assert message.to == ["new@kava.example"]
    assert message.subject == "Esate pakviesti į <b>Kava</b> & Co lojalumo programos administravimą"
    lines = message.body.splitlines()
    assert lines[:5] == [
        "Sveiki,",
        "",
        "esate pakviesti į <b>Kava</b> & Co lojalumo programos administravimą (pakvietė owner@kava.example), "
        "vaidmuo \u2013 Vadybininkas.",
        "",
        "Nustatykite slaptažodį šia nuoroda:",
    ]
    assert url in lines
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html"
    assert re.search(r'<html lang="([^"]+)">', html).group(1) == "lt"
    assert "&lt;b&gt;Kava&lt;/b&gt; &amp; Co" in html and "<b>Kava</b>" not in html
    assert f'<a href="{url}">' in html
    assert "Nustatykite slaptažodį šia nuoroda:" in html
