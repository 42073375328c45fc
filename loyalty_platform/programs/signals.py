from django.core.cache import cache
from django.db import connection, transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django_tenants.utils import schema_context

from loyalty_platform.programs.models import Program
from loyalty_platform.programs.selectors import ACTIVE_PROGRAMS_CACHE_KEY


def _forget_active_programs(schema_name: str) -> None:
    # Cache keys carry the current schema, which may differ by the time on_commit runs.
    with schema_context(schema_name):
        cache.delete(ACTIVE_PROGRAMS_CACHE_KEY)


@receiver(post_save, sender=Program)
@receiver(post_delete, sender=Program)
def _program_changed(sender, instance: Program, **kwargs) -> None:
    schema_name = connection.schema_name
    _forget_active_programs(schema_name)
    transaction.on_commit(lambda: _forget_active_programs(schema_name))
