from dataclasses import replace
from datetime import timedelta

from django_tenants.utils import tenant_context

from loyalty_platform.reports.models import (
    DailyActiveCustomer,
    DailyProgramRollup,
    DailyRewardRollup,
    DailyRollup,
)
from loyalty_platform.reports.selectors import dashboard_figures
from loyalty_platform.reports.tasks import build_daily_rollups
from tests.reports.history import HISTORY_DAYS, figures_from_rows, seed_history

ROLLUP_MODELS = (DailyRollup, DailyProgramRollup, DailyRewardRollup, DailyActiveCustomer)


def rollup_counts() -> list[int]:
    return [model.objects.count() for model in ROLLUP_MODELS]


def test_the_task_for_one_organization_rolls_up_only_its_own_schema(organization, other_organization):
    with tenant_context(organization):
        seed_history()
        assert build_daily_rollups.apply(kwargs={"days": HISTORY_DAYS}).get() == {"days": HISTORY_DAYS}
    with tenant_context(organization):
        counts_a = rollup_counts()
    with tenant_context(other_organization):
        counts_b = rollup_counts()

    assert counts_a[0] == HISTORY_DAYS and all(counts_a)
    assert counts_b == [0, 0, 0, 0]


def test_rollups_of_one_organization_never_show_on_another(organization, other_organization):
    with tenant_context(organization):
        history = seed_history()
        build_daily_rollups.apply(kwargs={"days": HISTORY_DAYS}).get()
    start = history.today - timedelta(days=HISTORY_DAYS - 1)
    with tenant_context(other_organization):
        figures_b = dashboard_figures(start=start, end=history.today - timedelta(days=1))
        expected_b = figures_from_rows(start, history.today - timedelta(days=1))
    with tenant_context(organization):
        figures_a = dashboard_figures(start=start, end=history.today - timedelta(days=1))

    assert figures_b.rolled_days == 0
    assert replace(figures_b, live_days=0) == expected_b
    assert (figures_b.members_total, figures_b.points_issued, figures_b.active_customers) == (0, 0, 0)
    assert figures_a.rolled_days == HISTORY_DAYS - 1
    assert figures_a.points_issued > 0
