"""Host names of the platform itself and of organizations under it."""

import re

from django.conf import settings

HOSTNAME_PATTERN = re.compile(
    r"^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$"
)


def is_valid_hostname(hostname: str) -> bool:
    return bool(HOSTNAME_PATTERN.match(hostname))


def platform_hostname() -> str:
    return settings.PLATFORM_HOST.split(":")[0].lower()


def platform_port_suffix() -> str:
    _, _, port = settings.PLATFORM_HOST.partition(":")
    return f":{port}" if port else ""


def platform_hostnames() -> frozenset[str]:
    return frozenset({platform_hostname(), "127.0.0.1", *settings.PLATFORM_EXTRA_HOSTNAMES})


def organization_hostname(slug: str) -> str:
    return f"{slug}.{platform_hostname()}"


def base_url(hostname: str) -> str:
    return f"{settings.PLATFORM_SCHEME}://{hostname}{platform_port_suffix()}"


def platform_base_url() -> str:
    return f"{settings.PLATFORM_SCHEME}://{settings.PLATFORM_HOST}"
