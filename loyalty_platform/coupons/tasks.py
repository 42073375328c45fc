from loyalty_platform.core.jobs import scheduled_job
from loyalty_platform.coupons.services import coupons_expire


@scheduled_job
def expire_coupons() -> dict:
    """Active coupons past their `expires_at` become expired (beat: every 15 minutes, in
    each organization's schema)."""
    return {"expired": coupons_expire()}
