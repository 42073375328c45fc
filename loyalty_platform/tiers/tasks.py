from celery import shared_task
from tenant_schemas_celery.task import TenantTask

from loyalty_platform.tiers.services import tiers_recalculate_all


@shared_task(base=TenantTask, ignore_result=True)
def recalculate_tiers() -> int:
    return tiers_recalculate_all()
