from celery import shared_task
from tenant_schemas_celery.task import TenantTask

from tenants.limits import current_organization
from tenants.usage import usage_flush, usage_measure


@shared_task(base=TenantTask, ignore_result=True)
def flush_usage() -> int:
    """Beat, in the public schema, every few minutes: the usage counters into UsageDay."""
    return usage_flush()


@shared_task(base=TenantTask, ignore_result=True)
def measure_usage() -> None:
    """Once a day per organization (core.tasks.dispatch_to_organizations), in its schema."""
    usage_measure(organization=current_organization())
