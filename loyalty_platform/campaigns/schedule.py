"""When a campaign is on: pure arithmetic over its schedule, in the organization's time zone.

Without weekdays and daily hours a campaign has one window, from its start to its end. With
them, each matching local day gives a window (the whole day, or its hours); whole days that
follow each other form one occurrence, so "every weekend" is one run from Saturday 00:00 to
Monday 00:00. An occurrence's key is its first local day (ISO), or "once"."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from loyalty_platform.campaigns.models import Campaign

ONCE = "once"
_MAX_MERGED_DAYS = 7


@dataclass(frozen=True)
class Occurrence:
    key: str
    starts_at: datetime
    ends_at: datetime | None  # None: no end


def weekday_set(campaign: Campaign) -> frozenset[int]:
    return frozenset(int(part) for part in campaign.recurrence_weekdays.split(",") if part.strip().isdigit())


def is_recurring(campaign: Campaign) -> bool:
    # Every weekday without hours is one continuous window: merged blocks capped at a week
    # would otherwise start a new run, with its grants and emails, every few days.
    weekdays = weekday_set(campaign)
    return (
        (bool(weekdays) and not weekdays >= set(range(7)))
        or campaign.daily_start_time is not None
        or campaign.daily_end_time is not None
    )


def _day_window(campaign: Campaign, day: date, zone: ZoneInfo) -> tuple[datetime, datetime] | None:
    weekdays = weekday_set(campaign)
    if weekdays and day.weekday() not in weekdays:
        return None
    start = datetime.combine(day, campaign.daily_start_time or time(0), zone)
    if campaign.daily_end_time is None or campaign.daily_end_time <= (campaign.daily_start_time or time(0)):
        end = datetime.combine(day + timedelta(days=1), time(0), zone)
    else:
        end = datetime.combine(day, campaign.daily_end_time, zone)
    return start, end


def _whole_days(campaign: Campaign) -> bool:
    return campaign.daily_start_time is None and campaign.daily_end_time is None


def _clip(
    campaign: Campaign, start: datetime, end: datetime | None
) -> tuple[datetime, datetime | None] | None:
    start = max(start, campaign.starts_at)
    if campaign.ends_at is not None:
        end = campaign.ends_at if end is None else min(end, campaign.ends_at)
    if end is not None and end <= start:
        return None
    return start, end


def _occurrence_of_day(campaign: Campaign, day: date, zone: ZoneInfo) -> Occurrence | None:
    window = _day_window(campaign, day, zone)
    if window is None:
        return None
    start, end = window
    first_day = day
    if _whole_days(campaign):
        # Whole days next to each other are one occurrence: walk to the block's first and last day.
        for _ in range(_MAX_MERGED_DAYS):
            before = first_day - timedelta(days=1)
            if (
                _day_window(campaign, before, zone) is None
                or before < campaign.starts_at.astimezone(zone).date()
            ):
                break
            first_day = before
        start = datetime.combine(first_day, time(0), zone)
        last_day = day
        for _ in range(_MAX_MERGED_DAYS):
            after = last_day + timedelta(days=1)
            if _day_window(campaign, after, zone) is None:
                break
            last_day = after
        end = datetime.combine(last_day + timedelta(days=1), time(0), zone)
    clipped = _clip(campaign, start, end)
    if clipped is None:
        return None
    return Occurrence(key=first_day.isoformat(), starts_at=clipped[0], ends_at=clipped[1])


def occurrence_at(campaign: Campaign, at: datetime, zone: ZoneInfo) -> Occurrence | None:
    """The occurrence that contains `at`, or None (not begun, ended, or between occurrences).
    The campaign's status is not looked at: callers decide whether a paused one counts."""
    if at < campaign.starts_at or (campaign.ends_at is not None and at >= campaign.ends_at):
        return None
    if not is_recurring(campaign):
        return Occurrence(key=ONCE, starts_at=campaign.starts_at, ends_at=campaign.ends_at)
    local_day = at.astimezone(zone).date()
    # Hours past midnight cannot belong to the day before (windows end at midnight at the latest).
    occurrence = _occurrence_of_day(campaign, local_day, zone)
    if occurrence is None or not (
        occurrence.starts_at <= at and (occurrence.ends_at is None or at < occurrence.ends_at)
    ):
        return None
    return occurrence


def next_occurrence(campaign: Campaign, after: datetime, zone: ZoneInfo) -> Occurrence | None:
    """The first occurrence that starts at or after `after` (within the next 400 days)."""
    if campaign.ends_at is not None and after >= campaign.ends_at:
        return None
    if not is_recurring(campaign):
        return (
            Occurrence(key=ONCE, starts_at=campaign.starts_at, ends_at=campaign.ends_at)
            if campaign.starts_at >= after
            else None
        )
    day = max(after, campaign.starts_at).astimezone(zone).date()
    for _ in range(400):
        occurrence = _occurrence_of_day(campaign, day, zone)
        if occurrence is not None and occurrence.starts_at >= after:
            return occurrence
        day += timedelta(days=1)
        if campaign.ends_at is not None and datetime.combine(day, time(0), zone) >= campaign.ends_at:
            return None
    return None
