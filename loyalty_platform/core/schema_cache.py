"""Per-schema cached reads of small configuration tables (active programs, tiers, earning
rules): forgotten when a row changes, now and again once the change commits."""

from django.core.cache import cache
from django.db import connection, transaction
from django.db.models.signals import post_delete, post_save
from django_tenants.utils import schema_context


def _forget(schema_name: str, key: str) -> None:
    # Cache keys carry the current schema, which may differ by the time on_commit runs.
    with schema_context(schema_name):
        cache.delete(key)


def forget_on_change(model, key: str) -> None:
    def changed(sender, instance, **kwargs) -> None:
        schema_name = connection.schema_name
        _forget(schema_name, key)
        transaction.on_commit(lambda: _forget(schema_name, key))

    uid = f"schema-cache:{model._meta.label}:{key}"
    post_save.connect(changed, sender=model, weak=False, dispatch_uid=uid)
    post_delete.connect(changed, sender=model, weak=False, dispatch_uid=uid)
