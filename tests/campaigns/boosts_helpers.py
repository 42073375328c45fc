"""Campaigns for the boost tests, made as rows (the runner's services are another helper's):
status running, begun an hour ago, saved with save() so the cached running list forgets."""

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from loyalty_platform.campaigns.models import (
    Campaign,
    CampaignAction,
    Segment,
    SegmentListMember,
    SegmentRule,
)
from loyalty_platform.campaigns.selectors import organization_zone

MULTIPLIER = CampaignAction.Kind.POINTS_MULTIPLIER
BONUS_POINTS = CampaignAction.Kind.BONUS_POINTS
BONUS_STAMPS = CampaignAction.Kind.BONUS_STAMPS


def campaign_with(*actions: dict, name: str = "Boost", segment=None, **fields) -> Campaign:
    """A running campaign (call it inside the organization's schema) with these actions."""
    defaults = {
        "name": name,
        "description": f"{name} for you",
        "status": Campaign.Status.RUNNING,
        "starts_at": timezone.now() - timedelta(hours=1),
        "segment": segment,
    }
    campaign = Campaign(**(defaults | fields))
    campaign.save()
    for action in actions:
        CampaignAction(campaign=campaign, **action).save()
    return campaign


def multiplier(value: str, applies_to: str = "all", match_values: str = "") -> dict:
    return {
        "kind": MULTIPLIER,
        "applies_to": applies_to,
        "match_values": match_values,
        "multiplier": Decimal(value),
    }


def bonus_points(points: int, applies_to: str = "visit", match_values: str = "", minimum_spend=None) -> dict:
    return {
        "kind": BONUS_POINTS,
        "applies_to": applies_to,
        "match_values": match_values,
        "points": points,
        "minimum_spend": minimum_spend,
    }


def bonus_stamps(stamps: int) -> dict:
    return {"kind": BONUS_STAMPS, "applies_to": "visit", "stamps": stamps}


def not_today() -> str:
    """Every weekday but today's (in the organization's time zone): a campaign off now."""
    today = timezone.now().astimezone(organization_zone()).weekday()
    return ",".join(str(day) for day in range(7) if day != today)


def today() -> str:
    return str(timezone.now().astimezone(organization_zone()).weekday())


def list_segment(*customers, name: str = "Regulars") -> Segment:
    segment = Segment.objects.create(name=name)
    SegmentRule.objects.create(segment=segment, kind=SegmentRule.Kind.STATIC_LIST)
    for customer in customers:
        SegmentListMember.objects.create(segment=segment, customer=customer)
    return segment
