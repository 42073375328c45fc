from dataclasses import asdict

from loyalty_platform.core.jobs import scheduled_job
from loyalty_platform.vouchers.services import vouchers_age


@scheduled_job
def age_vouchers() -> dict:
    """Vouchers of promotions that ended become expired (and come back if the end moved
    later), voucher locks past their time are released (beat: every 5 minutes, in each
    organization's schema)."""
    return asdict(vouchers_age())
