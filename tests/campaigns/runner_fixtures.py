"""Campaigns, runs and customers for the runner's tests."""

from datetime import timedelta

from django.utils import timezone

from loyalty_platform.campaigns.models import Campaign, CampaignAction, CampaignRun


def make_campaign(**fields) -> Campaign:
    defaults = {"name": "Winter", "starts_at": timezone.now() - timedelta(hours=1)}
    return Campaign.objects.create(**(defaults | fields))


def make_action(campaign: Campaign, kind: str, **fields) -> CampaignAction:
    return CampaignAction.objects.create(campaign=campaign, kind=kind, **fields)


def make_run(campaign: Campaign, key: str = "once") -> CampaignRun:
    return CampaignRun.objects.create(campaign=campaign, key=key, starts_at=campaign.starts_at)
