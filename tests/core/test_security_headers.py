"""The Content-Security-Policy header on every surface: API, admin, profile, API docs."""

import re

import pytest

from tests.identification.test_qr_sessions import signed_in
from tests.pos_fixtures import create_customer

POLICY_WITHOUT_WEBSOCKET = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:"],
    "worker-src": ["'self'"],
    "manifest-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
}


def policy_of(response) -> dict[str, list[str]]:
    """The header's directives, with a nonce shown as NONCE (it differs on every response)."""
    header = re.sub(r"'nonce-[A-Za-z0-9+/=]{24}'", "NONCE", response.headers["Content-Security-Policy"])
    directives = (part.split() for part in header.split(";"))
    return {directive[0]: directive[1:] for directive in directives if directive}


# The admin portals' theme evaluates Alpine.js attributes and writes inline styles (0027).
ADMIN_POLICY = {"script-src": ["'self'", "'unsafe-eval'"], "style-src": ["'self'", "'unsafe-inline'"]}


def expected_policy(host: str, nonce: bool = False, admin: bool = False) -> dict[str, list[str]]:
    style = {"style-src": ["'self'", "NONCE"]} if nonce else {}
    return {
        **POLICY_WITHOUT_WEBSOCKET,
        "connect-src": ["'self'", f"ws://{host}"],
        **style,
        **(ADMIN_POLICY if admin else {}),
    }


def test_the_pos_api_carries_the_policy(organization, programs, pos):
    customer = create_customer(organization)

    response = pos.get("/webhook/customer", {"code": customer.customer_code})

    assert response.status_code == 200
    assert policy_of(response) == expected_policy("test-a.localhost")


@pytest.mark.parametrize(
    ("path", "nonce", "admin"),
    [
        ("/admin/login/", False, True),
        ("/me/login", True, False),
        ("/", True, False),
        ("/api/docs/", False, False),
        ("/api/docs/?script=", False, False),
    ],
)
def test_the_organizations_pages_carry_the_policy(client_a, path, nonce, admin):
    # The admin's policy stays on its own paths, whatever was served before.
    client_a.get("/admin/login/")

    response = client_a.get(path)

    assert response.status_code == 200
    # Only pages that use the nonce (the brand colour) put one into the header.
    assert policy_of(response) == expected_policy("test-a.localhost", nonce=nonce, admin=admin)


@pytest.mark.parametrize(
    ("path", "admin"),
    [("/admin/login/", True), ("/api/docs/", False), ("/api/schema/", False), ("/healthz", False)],
)
def test_the_platform_hosts_pages_carry_the_policy(platform_client, path, admin):
    platform_client.get("/admin/login/")

    response = platform_client.get(path)

    assert response.status_code == 200
    assert policy_of(response) == expected_policy("localhost", admin=admin)


def test_a_secure_request_allows_the_secure_websocket_only(client_a):
    response = client_a.get("/me/login", secure=True)

    assert policy_of(response)["connect-src"] == ["'self'", "wss://test-a.localhost"]


def test_the_profiles_brand_style_carries_the_nonce_of_its_own_response(organization, programs):
    client = signed_in(organization, create_customer(organization, points=5))

    first, second = client.get("/me/"), client.get("/me/")

    nonces = []
    for response in (first, second):
        header = response.headers["Content-Security-Policy"]
        # django-csp orders directives differently from one process to the next.
        nonce = re.search(r"(?:^|; )style-src 'self' 'nonce-([A-Za-z0-9+/=]{24})'(?:;|$)", header).group(1)
        assert (
            f'<style nonce="{nonce}">:root {{ --brand: #1f6f5c; --brand-ink: #ffffff; }}</style>'
            in response.content.decode()
        )
        nonces.append(nonce)
    assert nonces[0] != nonces[1]


def test_the_swagger_page_has_no_inline_script_or_style(platform_client):
    page = platform_client.get("/api/docs/").content.decode()

    assert re.findall(r"<script[^>]*>", page) == [
        '<script src="/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js">',
        '<script src="/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-standalone-preset.js">',
        '<script src="/api/docs/?script=">',
    ]
    assert "<style" not in page
    script = platform_client.get("/api/docs/?script=")
    assert script.headers["Content-Type"] == "application/javascript"
    assert 'url: "/api/schema/"' in script.content.decode()
