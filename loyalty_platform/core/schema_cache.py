"""Per-schema cached reads of small configuration tables (active programs, tiers, earning
rules): a copy in this process in front of a shared copy in Redis (docs/decisions/
0021-in-process-caches.md), forgotten when a row changes, now and again once it commits."""

from collections.abc import Callable
from typing import TypeVar

from django.core.cache import cache
from django.db import connection, transaction
from django.db.models.signals import post_delete, post_save
from django_tenants.utils import schema_context

from loyalty_platform.core.local_cache import LocalCache, announce_change

T = TypeVar("T")

_SHARED_SECONDS = 300
_local = LocalCache("schema configuration")


def schema_cached(key: str, load: Callable[[], T]) -> T:
    """`load()` for the current schema, cached. The shared cache's key function adds the
    schema to `key`; the local copy is keyed by (schema, key), since ids repeat across
    schemas."""

    def shared() -> T:
        value = cache.get(key)
        if value is None:
            value = load()
            cache.set(key, value, _SHARED_SECONDS)
        return value

    return _local.get_or_load((connection.schema_name, key), shared)


def _forget(schema_name: str, key: str) -> None:
    _local.forget([(schema_name, key)])
    # Cache keys carry the current schema, which may differ by the time on_commit runs.
    with schema_context(schema_name):
        cache.delete(key)
    announce_change()


def forget_on_change(model, key: str) -> None:
    def changed(sender, instance, **kwargs) -> None:
        schema_name = connection.schema_name
        _forget(schema_name, key)
        transaction.on_commit(lambda: _forget(schema_name, key))

    uid = f"schema-cache:{model._meta.label}:{key}"
    post_save.connect(changed, sender=model, weak=False, dispatch_uid=uid)
    post_delete.connect(changed, sender=model, weak=False, dispatch_uid=uid)
