import json
import re
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django_tenants.utils import tenant_context

from loyalty_platform.reports.forms import PeriodForm
from loyalty_platform.reports.periods import local_today
from loyalty_platform.reports.selectors import dashboard_figures
from loyalty_platform.reports.services import rollups_rebuild
from loyalty_platform.reports.views import dashboard_view
from tests.factories import StaffUserFactory
from tests.reports.history import seed_history

URL = "/admin/"


def superuser_login(client, organization, email="owner@example.com"):
    with tenant_context(organization):
        StaffUserFactory(email=email)
    assert client.login(email=email, password="correct horse battery")


@pytest.mark.parametrize(
    ("query", "days"),
    [({}, 30), ({"period": "7"}, 7), ({"period": "30"}, 30), ({"period": "90"}, 90)],
)
def test_the_fixed_periods_end_today(query, days):
    form = PeriodForm(query or None)
    today = local_today()
    assert form.chosen_period() == (today - timedelta(days=days - 1), today)
    assert not form.errors


def test_a_custom_period_is_taken_as_given():
    today = local_today()
    form = PeriodForm({"period": "custom", "start": "2026-01-01", "end": today.isoformat()})
    assert form.chosen_period() == (today.replace(year=2026, month=1, day=1), today)
    assert not form.errors


@pytest.mark.parametrize(
    ("query", "error"),
    [
        ({"period": "12"}, "period"),
        ({"period": "custom"}, "incomplete"),
        ({"period": "custom", "start": "2026-02-01"}, "incomplete"),
        ({"period": "custom", "start": "2026-13-45", "end": "2026-02-01"}, "start"),
        ({"period": "custom", "start": "yesterday", "end": "2026-02-01"}, "start"),
        ({"period": "custom", "start": "2026-02-02", "end": "2026-02-01"}, "reversed"),
        ({"period": "custom", "start": "2026-02-02", "end": "2999-01-01"}, "future"),
        ({"period": "custom", "start": "1999-01-01", "end": "2026-02-01"}, "too_long"),
        ({"period": "custom", "start": "2026-02-01\x00", "end": "2026-02-01"}, "start"),
    ],
)
def test_bad_periods_are_errors_and_give_the_default_period(query, error):
    form = PeriodForm(query)
    today = local_today()
    assert form.chosen_period() == (today - timedelta(days=29), today)
    codes = {field: [e.code for e in errors.as_data()] for field, errors in form.errors.items()}
    if error in ("period", "start"):
        assert list(codes) == [error]
    else:
        assert codes == {"__all__": [error]}


def test_the_page_shows_the_figures_and_the_chart_data_for_a_superuser(organization, client_a):
    with tenant_context(organization):
        history = seed_history()
        rollups_rebuild(days=3)
        figures = dashboard_figures(start=history.today - timedelta(days=6), end=history.today)
    superuser_login(client_a, organization)

    response = client_a.get(URL, {"period": "7"})

    assert response.status_code == 200
    html = response.content.decode()
    assert response.templates[0].name == "reports/dashboard.html"
    assert response.context["figures"] == figures
    series = json.loads(
        re.search(r'<script id="dashboard-series" type="application/json">(.*?)</script>', html)[1]
    )
    assert series["labels"] == [day.day.isoformat() for day in figures.daily]
    assert series["issued"] == [day.points_issued for day in figures.daily]
    assert series["redeemed"] == [day.points_redeemed for day in figures.daily]
    # The chart's text alternative: one row per day with the same figures.
    for day in figures.daily:
        assert f'<th scope="row">{day.day.isoformat()}</th><td>{day.points_issued}</td>' in html
    assert f"<dd>{figures.points_liability} EUR</dd>" in html
    assert f"<dd>{figures.total_liability} EUR</dd>" in html
    # Content-Security-Policy: scripts only from static files, no style attributes.
    assert re.findall(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", html) == []
    assert " style=" not in html
    assert "/static/vendor/chart.js/chart.umd.min.js" in html
    assert "/static/js/dashboard.js" in html


def test_bad_dates_show_the_error_and_the_default_period(organization, client_a):
    superuser_login(client_a, organization)

    response = client_a.get(URL, {"period": "custom", "start": "2026-13-45", "end": "no"})

    assert response.status_code == 200
    assert response.context["form"].errors.keys() == {"start", "end"}
    today = local_today()
    assert (response.context["figures"].start, response.context["figures"].end) == (
        today - timedelta(days=29),
        today,
    )
    assert b'class="errornote"' in response.content


def test_staff_without_the_dashboard_permission_land_elsewhere(
    organization, client_a, client_b, other_organization
):
    with tenant_context(organization):
        StaffUserFactory(email="cashier@example.com", role="cashier")
    with tenant_context(other_organization):
        StaffUserFactory(email="nobody@example.com").groups.clear()
    assert client_a.login(email="cashier@example.com", password="correct horse battery")
    assert client_b.login(email="nobody@example.com", password="correct horse battery")

    # A cashier lands on the till; staff with neither permission on the plain index.
    assert client_a.get(URL)["Location"] == "/admin/till/"
    response = client_b.get(URL)
    assert response.status_code == 200
    assert "reports/dashboard.html" not in [template.name for template in response.templates]


def test_signed_out_visitors_are_sent_to_the_sign_in(client_a):
    response = client_a.get(URL)

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_the_dashboard_view_refuses_staff_without_its_permission(organization, rf):
    with tenant_context(organization):
        cashier = StaffUserFactory(email="cashier@example.com", role="cashier")
        request = rf.get(URL)
        request.user = cashier

        with pytest.raises(PermissionDenied):
            dashboard_view(request)
