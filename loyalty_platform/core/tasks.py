from celery import shared_task
from django.core.cache import caches
from django.db import connection
from django.utils import timezone
from tenant_schemas_celery.task import TenantTask

from loyalty_platform.core.jobs import scheduled_job
from loyalty_platform.core.retention import expired_records_purge
from tenants.models import Organization

HEARTBEAT_KEY = "celery:heartbeat"


def heartbeat_key(schema_name: str) -> str:
    return f"{HEARTBEAT_KEY}:{schema_name}"


@shared_task(base=TenantTask, ignore_result=True)
def heartbeat() -> None:
    """Records when the worker last ran a task in this schema; beat sends it to the public
    schema every 30 s and /healthz reports it."""
    caches["platform"].set(heartbeat_key(connection.schema_name), timezone.now().isoformat(), timeout=300)


@shared_task(base=TenantTask, ignore_result=True)
def dispatch_to_organizations(task_name: str) -> int:
    """Runs in the public schema (from beat) and sends `task_name` once per active
    organization; each copy runs inside that organization's schema."""
    from django_tenants.utils import tenant_context

    from loyalty_platform.celery import app

    count = 0
    for organization in Organization.objects.filter(is_active=True).only("id", "schema_name"):
        with tenant_context(organization):
            app.send_task(task_name)
        count += 1
    return count


@scheduled_job
def purge_expired_records() -> dict[str, int]:
    """Hourly in each organization's schema: PIN challenges, sign-in links, QR card sessions,
    invitations, receipt claims and Redis leftovers past their retention (core.retention)."""
    return expired_records_purge(schema_name=connection.schema_name)
