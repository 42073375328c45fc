"""Birthday campaigns: customers whose birthday is N days from the organization's local today,
each once a year, however often the hourly task runs."""

from datetime import UTC, date, datetime

import pytest
import time_machine
from django_tenants.utils import tenant_context

from loyalty_platform.campaigns.models import Campaign, CampaignRun
from loyalty_platform.campaigns.tasks import campaign_triggers_daily
from loyalty_platform.campaigns.triggers import trigger_birthdays
from loyalty_platform.customers.models import Customer
from tests.campaigns.triggers_fixtures import grants_of, points_of, trigger_campaign
from tests.pos_fixtures import create_customer


def born(organization, birth_date: date) -> Customer:
    customer = create_customer(organization)
    with tenant_context(organization):
        Customer.objects.filter(pk=customer.pk).update(birth_date=birth_date)
    return customer


def run_birthdays(organization, now: datetime, zone: str = "UTC") -> int:
    organization.timezone = zone
    with tenant_context(organization):
        return trigger_birthdays(now=now)


@pytest.fixture
def week_before(organization, programs) -> Campaign:
    return trigger_campaign(organization, Campaign.Trigger.BIRTHDAY, points=40, trigger_days=7)


def test_seven_days_before_across_the_year_end_in_the_organizations_time_zone(organization, week_before):
    new_year = born(organization, date(1990, 1, 1))
    new_years_eve = born(organization, date(1985, 12, 31))
    born(organization, date(1990, 1, 2))
    # 24 December 23:30 UTC is already 25 December in Vilnius (UTC+2): 7 days on is 1 January 2027.
    assert run_birthdays(organization, datetime(2026, 12, 24, 23, 30, tzinfo=UTC), "Europe/Vilnius") == 1
    assert grants_of(organization, week_before) == [("birthday-2027", new_year.pk, 40)]
    # The same moment in UTC is 24 December: 7 days on is 31 December 2026.
    assert run_birthdays(organization, datetime(2026, 12, 24, 23, 30, tzinfo=UTC), "UTC") == 1
    assert grants_of(organization, week_before) == [
        ("birthday-2026", new_years_eve.pk, 40),
        ("birthday-2027", new_year.pk, 40),
    ]


def test_a_zone_behind_utc_keeps_the_day_before(organization, week_before):
    customer = born(organization, date(2000, 3, 10))
    # 3 March 03:00 UTC is 2 March 22:00 in New York: 7 days on is 9 March, nobody's birthday.
    assert run_birthdays(organization, datetime(2026, 3, 3, 3, 0, tzinfo=UTC), "America/New_York") == 0
    assert run_birthdays(organization, datetime(2026, 3, 3, 5, 0, tzinfo=UTC), "America/New_York") == 1
    assert grants_of(organization, week_before) == [("birthday-2026", customer.pk, 40)]


def test_the_hourly_task_grants_each_birthday_once_a_year(organization, week_before):
    customer = born(organization, date(1990, 1, 1))
    organization.timezone = "Europe/Vilnius"
    for hour in (0, 1, 9, 21):  # 25 December local, hour after hour (21 UTC is 23 local)
        at = datetime(2026, 12, 25, hour, 30, tzinfo=UTC)
        with time_machine.travel(at, tick=False), tenant_context(organization):
            campaign_triggers_daily.apply()
    assert points_of(organization, customer) == 40
    assert grants_of(organization, week_before) == [("birthday-2027", customer.pk, 40)]
    with tenant_context(organization):
        assert list(CampaignRun.objects.filter(campaign=week_before).values_list("key", flat=True)) == [
            "birthday-2027"
        ]

    # The next year's birthday is another run.
    with (
        time_machine.travel(datetime(2027, 12, 25, 10, 0, tzinfo=UTC), tick=False),
        tenant_context(organization),
    ):
        campaign_triggers_daily.apply()
    assert points_of(organization, customer) == 80
    assert grants_of(organization, week_before) == [
        ("birthday-2027", customer.pk, 40),
        ("birthday-2028", customer.pk, 40),
    ]


def test_on_the_day_itself_with_zero_days_and_29_february_in_a_common_year(organization, programs):
    campaign = trigger_campaign(organization, Campaign.Trigger.BIRTHDAY, points=10, trigger_days=0)
    leap_day = born(organization, date(2004, 2, 29))
    on_28th = born(organization, date(1999, 2, 28))
    born(organization, date(1999, 3, 1))
    assert run_birthdays(organization, datetime(2027, 2, 28, 12, 0, tzinfo=UTC)) == 2
    assert sorted(grants_of(organization, campaign)) == sorted(
        [("birthday-2027", leap_day.pk, 10), ("birthday-2027", on_28th.pk, 10)]
    )
    # In a leap year the 29th is its own day (the 28th's run already granted this year's).
    assert run_birthdays(organization, datetime(2028, 2, 28, 12, 0, tzinfo=UTC)) == 1
    assert run_birthdays(organization, datetime(2028, 2, 29, 12, 0, tzinfo=UTC)) == 1


def test_blocked_customers_and_customers_without_a_birth_date_get_nothing(organization, week_before):
    blocked = born(organization, date(1990, 1, 1))
    with tenant_context(organization):
        Customer.objects.filter(pk=blocked.pk).update(status=Customer.Status.BLOCKED)
    create_customer(organization)  # no birth date
    assert run_birthdays(organization, datetime(2026, 12, 25, 12, 0, tzinfo=UTC)) == 0
    assert grants_of(organization, week_before) == []


def test_a_paused_birthday_campaign_grants_nothing(organization, week_before):
    born(organization, date(1990, 1, 1))
    with tenant_context(organization):
        week_before.status = Campaign.Status.PAUSED
        week_before.save()
    assert run_birthdays(organization, datetime(2026, 12, 25, 12, 0, tzinfo=UTC)) == 0
    assert grants_of(organization, week_before) == []
