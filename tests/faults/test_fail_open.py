"""The fail-open pieces on their own, against a closed loopback port (nothing listens)."""

import logging

import pytest
import redis
from django.test import override_settings

from loyalty_platform.core import faults
from loyalty_platform.core import redis as lp_redis
from loyalty_platform.core.redis import RedisCache
from tests.processes import free_port


@pytest.fixture(autouse=True)
def _own_outage_state(monkeypatch):
    """A failure here must not make the rest of the suite skip Redis for a second."""
    monkeypatch.setattr(lp_redis, "outage", lp_redis._Outage())
    monkeypatch.setattr(faults, "_log_throttle", faults._LogThrottle())


@pytest.fixture
def closed_redis_url() -> str:
    return f"redis://127.0.0.1:{free_port()}/0"


@pytest.fixture
def redis_client_on(closed_redis_url):
    lp_redis.client.cache_clear()
    lp_redis._window_incr_script.cache_clear()
    with override_settings(REDIS_URL=closed_redis_url):
        yield
    lp_redis.client.cache_clear()
    lp_redis._window_incr_script.cache_clear()


def test_window_counter_fails_open_when_redis_is_unreachable(redis_client_on):
    assert lp_redis.window_incr(lp_redis.key("ratelimit", "org_x", "k", "g"), 60) == (0, 60_000)


def test_cache_reads_miss_and_writes_are_skipped_but_deletes_raise(closed_redis_url):
    cache = RedisCache(closed_redis_url, {})

    assert cache.get("k", "default") == "default"
    assert cache.get_many(["a", "b"]) == {}
    assert cache.has_key("k") is False
    assert cache.set("k", 1) is None
    assert cache.add("k", 1) is False
    assert cache.set_many({"a": 1}) == ["a"]
    assert cache.get_or_set("k", 7) == 7
    # A copy that cannot be forgotten would be served stale once Redis is back.
    with pytest.raises(redis.ConnectionError):
        cache.delete("k")


def test_after_a_failure_redis_is_left_alone_for_a_moment(closed_redis_url, caplog, monkeypatch):
    cache = RedisCache(closed_redis_url, {})
    monkeypatch.setattr(faults, "LOG_EVERY_SECONDS", 0.0)

    with caplog.at_level(logging.WARNING, logger="loyalty_platform.core.faults"):
        assert cache.get("k") is None
        assert cache.get("k") is None

    assert [record.getMessage().split(": ")[1] for record in caplog.records] == [
        "ConnectionError",
        "RedisSkipped",
    ]


def test_warnings_are_rate_limited_and_count_what_they_left_out(caplog, monkeypatch):
    error = redis.ConnectionError("refused")

    with caplog.at_level(logging.WARNING, logger="loyalty_platform.core.faults"):
        for _ in range(100):
            faults.warn_degraded("cache read", error)
        faults.warn_degraded("rate-limit counter", error)
        monkeypatch.setattr(faults, "LOG_EVERY_SECONDS", 0.0)
        faults.warn_degraded("cache read", error)

    suffix = "failed, going on without it: ConnectionError: refused"
    assert [record.getMessage() for record in caplog.records] == [
        f"cache read {suffix} (0 more since the last warning)",
        f"rate-limit counter {suffix} (0 more since the last warning)",
        f"cache read {suffix} (99 more since the last warning)",
    ]
