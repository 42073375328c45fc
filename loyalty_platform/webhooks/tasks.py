from celery import shared_task
from tenant_schemas_celery.task import TenantTask

from loyalty_platform.core.faults import SERVICE_FAULTS
from loyalty_platform.core.jobs import JOB_MAX_RETRIES, JOB_RETRY_BACKOFF_MAX, scheduled_job
from loyalty_platform.webhooks.delivery import deliveries_deliver


@scheduled_job
def deliver_webhooks() -> dict[str, int]:
    """Every minute by beat, in each organization: retries that fell due and anything a lost
    queueing left. Its status and summary are kept as any scheduled job's."""
    return deliveries_deliver()


@shared_task(
    base=TenantTask,
    name="loyalty_platform.webhooks.tasks.send_webhooks",
    ignore_result=True,
    autoretry_for=SERVICE_FAULTS,
    retry_backoff=True,
    retry_backoff_max=JOB_RETRY_BACKOFF_MAX,
    max_retries=JOB_MAX_RETRIES,
)
def send_webhooks() -> None:
    """Queued after a commit that recorded events (webhooks.delivery.deliveries_kick). Not a
    scheduled job: it runs after nearly every change while endpoints listen, and a status row
    and an INFO line per run would drown the log; disabled endpoints still log a WARNING."""
    deliveries_deliver()
