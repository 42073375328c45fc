"""Local days of the organization. Organizations have no time zone of their own yet, so a
day is a day in settings.TIME_ZONE (Django's default time zone) for every organization."""

from datetime import date, datetime, time, timedelta

from django.utils import timezone


def local_today() -> date:
    return timezone.localtime(timezone.now(), timezone.get_default_timezone()).date()


def day_start(day: date) -> datetime:
    """The aware instant the local day begins (a DST change moves it, never the date)."""
    return datetime.combine(day, time.min, tzinfo=timezone.get_default_timezone())


def days_bounds(first: date, last: date) -> tuple[datetime, datetime]:
    """[start of `first`, start of the day after `last`): the instants of the days, inclusive."""
    return day_start(first), day_start(last + timedelta(days=1))


def each_day(first: date, last: date) -> list[date]:
    return [first + timedelta(days=offset) for offset in range((last - first).days + 1)]


def day_ranges(days: list[date]) -> list[tuple[date, date]]:
    """Sorted days as inclusive (first, last) runs of consecutive days."""
    runs: list[tuple[date, date]] = []
    for day in sorted(days):
        if runs and runs[-1][1] + timedelta(days=1) == day:
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return runs
