from loyalty_platform.core.jobs import scheduled_job
from loyalty_platform.tiers.services import tiers_recalculate_all


@scheduled_job
def recalculate_tiers() -> dict[str, int]:
    """Daily per organization: every customer's tier from the trailing period, written in
    batches; a rerun writes the same tiers again."""
    return {"customers": tiers_recalculate_all()}
