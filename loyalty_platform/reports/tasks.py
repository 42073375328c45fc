from loyalty_platform.core.jobs import scheduled_job
from loyalty_platform.reports.services import rollups_rebuild

# Nightly, the two days before today: yesterday, and the day before for entries whose
# transaction committed after midnight had passed.
NIGHTLY_DAYS = 2


@scheduled_job
def build_daily_rollups(days: int = NIGHTLY_DAYS) -> dict[str, int]:
    """Rebuild the rollups of the organization's last `days` finished days (in the schema the
    task was sent from). Safe to rerun: each day is replaced, never added to."""
    return {"days": len(rollups_rebuild(days=days))}
