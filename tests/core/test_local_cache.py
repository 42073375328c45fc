"""The in-process cache on its own: how long an entry lives, what confirms it, what clears it."""

import pytest
from django.test import override_settings

from loyalty_platform.core import local_cache
from loyalty_platform.core.local_cache import LocalCache


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(local_cache, "_clock", clock)
    local_cache.clear_all()
    yield clock
    local_cache.clear_all()


class Loads:
    """A loader that counts its calls and returns how many it has made."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self) -> int:
        self.count += 1
        return self.count


@override_settings(LOCAL_CACHE_SECONDS=10)
def test_an_unconfirmed_entry_is_loaded_again_after_local_cache_seconds(clock):
    cache, load = LocalCache("test"), Loads()

    assert cache.get_or_load("k", load) == 1
    clock.now += 9.9
    assert cache.get_or_load("k", load) == 1
    clock.now += 0.1
    assert cache.get_or_load("k", load) == 2


@override_settings(LOCAL_CACHE_SECONDS=10)
def test_reading_an_unchanged_value_confirms_every_entry(clock):
    cache, load = LocalCache("test"), Loads()
    assert local_cache.observe(b"v1", read_at=clock()) is False  # the baseline
    cache.get_or_load("k", load)

    for _ in range(5):
        clock.now += 9
        assert local_cache.observe(b"v1", read_at=clock()) is False

    assert (cache.get_or_load("k", load), load.count) == (1, 1)
    # Changes made without signals announce nothing: however confirmed, entries age out.
    clock.now = 1000.0 + local_cache.MAX_AGE_SECONDS
    local_cache.observe(b"v1", read_at=clock())
    assert cache.get_or_load("k", load) == 2


def test_a_changed_value_clears_every_cache(clock):
    first, second = LocalCache("first"), LocalCache("second")
    local_cache.observe(b"v1", read_at=clock())
    first.get_or_load("k", Loads())
    second.get_or_load(("org_a", "k"), Loads())

    assert local_cache.observe(b"v2", read_at=clock()) is True

    assert (len(first), len(second)) == (0, 0)
    # Redis lost its data: no value at all is a change too.
    first.get_or_load("k", Loads())
    assert local_cache.observe(None, read_at=clock()) is True
    assert len(first) == 0


def test_the_first_value_read_after_a_failed_read_counts_as_a_change(clock):
    """Redis was unreachable: a change whose announcement failed would go unseen."""
    cache = LocalCache("test")
    local_cache.observe(b"v1", read_at=clock())
    cache.get_or_load("k", Loads())

    local_cache.lost_sight()
    assert len(cache) == 1  # still served while Redis is away
    assert local_cache.observe(b"v1", read_at=clock()) is True

    assert len(cache) == 0


def test_the_first_value_read_is_a_baseline_that_clears_nothing(clock):
    cache = LocalCache("test")
    cache.get_or_load("k", Loads())

    assert local_cache.observe(b"v1", read_at=clock()) is False

    assert len(cache) == 1


def test_a_load_that_raced_a_forget_is_not_stored(clock):
    cache = LocalCache("test")

    def load_while_a_change_is_forgotten() -> str:
        cache.forget(["k"])  # another thread's change, committed while this load read the old row
        return "old row"

    assert cache.get_or_load("k", load_while_a_change_is_forgotten) == "old row"
    assert cache.get_or_load("k", lambda: "new row") == "new row"
    assert cache.get_or_load("k", lambda: "not loaded") == "new row"


def test_forget_drops_only_its_keys(clock):
    cache = LocalCache("test")
    cache.get_or_load(("org_a", 1), lambda: "a")
    cache.get_or_load(("org_b", 1), lambda: "b")

    cache.forget([("org_a", 1)])

    assert cache.get_or_load(("org_a", 1), lambda: "a again") == "a again"
    assert cache.get_or_load(("org_b", 1), lambda: "not loaded") == "b"


def test_made_up_keys_cannot_grow_a_cache_without_bound(clock, monkeypatch):
    monkeypatch.setattr(local_cache, "MAX_ENTRIES", 3)
    cache = LocalCache("test")

    for index in range(10):
        cache.get_or_load(f"host-{index}.example", lambda: None)

    assert len(cache) == 3
    assert cache.get_or_load("host-9.example", lambda: "loaded") is None
