from celery import shared_task
from tenant_schemas_celery.task import TenantTask

from loyalty_platform.campaigns import messages, runner, triggers
from loyalty_platform.core.jobs import scheduled_job


@scheduled_job
def campaigns_tick() -> dict[str, int]:
    """Open and close the organization's campaign runs and queue the work of those with grants
    or messages due (each run's work is locked and resumes from its cursor, so a run queued
    twice grants once)."""
    due = runner.tick()
    for run_id in due:
        campaign_run_work.delay(run_id)
    return {"runs_queued": len(due)}


@shared_task(base=TenantTask, ignore_result=True)
def campaign_run_work(run_id: int) -> str:
    """A run's grants and messages, chunk by chunk; again later when the rate limit says so."""
    outcome = runner.run_work(run_id)
    if outcome.again_in is not None:
        campaign_run_work.apply_async((run_id,), countdown=outcome.again_in)
    return outcome.state


@shared_task(base=TenantTask, ignore_result=True)
def campaign_messages_send(message_ids: list[int]) -> int:
    """Trigger campaigns' messages, claimed by messages.message_customers: what this minute's
    budget leaves out goes again in the next minute."""
    sending = messages.send_within_budget(message_ids)
    if sending.left:
        campaign_messages_send.apply_async((sending.left,), countdown=sending.retry_in)
    return sending.tried


@scheduled_job
def campaign_triggers_daily() -> dict[str, int]:
    """Birthday and win-back triggers (hourly; each looks at the organization's local day).
    Their claim rows make a rerun, or two at once, grant nobody twice."""
    return {"grants": triggers.triggers_daily()}


@shared_task(base=TenantTask, ignore_result=True)
def campaign_welcome(customer_id: int) -> int:
    """A customer enrolled while a welcome campaign runs (campaigns.events)."""
    return triggers.trigger_welcome(customer_id=customer_id)


@shared_task(base=TenantTask, ignore_result=True)
def campaign_purchase(customer_id: int, external_id: str) -> int:
    """A purchase while a milestone or referral campaign runs (campaigns.events)."""
    return triggers.trigger_purchase(customer_id=customer_id, external_id=external_id)
