from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db import connection

from loyalty_platform.campaigns.models import Campaign
from loyalty_platform.campaigns.schedule import Occurrence, occurrence_at
from loyalty_platform.core.schema_cache import schema_cached

RUNNING_CAMPAIGNS_CACHE_KEY = "campaigns:running"


def organization_zone() -> ZoneInfo:
    """The time zone of the organization whose schema is active (UTC when unset or unknown)."""
    name = getattr(getattr(connection, "tenant", None), "timezone", "") or "UTC"
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def running_campaigns() -> list[Campaign]:
    """Campaigns whose status is running, with their actions and segment, cached per schema
    (read-only objects shared by the process's threads); campaigns.signals forgets them when a
    campaign or an action changes. Whether one is on at a moment is `campaign_occurrence_at`."""
    return schema_cached(
        RUNNING_CAMPAIGNS_CACHE_KEY,
        lambda: list(
            Campaign.objects.filter(status=Campaign.Status.RUNNING)
            .select_related("segment")
            .prefetch_related("actions", "segment__rules")
            .order_by("pk")
        ),
    )


def campaigns_on_at(at: datetime) -> list[tuple[Campaign, Occurrence]]:
    """The running campaigns that are inside one of their occurrences at `at`."""
    zone = organization_zone()
    found = []
    for campaign in running_campaigns():
        occurrence = occurrence_at(campaign, at, zone)
        if occurrence is not None:
            found.append((campaign, occurrence))
    return found
