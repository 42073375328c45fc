"""Shared steps of the sign-up tests: a valid form, posting it, the link from the email."""

import re

from django.core import mail
from django.test import TestCase

from tests.conftest import HostClient

PASSWORD = "a-long-owner-password"
LINK = re.compile(r"http://localhost:8000/signup/verify/(?P<token>[A-Za-z0-9_-]+)")


def form(**overrides) -> dict:
    data = {
        "name": "Café Luna",
        "slug": "cafe-luna",
        "email": "owner@luna.example",
        "password": PASSWORD,
        "country": "LT",
        "terms": "on",
        "timezone": "",
        "website": "",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def post_signup(client: HostClient, ip: str = "10.0.0.1", **overrides):
    # The email leaves on commit; the test's transaction never commits, so run it here.
    with TestCase.captureOnCommitCallbacks(execute=True):
        return client.post("/signup", form(**overrides), REMOTE_ADDR=ip)


def post_resend(client: HostClient, email: str, ip: str = "10.0.0.1"):
    with TestCase.captureOnCommitCallbacks(execute=True):
        return client.post("/signup/resend", {"email": email}, REMOTE_ADDR=ip)


def token_from_last_email() -> str:
    match = LINK.search(mail.outbox[-1].body)
    assert match, mail.outbox[-1].body
    return match["token"]
