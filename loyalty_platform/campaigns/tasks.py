from celery import shared_task
from tenant_schemas_celery.task import TenantTask


@shared_task(base=TenantTask, ignore_result=True)
def campaigns_tick() -> int:
    """Open and close the organization's campaign runs and hand out what is due (runner)."""
    return 0


@shared_task(base=TenantTask, ignore_result=True)
def campaign_triggers_daily() -> int:
    """Birthday and win-back triggers (campaigns.triggers)."""
    return 0
