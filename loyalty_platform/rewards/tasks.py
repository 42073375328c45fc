from loyalty_platform.core.jobs import scheduled_job
from loyalty_platform.rewards.services import reward_receptions_expire


@scheduled_job
def expire_reward_receptions() -> dict:
    """Rewards bought in advance and not collected within the point program's
    reward_collect_days expire and give their points back (beat: hourly, in each
    organization's schema)."""
    result = reward_receptions_expire()
    return {"expired": result.expired, "points_returned": result.points_returned}
