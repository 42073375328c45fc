from loyalty_platform.core.jobs import scheduled_job
from loyalty_platform.programs.expiry import points_expire
from loyalty_platform.programs.warnings import points_expiry_warn


@scheduled_job
def expire_points() -> dict:
    """Points whose lot (or, for inactivity, card) expired, one entry per card (hourly)."""
    return points_expire().summary()


@scheduled_job
def warn_points_expiry() -> dict:
    """Emails before points expire, once per card and batch of lots (hourly); when the
    minute's email budget runs out, the rest goes in the next minute."""
    run = points_expiry_warn()
    if run.retry_in is not None:
        warn_points_expiry.apply_async(countdown=run.retry_in)
    return run.summary()
