"""Abuse limits on attempts that cost us or someone else something: sign-in emails, wrong API
keys, wrong staff passwords. Fixed windows counted in Redis, keyed by the organization's schema
and what is limited (an address digest, a client IP, a user name).

Redis trouble never locks anyone out: counting fails open (core.redis.window_incr) and so does
the read-only check here."""

import hashlib
import math
from dataclasses import dataclass

from django.conf import settings
from django.db import connection
from django.http import HttpRequest

from loyalty_platform.core import redis as lp_redis


@dataclass(frozen=True)
class Limit:
    name: str
    attempts: int
    window_seconds: int


def limit(name: str) -> Limit:
    attempts, window_seconds = settings.ABUSE_LIMITS[name]
    return Limit(name=name, attempts=attempts, window_seconds=window_seconds)


def client_ip(request: HttpRequest) -> str:
    """The caller's address: REMOTE_ADDR, or, behind TRUSTED_PROXY_HOPS proxies that each
    append to X-Forwarded-For, the address the outermost of them saw."""
    hops = settings.TRUSTED_PROXY_HOPS
    if hops:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        if len(forwarded) >= hops and forwarded[-hops]:
            return forwarded[-hops][:64]
    return request.META.get("REMOTE_ADDR", "")[:64]


def digest(value: str) -> str:
    """For personal data (an email address) in a key: never store it in clear in Redis."""
    return hashlib.sha256(value.strip().lower().encode()).hexdigest()[:32]


def _key(rule: Limit, subject: str) -> str:
    return lp_redis.key("abuse", connection.schema_name, rule.name, subject)


def attempt(rule: Limit, subject: str) -> int | None:
    """Count an attempt; the seconds to wait when it is over the limit, else None."""
    count, ttl_ms = lp_redis.window_incr(_key(rule, subject), rule.window_seconds)
    if count > rule.attempts:
        return max(1, math.ceil(ttl_ms / 1000))
    return None


def blocked_for(rule: Limit, subject: str) -> int | None:
    """Without counting: the seconds to wait when `subject` has used up its attempts."""

    def read() -> tuple[bytes | None, int]:
        with lp_redis.client().pipeline(transaction=False) as pipe:
            return tuple(pipe.get(_key(rule, subject)).pttl(_key(rule, subject)).execute())

    count, ttl_ms = lp_redis.fail_open(f"abuse limit {rule.name}", read, (None, 0))
    if count is not None and int(count) >= rule.attempts and ttl_ms > 0:
        return max(1, math.ceil(ttl_ms / 1000))
    return None
