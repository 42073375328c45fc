"""The sign-up's confirmation email in the language the visitor's sign-up page was in
(decision 0058), for the first link and a link sent again."""

import re

from django.core import mail
from django.test import TestCase

from tests.signup.helpers import form


def _post(client, path: str, data: dict, language: str):
    with TestCase.captureOnCommitCallbacks(execute=True):
        return client.post(path, data, REMOTE_ADDR="10.0.0.1", HTTP_ACCEPT_LANGUAGE=language)


def test_a_visitor_on_the_dutch_page_gets_the_link_in_dutch_with_the_business_name_escaped(platform_client):
    response = _post(platform_client, "/signup", form(name="<b>Café</b> & Luna"), "nl-NL,nl;q=0.9")

    assert response.status_code == 200
    (message,) = mail.outbox
    assert message.subject == "Bevestig je e-mailadres om <b>Café</b> & Luna aan te maken"
    lines = message.body.splitlines()
    assert lines[:3] == [
        "Hallo,",
        "",
        "iemand (hopelijk jij) heeft zich met dit e-mailadres geregistreerd bij het loyaltyplatform, voor "
        '"<b>Café</b> & Luna" op cafe-luna.localhost:8000.',
    ]
    assert "Open binnen 24 uur deze link en bevestig om de organisatie aan te maken:" in lines
    assert re.fullmatch(r"http://localhost:8000/signup/verify/[A-Za-z0-9_-]+", lines[6])
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html"
    assert re.search(r'<html lang="([^"]+)">', html).group(1) == "nl"
    assert '"&lt;b&gt;Café&lt;/b&gt; &amp; Luna"' in html and "<b>Café</b>" not in html
    assert f'<br><a href="{lines[6]}">{lines[6]}</a><br>' in html


def test_a_link_sent_again_from_the_lithuanian_page_is_in_lithuanian(platform_client):
    _post(platform_client, "/signup", form(), "en")
    _post(platform_client, "/signup/resend", {"email": "owner@luna.example"}, "lt")

    first, again = mail.outbox
    assert first.subject == "Confirm your email to create Café Luna"
    assert again.subject == "Patvirtinkite el. paštą, kad sukurtumėte Café Luna"
    assert re.search(r'<html lang="([^"]+)">', again.alternatives[0][0]).group(1) == "lt"
