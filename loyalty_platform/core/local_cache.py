"""Process-local copies of small look-ups every request makes (host → organization, API key,
subscription, active programs, tiers), so a warm request makes no round trip for them.
docs/decisions/0021-in-process-caches.md says why and how they stay fresh:

- in this process a change forgets its entries at once (signals call `forget`);
- other processes learn of a change from the platform's invalidation value in Redis, which
  every change sets anew (`announce_change`) and which the POS rate-limit script reads on
  each call (`observe`): a changed value clears every local entry;
- an entry nothing confirmed for LOCAL_CACHE_SECONDS is loaded again, which bounds staleness
  where no POS call reads that value (pages, Celery) or while Redis is unreachable; any
  entry is loaded again after MAX_AGE_SECONDS.

Values are shared by every thread of the process: callers treat them as read-only."""

import secrets
import threading
import time
from collections.abc import Callable, Hashable
from typing import TypeVar

from django.conf import settings

from loyalty_platform.core import redis as lp_redis

T = TypeVar("T")

# An attacker can make up host names and key ids; each cache keeps at most this many entries.
MAX_ENTRIES = 10_000
# However often confirmed, an entry is loaded again after this long, as the shared copies
# expire: changes made without signals (QuerySet.update()) are announced by nothing.
MAX_AGE_SECONDS = 300

_clock = time.monotonic


def clock() -> float:
    """The time these caches go by (time.monotonic())."""
    return _clock()


def generation_key() -> str:
    return lp_redis.key("cache-generation")


class _State:
    """What every local cache of the process shares."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        # Moves on every forget or clear, so a load that raced one is not stored.
        self.generation = 0
        # The value as last read from Redis; a fresh process has read nothing.
        self.remote: object = _State
        # clock() of the last read that confirmed no change since.
        self.confirmed_at = float("-inf")


_state = _State()
_caches: list["LocalCache"] = []


class LocalCache:
    def __init__(self, name: str) -> None:
        self.name = name
        self._entries: dict[Hashable, tuple[float, object]] = {}
        _caches.append(self)

    def get_or_load(self, key: Hashable, load: Callable[[], T]) -> T:
        now = _clock()
        entry = self._entries.get(key)
        if (
            entry is not None
            and now - entry[0] < MAX_AGE_SECONDS
            and now - max(entry[0], _state.confirmed_at) < settings.LOCAL_CACHE_SECONDS
        ):
            return entry[1]
        generation = _state.generation
        value = load()
        with _state.lock:
            if _state.generation == generation:
                if len(self._entries) >= MAX_ENTRIES:
                    self._entries.pop(next(iter(self._entries)), None)
                self._entries[key] = (now, value)
        return value

    def forget(self, keys: list[Hashable]) -> None:
        with _state.lock:
            _state.generation += 1
            for key in keys:
                self._entries.pop(key, None)

    def __len__(self) -> int:
        return len(self._entries)


def clear_all() -> None:
    """Forget every entry and the value last read from Redis (the next read is a baseline)."""
    with _state.lock:
        _state.generation += 1
        _state.remote = _State
        _state.confirmed_at = float("-inf")
        for local_cache in _caches:
            local_cache._entries.clear()


def observe(remote: bytes | None, *, read_at: float) -> bool:
    """The invalidation value as Redis held it at some moment after `read_at`
    (clock() before the read was sent). True when it changed, i.e. another process
    changed something these caches may hold: they are cleared then."""
    with _state.lock:
        if _state.remote is _State:
            # The first read gives the baseline; what was cached before it is confirmed by
            # nothing and expires after LOCAL_CACHE_SECONDS.
            _state.remote = remote
            return False
        changed = remote != _state.remote
        if changed:
            _state.generation += 1
            _state.remote = remote
            for local_cache in _caches:
                local_cache._entries.clear()
        else:
            _state.confirmed_at = max(_state.confirmed_at, read_at)
    return changed


_UNSEEN = object()


def lost_sight() -> None:
    """A read of the value failed: changes made meanwhile may go unseen (one whose
    announcement failed after its commit), so the next value read counts as a change and
    clears the caches, which then fill from the database and the shared cache again."""
    with _state.lock:
        if _state.remote is not _State:
            _state.remote = _UNSEEN


def announce_change() -> None:
    """Tell the other processes that something cached changed: a new random value, so that
    no sequence of changes (or Redis losing its data) brings back a value a process saw.
    Raises when Redis is unreachable, like a shared cache delete does (core.redis.RedisCache):
    a change that cannot be announced would be served stale."""
    lp_redis.client().set(generation_key(), secrets.token_hex(8))


def changed_elsewhere() -> bool:
    """Before refusing a request on a cached answer (unknown host or key, lapsed
    subscription), which ends it before the rate limit would read the announced value: read
    it now, one round trip on refusals only. True when it changed (every cache was cleared,
    so look up again); False too when Redis is unreachable."""
    read_at = clock()
    remote = lp_redis.fail_open(
        "cache invalidation read", lambda: lp_redis.client().get(generation_key()), lp_redis.NOT_READ
    )
    if remote is lp_redis.NOT_READ:
        lost_sight()
        return False
    return observe(remote, read_at=read_at)
