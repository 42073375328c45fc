from loyalty_platform.core.jobs import scheduled_job
from loyalty_platform.programs.expiry import points_expire


@scheduled_job
def expire_points() -> dict:
    """Points whose lot (or, for inactivity, card) expired, one entry per card (hourly)."""
    return points_expire().summary()
