from loyalty_platform.core.jobs import scheduled_job
from loyalty_platform.pos_api.idempotency import idempotency_purge


@scheduled_job
def purge_idempotency_records() -> dict[str, int]:
    """Runs in one organization's schema (sent there by dispatch_to_organizations): the
    records older than IDEMPOTENCY_KEEP_DAYS; a rerun finds none of them left."""
    return {"purged": idempotency_purge()}
