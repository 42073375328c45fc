from celery import shared_task
from tenant_schemas_celery.task import TenantTask

from loyalty_platform.reports.services import rollups_rebuild

# Nightly, the two days before today: yesterday, and the day before for entries whose
# transaction committed after midnight had passed.
NIGHTLY_DAYS = 2


@shared_task(base=TenantTask, ignore_result=True)
def build_daily_rollups(days: int = NIGHTLY_DAYS) -> int:
    """Rebuild the rollups of the organization's last `days` finished days (in the schema the
    task was sent from). Safe to rerun: each day is replaced, never added to."""
    return len(rollups_rebuild(days=days))
