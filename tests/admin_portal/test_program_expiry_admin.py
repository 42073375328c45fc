"""The point program's page in the portal: its expiry fields, a saved change of the expiry rule
handed to programs.services.program_expiry_rule_changed (dated from then, audited), and the
table of open points by the month they expire in."""

import json
import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django_tenants.utils import tenant_context

from loyalty_platform.audit.models import AuditLogEntry
from loyalty_platform.programs.models import Program
from tests.admin_portal.test_merchant_admin import staff_login
from tests.pos_fixtures import create_programs
from tests.programs.test_expiring_selectors import NOW, expiry_rule, lot, member

EXPIRY_FIELDS = ("points_expiry", "points_expiry_months", "expiry_warning_days", "reward_collect_days")


def point_form(program: Program, **changes) -> dict:
    """The point program's change form as the page sends it, with `changes`."""
    form = {
        "name": program.name,
        "is_active": "on",
        "earn_points_per_unit": str(program.earn_points_per_unit),
        "earn_rounding": program.earn_rounding,
        "redeem_points_per_unit": str(program.redeem_points_per_unit),
        "min_redeem_points": str(program.min_redeem_points),
        "excluded_categories": program.excluded_categories,
        "tier_period_days": str(program.tier_period_days),
        "points_expiry": program.points_expiry,
        "points_expiry_months": str(program.points_expiry_months),
        "expiry_warning_days": str(program.expiry_warning_days),
        "reward_collect_days": ""
        if program.reward_collect_days is None
        else str(program.reward_collect_days),
    }
    return {**form, **{name: str(value) for name, value in changes.items()}}


def change_url(program: Program) -> str:
    return f"/admin/programs/program/{program.pk}/change/"


def stored(organization, program: Program) -> dict:
    with tenant_context(organization):
        return Program.objects.filter(pk=program.pk).values(*EXPIRY_FIELDS, "points_expiry_since").get()


def audits(organization, program: Program) -> list[tuple[str, dict]]:
    with tenant_context(organization):
        return [
            (entry.action, entry.details)
            for entry in AuditLogEntry.objects.filter(
                target_type="programs.Program", target_id=str(program.pk)
            )
            .order_by("pk")
            .only("action", "details")
        ]


def liability_rows(page: str) -> list[tuple[str, str, str, str]]:
    """(row key, label, points, worth) of the liability table."""
    return re.findall(
        r'<tr data-liability="([^"]+)"><th scope="row">([^<]+)</th><td>(\d+)</td><td>([\d.]+)</td></tr>', page
    )


def test_the_point_form_has_the_expiry_fields_and_the_stamp_form_not(organization, programs, client_a):
    staff_login(client_a, organization)

    point = client_a.get(change_url(programs["point"])).content.decode()
    stamp = client_a.get(change_url(programs["stamp"])).content.decode()
    new_point = client_a.get("/admin/programs/program/add/?kind=point").content.decode()

    assert [name for name in EXPIRY_FIELDS if f'name="{name}"' in point] == list(EXPIRY_FIELDS)
    assert [name for name in EXPIRY_FIELDS if f'name="{name}"' in new_point] == list(EXPIRY_FIELDS)
    assert [name for name in EXPIRY_FIELDS if f'name="{name}"' in stamp] == []
    config = re.search(r'id="kind-fields-config" type="application/json">(.*?)</script>', point).group(1)
    assert json.loads(config) == [
        {
            "select": "points_expiry",
            "fields": {
                "never": [],
                "lifetime": ["points_expiry_months", "expiry_warning_days"],
                "inactivity": ["points_expiry_months", "expiry_warning_days"],
            },
            "managed": ["points_expiry_months", "expiry_warning_days"],
        }
    ]
    assert "js/kind_fields.js" in point and "kind-fields-config" not in stamp
    assert "expiry-liability" not in stamp and "expiry-liability" not in new_point


def test_saving_a_new_rule_dates_it_from_now_and_audits_it(organization, programs, client_a):
    staff_login(client_a, organization)
    program = programs["point"]

    with time_machine.travel(NOW, tick=False):
        response = client_a.post(
            change_url(program),
            point_form(program, points_expiry="lifetime", points_expiry_months=6, expiry_warning_days=14),
        )

    assert (response.status_code, response["Location"]) == (302, "/admin/programs/program/")
    assert stored(organization, program) == {
        "points_expiry": "lifetime",
        "points_expiry_months": 6,
        "expiry_warning_days": 14,
        "reward_collect_days": None,
        "points_expiry_since": NOW,
    }
    assert audits(organization, program) == [
        (
            "admin_change",
            {
                "fields": {
                    "points_expiry": ["never", "lifetime"],
                    "points_expiry_months": [12, 6],
                    "expiry_warning_days": [30, 14],
                }
            },
        ),
        (
            "programs.expiry_rule",
            {
                "previous": {"points_expiry": "never", "points_expiry_months": 12},
                "points_expiry": "lifetime",
                "points_expiry_months": 6,
            },
        ),
    ]
    with tenant_context(organization):
        actor = AuditLogEntry.objects.filter(action="programs.expiry_rule").get().actor
    assert actor.email == "owner@example.com"


def test_a_change_of_the_months_alone_is_a_new_rule_too(organization, programs, client_a):
    staff_login(client_a, organization)
    with tenant_context(organization):
        program = expiry_rule(programs["point"], "inactivity")

    with time_machine.travel(NOW, tick=False):
        client_a.post(change_url(program), point_form(program, points_expiry_months=24))

    assert stored(organization, program)["points_expiry_since"] == NOW
    assert audits(organization, program)[-1] == (
        "programs.expiry_rule",
        {
            "previous": {"points_expiry": "inactivity", "points_expiry_months": 12},
            "points_expiry": "inactivity",
            "points_expiry_months": 24,
        },
    )


@pytest.mark.parametrize(
    "changes",
    [
        {"name": "Renamed points", "expiry_warning_days": 7, "reward_collect_days": 30},
        {"points_expiry_months": 3},  # months mean nothing while points never expire
    ],
)
def test_saving_anything_else_leaves_the_rule_and_its_date_alone(organization, programs, client_a, changes):
    staff_login(client_a, organization)
    program = programs["point"]

    response = client_a.post(change_url(program), point_form(program, **changes))

    assert response.status_code == 302
    assert stored(organization, program)["points_expiry_since"] is None
    assert [action for action, _details in audits(organization, program)] == ["admin_change"]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"points_expiry": "monthly"}, "points_expiry"),
        ({"points_expiry": "lifetime", "points_expiry_months": 0}, "points_expiry_months"),
        ({"points_expiry": "lifetime", "points_expiry_months": 121}, "points_expiry_months"),
        ({"points_expiry": "lifetime", "expiry_warning_days": 366}, "expiry_warning_days"),
        ({"points_expiry": "lifetime", "reward_collect_days": 0}, "reward_collect_days"),
    ],
)
def test_a_bad_value_is_a_form_error_and_changes_nothing(organization, programs, client_a, changes, field):
    staff_login(client_a, organization)
    program = programs["point"]
    before = stored(organization, program)

    response = client_a.post(change_url(program), point_form(program, **changes))

    assert response.status_code == 200
    assert field in response.context["adminform"].form.errors
    assert stored(organization, program) == before
    assert audits(organization, program) == []


def test_the_liability_table_sums_open_points_by_month(organization, programs, client_a):
    staff_login(client_a, organization)
    with tenant_context(organization):
        program = expiry_rule(programs["point"])
        first, second = member(), member()
        lot(first, 300, NOW + timedelta(days=3))
        lot(second, 50, NOW + timedelta(days=20))
        lot(second, 120, datetime(2026, 8, 2, tzinfo=UTC))
        lot(first, 80, datetime(2026, 8, 30, tzinfo=UTC), spent=30)
        lot(first, 1000, datetime(2028, 1, 1, tzinfo=UTC))
        lot(second, 25, None)

    with time_machine.travel(NOW, tick=False):
        page = client_a.get(change_url(program)).content.decode()

    assert liability_rows(page) == [
        ("2026-06", "June 2026", "350", "3.50"),
        ("2026-08", "August 2026", "170", "1.70"),
        ("later", "Later", "1000", "10.00"),
        ("never", "Never", "25", "0.25"),
        ("total", "All open points", "1545", "15.45"),
    ]
    assert (
        re.search(
            r"In the next 30 days: <strong>350</strong> points of 2 customers expire, the first on (.+?)\.",
            page,
        ).group(1)
        == "June 13, 2026"
    )
    assert "data-expiry-redating" not in page and 'data-liability="empty"' not in page


def test_nothing_dated_shows_the_empty_state(organization, programs, client_a):
    staff_login(client_a, organization)
    with tenant_context(organization):
        lot(member(), 40, None)

    page = client_a.get(change_url(programs["point"])).content.decode()

    assert liability_rows(page) == []
    empty = re.search(r'<p data-liability="empty">(.*?)</p>', page, re.S).group(1)
    assert (
        " ".join(empty.split())
        == "No points are set to expire. The 40 open points customers hold never expire."
    )


def test_a_saved_rule_not_yet_applied_to_the_lots_says_so(organization, programs, client_a):
    staff_login(client_a, organization)
    program = programs["point"]
    client_a.post(change_url(program), point_form(program, points_expiry="lifetime"))

    page = client_a.get(change_url(program)).content.decode()

    assert "data-expiry-redating" in page
    assert "The expiry rule was changed" in page


def test_each_organization_sees_its_own_figures(
    organization, other_organization, programs, client_a, client_b
):
    """Program keys repeat across schemas: each page reads its own schema's lots."""
    create_programs(other_organization)
    staff_login(client_a, organization)
    staff_login(client_b, other_organization)
    with tenant_context(organization):
        lot(member(), 10, None)
    with tenant_context(other_organization):
        theirs = expiry_rule(Program.objects.get(kind="point"))
        lot(member(), 700, NOW + timedelta(days=2))

    with time_machine.travel(NOW, tick=False):
        mine_page = client_a.get(change_url(programs["point"])).content.decode()
        their_page = client_b.get(change_url(theirs)).content.decode()

    assert liability_rows(mine_page) == []
    assert liability_rows(their_page) == [
        ("2026-06", "June 2026", "700", "7.00"),
        ("never", "Never", "0", "0.00"),
        ("total", "All open points", "700", "7.00"),
    ]
