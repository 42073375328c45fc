from celery import shared_task
from tenant_schemas_celery.task import TenantTask

from loyalty_platform.campaigns import triggers


@shared_task(base=TenantTask, ignore_result=True)
def campaigns_tick() -> int:
    """Open and close the organization's campaign runs and hand out what is due (runner)."""
    return 0


@shared_task(base=TenantTask, ignore_result=True)
def campaign_triggers_daily() -> int:
    """Birthday and win-back triggers (hourly; each looks at the organization's local day)."""
    return triggers.triggers_daily()


@shared_task(base=TenantTask, ignore_result=True)
def campaign_welcome(customer_id: int) -> int:
    """A customer enrolled while a welcome campaign runs (campaigns.events)."""
    return triggers.trigger_welcome(customer_id=customer_id)


@shared_task(base=TenantTask, ignore_result=True)
def campaign_purchase(customer_id: int, external_id: str) -> int:
    """A purchase while a milestone or referral campaign runs (campaigns.events)."""
    return triggers.trigger_purchase(customer_id=customer_id, external_id=external_id)
