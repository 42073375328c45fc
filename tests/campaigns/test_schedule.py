"""The schedule arithmetic (campaigns.schedule) against hand-worked calendars."""

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

from loyalty_platform.campaigns.models import Campaign
from loyalty_platform.campaigns.schedule import ONCE, next_occurrence, occurrence_at

VILNIUS = ZoneInfo("Europe/Vilnius")  # UTC+2 in December


def _campaign(**fields) -> Campaign:
    defaults = {"name": "c", "starts_at": datetime(2026, 12, 1, tzinfo=UTC), "ends_at": None}
    return Campaign(**(defaults | fields))


def test_a_campaign_without_recurrence_is_one_window_from_start_to_end():
    campaign = _campaign(ends_at=datetime(2026, 12, 10, tzinfo=UTC))
    inside = occurrence_at(campaign, datetime(2026, 12, 5, tzinfo=UTC), VILNIUS)
    assert (inside.key, inside.starts_at, inside.ends_at) == (ONCE, campaign.starts_at, campaign.ends_at)
    assert occurrence_at(campaign, datetime(2026, 11, 30, 23, 59, tzinfo=UTC), VILNIUS) is None
    assert occurrence_at(campaign, campaign.ends_at, VILNIUS) is None


def test_every_weekend_is_one_occurrence_from_saturday_to_monday_midnight_in_local_time():
    campaign = _campaign(recurrence_weekdays="5,6")
    # Sunday 6 December 2026, 21:59 UTC is 23:59 in Vilnius: still the weekend.
    sunday_late = occurrence_at(campaign, datetime(2026, 12, 6, 21, 59, tzinfo=UTC), VILNIUS)
    assert sunday_late.key == "2026-12-05"
    assert sunday_late.starts_at == datetime(2026, 12, 5, 0, 0, tzinfo=VILNIUS)
    assert sunday_late.ends_at == datetime(2026, 12, 7, 0, 0, tzinfo=VILNIUS)
    saturday_early = occurrence_at(campaign, datetime(2026, 12, 4, 22, 0, tzinfo=UTC), VILNIUS)
    assert saturday_early.key == "2026-12-05"
    # Monday 00:00 in Vilnius is Sunday 22:00 UTC: over.
    assert occurrence_at(campaign, datetime(2026, 12, 6, 22, 0, tzinfo=UTC), VILNIUS) is None
    assert occurrence_at(campaign, datetime(2026, 12, 9, 12, 0, tzinfo=UTC), VILNIUS) is None


def test_daily_hours_make_one_occurrence_per_day():
    campaign = _campaign(daily_start_time=time(14), daily_end_time=time(17))
    at = occurrence_at(campaign, datetime(2026, 12, 3, 13, 0, tzinfo=UTC), VILNIUS)  # 15:00 local
    assert at.key == "2026-12-03"
    assert (at.starts_at, at.ends_at) == (
        datetime(2026, 12, 3, 14, tzinfo=VILNIUS),
        datetime(2026, 12, 3, 17, tzinfo=VILNIUS),
    )
    assert occurrence_at(campaign, datetime(2026, 12, 3, 15, 0, tzinfo=UTC), VILNIUS) is None  # 17:00 local


def test_the_first_weekend_is_cut_at_the_campaigns_start_and_the_next_one_follows():
    campaign = _campaign(
        recurrence_weekdays="5,6",
        starts_at=datetime(2026, 12, 5, 10, 0, tzinfo=UTC),
        ends_at=datetime(2026, 12, 13, 10, 0, tzinfo=UTC),
    )
    first = occurrence_at(campaign, datetime(2026, 12, 5, 12, 0, tzinfo=UTC), VILNIUS)
    assert (first.key, first.starts_at) == ("2026-12-05", campaign.starts_at)
    following = next_occurrence(campaign, datetime(2026, 12, 6, 12, 0, tzinfo=UTC), VILNIUS)
    assert following.key == "2026-12-12"
    assert following.ends_at == campaign.ends_at  # cut at the campaign's end
    assert next_occurrence(campaign, datetime(2026, 12, 13, 10, 0, tzinfo=UTC), VILNIUS) is None


def test_all_seven_weekdays_without_hours_are_one_run_for_the_whole_campaign():
    campaign = _campaign(recurrence_weekdays="0,1,2,3,4,5,6")
    keys = {
        occurrence_at(campaign, datetime(2026, 12, day, 12, tzinfo=UTC), VILNIUS).key for day in range(1, 31)
    }
    assert keys == {ONCE}
