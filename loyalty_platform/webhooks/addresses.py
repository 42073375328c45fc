"""Where a webhook may be sent (docs/decisions/0049-outgoing-webhooks.md). Outside development
the URL must be https and every address its host resolves to must be public, so nobody can
make the platform reach its own network: checked when staff save an endpoint and again,
after DNS, on every delivery, which then connects to the address that was checked."""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

from django.conf import settings

# Machine-readable reasons, shown in the portal and written into the delivery log.
URL_INVALID = "url_invalid"
HTTPS_REQUIRED = "https_required"
HOST_UNRESOLVABLE = "host_unresolvable"
ADDRESS_REFUSED = "address_refused"

REASONS = {
    URL_INVALID: "The URL is not an http(s) URL with a host name.",
    HTTPS_REQUIRED: "The URL must start with https://.",
    HOST_UNRESOLVABLE: "The host name does not resolve.",
    ADDRESS_REFUSED: "The host resolves to a private, loopback, link-local or reserved address.",
}


class AddressRefused(Exception):
    def __init__(self, code: str) -> None:
        super().__init__(REASONS[code])
        self.code = code


@dataclass(frozen=True)
class Target:
    """A checked URL: connect to `address`, send `host` (Host header, TLS server name)."""

    scheme: str
    host: str
    port: int
    address: str
    path: str  # path and query, as sent in the request line


def _parts(url: str) -> SplitResult:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises on a port that is not a number or out of range)
    except ValueError as error:
        raise AddressRefused(URL_INVALID) from error
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.username or parts.password:
        raise AddressRefused(URL_INVALID)
    if settings.WEBHOOK_REQUIRE_HTTPS and parts.scheme != "https":
        raise AddressRefused(HTTPS_REQUIRED)
    return parts


# Ranges Python's is_global lets through (3.11) that reach IPv4 hosts by translation or are
# not meant for the internet: NAT64 (well-known and local-use prefixes, which reach any IPv4
# address, the cloud metadata one too), 6to4, IPv4-compatible, site-local, IETF assignments.
REFUSED_NETWORKS = tuple(
    ipaddress.ip_network(network)
    for network in ("64:ff9b::/96", "64:ff9b:1::/48", "2002::/16", "::/96", "fec0::/10", "192.0.0.0/24")
)


def address_allowed(address: str) -> bool:
    if settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES:
        return True
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if any(ip in network for network in REFUSED_NETWORKS if network.version == ip.version):
        return False
    return ip.is_global and not ip.is_multicast


def _resolve(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as error:
        raise AddressRefused(HOST_UNRESOLVABLE) from error
    return list(dict.fromkeys(info[4][0] for info in infos))


def target_for(url: str) -> Target:
    """Check `url` and resolve its host: refused (AddressRefused) unless every address is
    allowed; the first one is the one to connect to."""
    parts = _parts(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    addresses = _resolve(parts.hostname, port)
    if not addresses or not all(address_allowed(address) for address in addresses):
        raise AddressRefused(ADDRESS_REFUSED)
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    return Target(scheme=parts.scheme, host=parts.hostname, port=port, address=addresses[0], path=path)


def url_problem(url: str) -> str | None:
    """The reason code staff see when saving an endpoint, or None when it may be used now."""
    try:
        target_for(url)
    except AddressRefused as refused:
        return refused.code
    return None
