"""Where a webhook may go outside development (webhooks.addresses): https only, and every
address the host resolves to public. IP literals resolve without DNS."""

import pytest

from loyalty_platform.webhooks.addresses import target_for, url_problem


@pytest.fixture
def production(settings):
    settings.WEBHOOK_REQUIRE_HTTPS = True
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",  # cloud metadata
        "100.64.0.1",  # shared address space
        "0.0.0.0",  # noqa: S104 (a URL that must be refused)
        "192.0.0.8",
        "224.0.0.1",
        "[::1]",
        "[fe80::1]",
        "[fc00::1]",
        "[fec0::1]",
        "[::ffff:127.0.0.1]",
        "[::a9fe:a9fe]",  # IPv4-compatible 169.254.169.254
        "[64:ff9b::a9fe:a9fe]",  # NAT64 of 169.254.169.254
        "[64:ff9b:1::a00:1]",
        "[2002:a9fe:a9fe::1]",  # 6to4
        "[ff02::1]",
    ],
)
def test_private_and_translated_addresses_are_refused(production, address):
    assert url_problem(f"https://{address}/hook") == "address_refused"


@pytest.mark.parametrize("address", ["8.8.8.8", "[2001:4860:4860::8888]"])
def test_public_addresses_are_allowed(production, address):
    assert url_problem(f"https://{address}/hook") is None


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("http://8.8.8.8/hook", "https_required"),
        ("ftp://8.8.8.8/hook", "url_invalid"),
        ("https://user:pw@8.8.8.8/", "url_invalid"),
        ("https://8.8.8.8:99999/", "url_invalid"),
        ("https:///nohost", "url_invalid"),
        ("https://no-such-host.invalid/", "host_unresolvable"),
    ],
)
def test_bad_urls_are_refused_with_their_reason(production, url, code):
    assert url_problem(url) == code


def test_the_target_keeps_the_host_name_the_port_and_the_path(settings):
    target = target_for("http://127.0.0.1:8081/in?x=1")
    assert (target.scheme, target.host, target.port, target.address, target.path) == (
        "http",
        "127.0.0.1",
        8081,
        "127.0.0.1",
        "/in?x=1",
    )
