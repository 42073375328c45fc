import math

from django.conf import settings
from django.db import connection
from rest_framework.throttling import BaseThrottle

from loyalty_platform.core import local_cache, metering
from loyalty_platform.core import redis as lp_redis
from loyalty_platform.pos_api.authentication import authentication_recheck
from loyalty_platform.realtime import publish

WINDOW_SECONDS = 60


def rate_limit_for(*, group: str, organization, api_key) -> int:
    for overrides in (api_key.rate_limits, organization.rate_limits):
        value = (overrides or {}).get(group)
        if isinstance(value, int) and value > 0:
            return value
    return settings.POS_RATE_LIMITS[group]


class ApiKeyRateThrottle(BaseThrottle):
    """Requests per minute per API key and endpoint group, counted atomically in Redis.

    The same round trip reads the platform's cache invalidation value: when another
    process changed a key, a subscription, a program..., this process's cached copies are
    dropped and the request's key and subscription checked again before it goes on
    (docs/decisions/0021-in-process-caches.md). It also counts the live subscriptions to
    the organization's customers, so that the call's events skip Redis when there are none
    (realtime.publish)."""

    def allow_request(self, request, view) -> bool:
        group = getattr(view, "rate_limit_group", None)
        if group is None or request.auth is None:
            return True
        read_at = local_cache.clock()
        schema_name = connection.schema_name
        count, ttl_ms, generation, listening = lp_redis.window_incr_reading(
            lp_redis.key("ratelimit", schema_name, request.auth.lookup_id, group),
            WINDOW_SECONDS,
            local_cache.generation_key(),
            *publish.listening_count_args(schema_name),
            # The organization's API calls of the day (usage metering), in the same round trip.
            usage_key=metering.usage_key(schema_name, metering.usage_day(), "api_calls"),
            usage_seconds=metering.KEEP_SECONDS,
        )
        publish.listeners_seen(schema_name, listening)
        if generation is lp_redis.NOT_READ:
            local_cache.lost_sight()
        elif local_cache.observe(generation, read_at=read_at):
            authentication_recheck(request, view)
        limit = rate_limit_for(group=group, organization=request._request.organization, api_key=request.auth)
        self.wait_seconds = math.ceil(ttl_ms / 1000)
        return count <= limit

    def wait(self) -> float:
        return self.wait_seconds
