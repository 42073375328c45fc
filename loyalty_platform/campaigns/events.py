"""What campaign triggers hear from the rest of the platform. The enrolling and purchasing
services call these inside their transactions; the work happens after commit, in Celery, so a
till's call pays for no campaign look-up beyond the cached running campaigns: without a
running trigger campaign of the kind, nothing is queried and nothing is queued."""

from django.utils import timezone

from loyalty_platform.campaigns.models import Campaign, CampaignMessage
from loyalty_platform.campaigns.selectors import campaigns_on_at
from loyalty_platform.core.faults import task_send_on_commit

ENROLLMENT_TRIGGERS = (Campaign.Trigger.WELCOME,)
PURCHASE_TRIGGERS = (Campaign.Trigger.MILESTONE, Campaign.Trigger.REFERRAL)


def trigger_runs_on(triggers: tuple[str, ...]) -> bool:
    """Whether a campaign of one of these triggers is on now (from the cache: no query)."""
    return any(campaign.trigger in triggers for campaign, _ in campaigns_on_at(timezone.now()))


def customer_enrolled(*, customer_id: int) -> None:
    """A customer joined (POS, profile, import): welcome campaigns grant after commit."""
    if trigger_runs_on(ENROLLMENT_TRIGGERS):
        # campaigns.tasks imports programs.services, which imports this module: a real cycle.
        from loyalty_platform.campaigns.tasks import campaign_welcome

        task_send_on_commit(campaign_welcome, (customer_id,))


def purchase_recorded(*, customer_id: int, external_id: str) -> None:
    """The customer earned at a till or an order named them (milestones, referrals)."""
    if trigger_runs_on(PURCHASE_TRIGGERS):
        from loyalty_platform.campaigns.tasks import campaign_purchase  # the cycle above

        task_send_on_commit(campaign_purchase, (customer_id, external_id))


def customer_erased(*, customer_id: int) -> None:
    """The customer's personal data is erased: their address leaves the campaign messages,
    and a message not sent yet never will be (in the erasing transaction)."""
    CampaignMessage.objects.filter(customer_id=customer_id, status=CampaignMessage.Status.QUEUED).update(
        status=CampaignMessage.Status.SKIPPED
    )
    CampaignMessage.objects.filter(customer_id=customer_id).exclude(email="").update(email="")
