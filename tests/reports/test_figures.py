from dataclasses import replace
from datetime import timedelta

import pytest

from loyalty_platform.programs.models import Card, LedgerEntry
from loyalty_platform.reports.models import (
    DailyActiveCustomer,
    DailyProgramRollup,
    DailyRewardRollup,
    DailyRollup,
)
from loyalty_platform.reports.periods import day_start
from loyalty_platform.reports.selectors import dashboard_figures
from loyalty_platform.reports.services import DayNotOver, rollup_build, rollups_rebuild
from tests.reports.history import HISTORY_DAYS, figures_from_rows, seed_history


def rollup_rows() -> dict[str, list]:
    return {
        "days": list(
            DailyRollup.objects.order_by("day").values_list(
                "day", "coupons_redeemed", "voucher_redemptions", "voucher_reversals"
            )
        ),
        "programs": list(
            DailyProgramRollup.objects.order_by("day", "program_id").values_list(
                "day", "program_id", "issued", "redeemed", "expired"
            )
        ),
        "rewards": list(
            DailyRewardRollup.objects.order_by("day", "reward_id").values_list(
                "day", "reward_id", "receptions", "reversals"
            )
        ),
        "active": list(
            DailyActiveCustomer.objects.order_by("day", "customer_id").values_list("day", "customer_id")
        ),
    }


def exact(figures):
    return replace(figures, rolled_days=0, live_days=0)


# Amsterdam's days are not UTC's: entries at 00:00 and 23:59:59.999999 local fall on the
# local day, which a UTC day would split.
@pytest.mark.parametrize("time_zone", ["UTC", "Europe/Amsterdam"])
def test_every_figure_equals_the_ledgers_from_rollups_live_rows_and_both(
    in_organization, settings, time_zone
):
    settings.TIME_ZONE = time_zone
    history = seed_history()
    today = history.today
    first = today - timedelta(days=HISTORY_DAYS - 1)
    periods = [
        (first, today),
        (first - timedelta(days=5), today),
        (today - timedelta(days=6), today),
        (today - timedelta(days=4), today - timedelta(days=1)),
        (today, today),
        (first + timedelta(days=2), first + timedelta(days=2)),
    ]
    expected = {period: figures_from_rows(*period) for period in periods}
    # Reversals, rewards, vouchers, both programs' kinds: the history holds each of them.
    causes = set(LedgerEntry.objects.values_list("cause", flat=True))
    assert causes >= {"earn", "order", "redeem", "refund", "return", "adjust", "expire", "reversal", "reward"}
    assert expected[(first, today)].top_rewards and expected[(first, today)].vouchers_redeemed

    # Nothing rolled up yet: every day from the ledgers.
    for (start, end), figures in expected.items():
        actual = dashboard_figures(start=start, end=end)
        assert exact(actual) == figures
        assert actual.rolled_days == 0

    # Every finished day rolled up except the day before yesterday: rollups, live rows, rollups, live.
    for offset in range(1, HISTORY_DAYS + 6):
        if offset != 2:
            rollup_build(day=today - timedelta(days=offset))
    for (start, end), figures in expected.items():
        actual = dashboard_figures(start=start, end=end)
        assert exact(actual) == figures
    crossing = dashboard_figures(start=first, end=today)
    assert (crossing.rolled_days, crossing.live_days) == (HISTORY_DAYS - 2, 2)

    # Built again, twice: the same rows, the same figures.
    once = rollup_rows()
    assert rollups_rebuild(days=HISTORY_DAYS + 5) == [
        today - timedelta(days=n) for n in range(1, HISTORY_DAYS + 6)
    ]
    rollups_rebuild(days=HISTORY_DAYS + 5)
    again = rollup_rows()
    assert len(again["days"]) == len(once["days"]) + 1
    assert [row for row in again["programs"] if row[0] != today - timedelta(days=2)] == once["programs"]
    assert [row for row in again["active"] if row[0] != today - timedelta(days=2)] == once["active"]
    for (start, end), figures in expected.items():
        actual = dashboard_figures(start=start, end=end)
        assert exact(actual) == figures
    assert dashboard_figures(start=first, end=today - timedelta(days=1)).live_days == 0


def test_the_balance_identity_holds_for_the_period(in_organization):
    history = seed_history(seed=3)
    start = history.today - timedelta(days=HISTORY_DAYS - 1)
    rollups_rebuild(days=HISTORY_DAYS)
    figures = dashboard_figures(start=start, end=history.today)
    point_deltas = sum(
        LedgerEntry.objects.filter(card__program__kind="point").values_list("delta", flat=True)
    )
    assert figures.points_issued - figures.points_redeemed - figures.points_expired == point_deltas


def test_today_and_later_days_are_never_rolled_up(in_organization):
    history = seed_history()
    for day in (history.today, history.today + timedelta(days=1)):
        with pytest.raises(DayNotOver):
            rollup_build(day=day)
    assert DailyRollup.objects.count() == 0


def test_a_day_rebuilt_after_a_late_entry_moves_the_gaps_of_later_days(in_organization):
    history = seed_history()
    today = history.today
    rollups_rebuild(days=HISTORY_DAYS)
    # A customer active only near the end of the history gets an entry that commits late
    # into an earlier, already rolled day.
    late_day = today - timedelta(days=10)
    card = Card.objects.filter(program=history.programs["point"], customer=history.customers[7]).get()
    entry = LedgerEntry.objects.create(card=card, delta=9, balance_after=card.balance + 9, cause="earn")
    LedgerEntry.objects.filter(pk=entry.pk).update(created_at=day_start(late_day) + timedelta(hours=12))
    Card.objects.filter(pk=card.pk).update(balance=card.balance + 9)

    rollup_build(day=late_day)

    for start, end in (
        (late_day, today),
        (late_day + timedelta(days=1), today - timedelta(days=1)),
        (late_day - timedelta(days=2), today - timedelta(days=3)),
        (today - timedelta(days=HISTORY_DAYS - 1), today),
    ):
        assert exact(dashboard_figures(start=start, end=end)) == figures_from_rows(start, end)
