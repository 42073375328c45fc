"""Direct Redis access for atomic counters and short-lived secrets, beside Django's cache.

Redis is a helper here, not a source of truth: with it unreachable, rate-limit counters and
cache reads and writes fail open (see core.faults); only cache deletes, whose loss would
leave stale data behind once Redis is back, still raise."""

import os
import threading
import time
from collections.abc import Callable
from functools import cache, partial
from typing import TypeVar

import redis
from django.conf import settings
from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient

from loyalty_platform.core.faults import REDIS_FAULTS, warn_degraded

# INCR a fixed-window counter and start its window on the first hit, in one atomic step.
# Returns [count, milliseconds left in the window, the value of KEYS[2] if given (else nil),
# the members of the sorted set KEYS[3] scored ARGV[2] or more if given (else nil)]. Given
# KEYS[4], also adds one to that usage counter (core.metering), kept ARGV[3] milliseconds.
_WINDOW_INCR = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
local read = false
if KEYS[2] then read = redis.call('GET', KEYS[2]) end
local members = false
if KEYS[3] then members = redis.call('ZCOUNT', KEYS[3], ARGV[2], '+inf') end
if KEYS[4] then
  if redis.call('INCR', KEYS[4]) == 1 then redis.call('PEXPIRE', KEYS[4], ARGV[3]) end
end
return {count, ttl, read, members}
"""


# redis-py caps a pool at 100 connections by default; a process serving many requests at
# once (worker threads, concurrency tests) shares one pool, so allow more.
POOL_MAX_CONNECTIONS = 1000


@cache
def client() -> redis.Redis:
    return redis.Redis.from_url(
        settings.REDIS_URL, max_connections=POOL_MAX_CONNECTIONS, **settings.REDIS_CLIENT_TIMEOUTS
    )


@cache
def _window_incr_script():
    return client().register_script(_WINDOW_INCR)


class _HeldConnection(threading.local):
    pool: redis.ConnectionPool | None = None
    pid = 0
    connection: redis.connection.AbstractConnection | None = None


_held = _HeldConnection()


def _window_incr_call(keys: list[str], args: list) -> list:
    """The window script on a connection this thread keeps for it: every POS call runs it,
    and redis-py's pool and retry layers cost twice the exchange itself. A kept connection
    that the server closed meanwhile (a restart, an idle timeout) is opened again once; any
    other fault closes it (the next call opens a new one) and reaches fail_open as usual."""
    pool = client().connection_pool
    if _held.pool is not pool or _held.pid != os.getpid():
        _held.pool, _held.pid = pool, os.getpid()
        _held.connection = pool.connection_class(**pool.connection_kwargs)
    connection = _held.connection
    kept = connection._sock is not None
    try:
        return _window_incr_exchange(connection, keys, args)
    except redis.exceptions.ConnectionError:
        connection.disconnect()
        if not kept:
            raise
    # At worst the closed connection's last call was counted and this one is counted again.
    return _window_incr_exchange(connection, keys, args)


def _window_incr_exchange(connection, keys: list[str], args: list) -> list:
    script = _window_incr_script()
    try:
        try:
            connection.send_command("EVALSHA", script.sha, len(keys), *keys, *args)
            return connection.read_response()
        except redis.exceptions.NoScriptError:
            # Redis restarted without its script cache: EVAL loads the script again.
            connection.send_command("EVAL", script.script, len(keys), *keys, *args)
            return connection.read_response()
    except BaseException:
        # Whatever interrupted the exchange, the connection may hold half an answer.
        connection.disconnect()
        raise


def key(*parts: object) -> str:
    """A key in this deployment's namespace; callers put the schema name in `parts`."""
    return ":".join([settings.REDIS_NAMESPACE, *map(str, parts)])


T = TypeVar("T")

# After a failed call this process leaves Redis alone this long for fail-open uses: an
# unreachable host costs one connect timeout per interval, not one per cache read.
SKIP_AFTER_FAILURE_SECONDS = 1.0


class _Outage:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._skip_until = 0.0

    def skipping(self) -> bool:
        return time.monotonic() < self._skip_until

    def failed(self) -> None:
        with self._lock:
            self._skip_until = time.monotonic() + SKIP_AFTER_FAILURE_SECONDS


outage = _Outage()


class RedisSkipped(redis.ConnectionError):
    """Not tried: Redis failed in this process moments ago."""


def fail_open(what: str, call: Callable[[], T], fallback: T) -> T:
    """`call()`, or `fallback` when Redis is unreachable (logged, rate-limited)."""
    if outage.skipping():
        warn_degraded(what, RedisSkipped("skipped after a recent failure"))
        return fallback
    try:
        return call()
    except REDIS_FAULTS as error:
        outage.failed()
        warn_degraded(what, error)
        return fallback


def window_incr(redis_key: str, window_seconds: float) -> tuple[int, int]:
    """Count a hit in a fixed window; returns (hits so far, milliseconds until it resets).
    With Redis unreachable nothing is counted and (0, whole window) comes back: every rate
    limit built on this fails open rather than refusing all calls."""
    count, ttl_ms, _, _ = window_incr_reading(redis_key, window_seconds, None)
    return count, ttl_ms


NOT_READ = object()


def window_incr_reading(
    redis_key: str,
    window_seconds: float,
    read_key: str | None,
    count_key: str | None = None,
    count_since: int = 0,
    usage_key: str | None = None,
    usage_seconds: float = 0,
) -> tuple[int, int, object, int | None]:
    """window_incr, also reading `read_key` and (given read_key) counting the members of the
    sorted set `count_key` scored `count_since` or later, in the same round trip: (hits so
    far, milliseconds until the window resets, the value read or None, the count or None).
    Given `usage_key` (with count_key), the same round trip adds one to that counter, which
    lives `usage_seconds`. With Redis unreachable: (0, whole window, NOT_READ, None), and
    nothing is counted."""
    window_ms = int(window_seconds * 1000)
    keys = [redis_key] if read_key is None else [redis_key, read_key]
    if count_key is not None:
        if read_key is None:
            raise ValueError("count_key is read with a read_key")
        keys.append(count_key)
    args = [window_ms, count_since]
    if usage_key is not None:
        if count_key is None:
            raise ValueError("usage_key is counted with a count_key")
        keys.append(usage_key)
        args.append(int(usage_seconds * 1000))
    count, ttl_ms, *rest = fail_open(
        "rate-limit counter",
        lambda: _window_incr_call(keys, args),
        (0, window_ms, NOT_READ, None),
    )
    read = rest[0] if rest else None
    counted = rest[1] if len(rest) > 1 else None
    return int(count), int(ttl_ms), read, None if counted is None else int(counted)


class SharedConnectionPool(redis.ConnectionPool):
    """Django keeps a cache object per async context, so under ASGI every request would open
    its own Redis connection pool (and a new connection). This pool class hands out one pool
    per URL and options for the whole process; redis-py resets it after a fork."""

    _shared: dict = {}

    @classmethod
    def from_url(cls, url, **kwargs):
        key = (url, tuple(sorted((name, repr(value)) for name, value in kwargs.items())))
        pool = cls._shared.get(key)
        if pool is None:
            kwargs.setdefault("max_connections", POOL_MAX_CONNECTIONS)
            pool = cls._shared.setdefault(key, redis.ConnectionPool.from_url(url, **kwargs))
        return pool


class _ReusedClientRedisCacheClient(RedisCacheClient):
    """Django builds a new redis.Redis object (with its ~170 response callbacks) for every
    cache operation; keep one per pool for the whole process instead. Cache objects
    themselves are per async context, i.e. per request, so the clients live on the class."""

    _clients: dict[int, redis.Redis] = {}  # id of a SharedConnectionPool pool (never freed)

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client_for_pool = self._clients.get(id(pool))
        if client_for_pool is None:
            client_for_pool = self._clients.setdefault(id(pool), self._client(connection_pool=pool))
        return client_for_pool


class RedisCache(DjangoRedisCache):
    """Django's Redis cache with one process-wide connection pool per server and reused
    client objects (see SharedConnectionPool).

    With Redis unreachable, reads miss and writes are skipped (the caller computes the value
    from the database); deletes raise, so a change whose cached copy cannot be forgotten is
    refused instead of being served stale once Redis is back."""

    def __init__(self, server, params):
        params = {
            **params,
            "OPTIONS": {
                "pool_class": SharedConnectionPool,
                **settings.REDIS_CLIENT_TIMEOUTS,
                **params.get("OPTIONS", {}),
            },
        }
        super().__init__(server, params)
        # Django's __init__ sets its own client class on the instance.
        self._class = _ReusedClientRedisCacheClient

    def get(self, key, default=None, version=None):
        return fail_open("cache read", partial(super().get, key, default, version), default)

    def get_many(self, keys, version=None):
        return fail_open("cache read", partial(super().get_many, keys, version), {})

    def has_key(self, key, version=None):
        return fail_open("cache read", partial(super().has_key, key, version), False)

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        fail_open("cache write", partial(super().set, key, value, timeout, version), None)

    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None):
        return fail_open("cache write", partial(super().set_many, data, timeout, version), list(data))

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return fail_open("cache write", partial(super().add, key, value, timeout, version), False)

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        return fail_open("cache write", partial(super().touch, key, timeout, version), False)
