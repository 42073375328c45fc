"""Production mode (DEBUG=false) in a process of its own: `check --deploy` is clean, HTTP is
redirected to HTTPS except the load balancers' probes, HTTPS answers carry HSTS."""

import json
import os
import re
import secrets
import subprocess
import sys

import pytest
from django.conf import settings

from loyalty_platform.embedded import BASE_DIR

# Requests made with Django's test client inside a production-mode process; prints what came back.
PROBE = """
import json, django
django.setup()
from django.test import Client
answers = {}
OTHER_HEADERS = ("X-Content-Type-Options", "Referrer-Policy", "X-Frame-Options", "Cross-Origin-Opener-Policy")
for name, host, path, secure in [
    ("http_admin", "localhost", "/admin/login/?next=/admin/", False),
    ("http_healthz", "localhost", "/healthz", False),
    ("http_ping", "localhost", "/ping", False),
    ("https_admin", "localhost", "/admin/login/", True),
    ("http_malformed_host", "bad host;", "/admin/", False),
]:
    client = Client(HTTP_HOST=host)
    response = client.get(path, headers={"X-Forwarded-Proto": "https"} if secure else {})
    answers[name] = {
        "status": response.status_code,
        "location": response.headers.get("Location"),
        "hsts": response.headers.get("Strict-Transport-Security"),
        "csp": response.headers.get("Content-Security-Policy"),
        "others": [response.headers.get(name) for name in OTHER_HEADERS],
    }
print(json.dumps(answers))
"""


def production_environment(**extra: str) -> dict[str, str]:
    database = settings.DATABASES["default"]
    # The test database on the embedded server (a socket directory as libpq's host).
    url = f"postgres://{database['USER']}@:{database['PORT']}/{database['NAME']}?host={database['HOST']}"
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("SECURE_", "CSP_"))
        # The browser tests' switch would fail the deploy check (async.E001).
        and key not in ("DEBUG", "DATABASE_NAME", "DJANGO_ALLOW_ASYNC_UNSAFE")
    }
    environment.update(
        DJANGO_SETTINGS_MODULE="loyalty_platform.settings",
        DEBUG="false",
        DATABASE_URL=url,
        REDIS_URL=settings.REDIS_URL,
        REDIS_NAMESPACE=settings.REDIS_NAMESPACE,
        SECRET_KEY=secrets.token_urlsafe(50),
        PLATFORM_HOST="localhost",
        **extra,
    )
    return environment


def run(args: list[str], **extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args],
        cwd=BASE_DIR,
        env=production_environment(**extra),
        capture_output=True,
        text=True,
        timeout=120,
    )


def probe(**extra: str) -> dict:
    result = run(["-c", PROBE], **extra)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])


def test_check_deploy_reports_no_issue():
    result = run(["manage.py", "check", "--deploy"])

    assert result.returncode == 0, result.stderr
    issues = re.findall(r"^\S*: \((\S+)\)", result.stderr + result.stdout, flags=re.MULTILINE)
    assert issues == []


def test_check_deploy_warns_when_webhooks_may_reach_internal_hosts():
    result = run(
        ["manage.py", "check", "--deploy"],
        WEBHOOK_REQUIRE_HTTPS="false",
        WEBHOOK_ALLOW_PRIVATE_ADDRESSES="true",
    )

    issues = re.findall(r"^\S*: \((\S+)\)", result.stderr + result.stdout, flags=re.MULTILINE)
    assert issues == ["webhooks.W001", "webhooks.W002"]


@pytest.mark.usefixtures("committed_db")
def test_production_redirects_http_except_the_probes_and_sends_hsts():
    answers = probe()

    redirect = answers["http_admin"]
    assert {key: redirect[key] for key in ("status", "location", "hsts", "csp")} == {
        "status": 301,
        "location": "https://localhost/admin/login/?next=/admin/",
        "hsts": None,  # only sent over HTTPS, where the browser can trust it
        "csp": None,
    }
    assert (answers["http_healthz"]["status"], answers["http_healthz"]["location"]) == (200, None)
    assert (answers["http_ping"]["status"], answers["http_ping"]["location"]) == (200, None)
    # A malformed host gets the tenant look-up's quiet 404, not the redirect's logged 400.
    assert (answers["http_malformed_host"]["status"], answers["http_malformed_host"]["location"]) == (
        404,
        None,
    )
    secure = answers["https_admin"]
    assert (secure["status"], secure["location"]) == (200, None)
    assert secure["hsts"] == "max-age=31536000; includeSubDomains"
    # django-csp orders directives differently from one process to the next.
    assert "connect-src 'self' wss://localhost" in secure["csp"].split("; ")
    # Django's defaults, kept: no MIME sniffing, no referrer to other sites, no framing.
    assert secure["others"] == ["nosniff", "same-origin", "DENY", "same-origin"]


@pytest.mark.usefixtures("committed_db")
def test_a_self_hoster_behind_a_redirecting_proxy_can_switch_redirect_and_hsts_off():
    answers = probe(SECURE_SSL_REDIRECT="false", SECURE_HSTS_SECONDS="0")

    assert (answers["http_admin"]["status"], answers["http_admin"]["location"]) == (200, None)
    assert answers["https_admin"]["hsts"] is None
