from celery import shared_task
from tenant_schemas_celery.task import TenantTask

from loyalty_platform.pos_api.idempotency import idempotency_purge


@shared_task(base=TenantTask, ignore_result=True)
def purge_idempotency_records() -> int:
    """Runs in one organization's schema (sent there by dispatch_to_organizations)."""
    return idempotency_purge()
