from loyalty_platform.core.jobs import scheduled_job
from loyalty_platform.webhooks.delivery import deliveries_deliver


@scheduled_job
def deliver_webhooks() -> dict[str, int]:
    """Queued after a commit that recorded events, and every minute by beat (retries that fell
    due, anything a lost kick left): sends the organization's due deliveries."""
    return deliveries_deliver()
