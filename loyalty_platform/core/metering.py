"""Usage counters in Redis, per organization (schema) and UTC day: API calls (counted in the
POS API's rate-limit round trip) and messages (core.mail.CountingBackend). tenants.usage
moves them into the database's UsageDay rows every few minutes.

Like the rate limits, counting fails open: with Redis unreachable a call or an email is not
counted, and nothing is refused for it."""

from datetime import UTC, date

from django.utils import timezone

from loyalty_platform.core import redis as lp_redis

METRICS = ("api_calls", "messages")
# A counter the flush has not emptied for this long is dropped by Redis (beat stopped for more
# than a week); the flush takes every day this keeps (tenants.usage.FLUSH_DAYS).
KEEP_SECONDS = 8 * 24 * 3600


def usage_day(now=None) -> date:
    """Today in UTC, the day usage is counted for."""
    return (now or timezone.now()).astimezone(UTC).date()


def usage_key(schema_name: str, day: date, metric: str) -> str:
    if metric not in METRICS:
        raise ValueError(metric)
    return lp_redis.key("usage", schema_name, day.isoformat(), metric)


def usage_add(*, schema_name: str, metric: str, amount: int = 1) -> None:
    """Add `amount` to the organization's counter of today (one round trip)."""
    key = usage_key(schema_name, usage_day(), metric)

    def add() -> None:
        pipeline = lp_redis.client().pipeline(transaction=True)
        pipeline.incrby(key, amount)
        pipeline.expire(key, KEEP_SECONDS)
        pipeline.execute()

    lp_redis.fail_open("usage counter", add, None)
