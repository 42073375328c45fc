"""Program forms: one active program per kind as a form error, each kind's form with its own
fields."""

from django_tenants.utils import tenant_context

from loyalty_platform.programs.models import Program
from tests.admin_portal.test_merchant_admin import staff_login

POINT_FIELDS = ("earn_points_per_unit", "redeem_points_per_unit", "min_redeem_points", "tier_period_days")
STAMP_FIELDS = ("stamps_per_card", "reward_name", "coupon_valid_days")


def names_in(page: str, fields) -> list[str]:
    return [field for field in fields if f'name="{field}"' in page]


def test_a_second_active_program_of_a_kind_is_a_form_error(organization, programs, client_a):
    staff_login(client_a, organization)

    response = client_a.post(
        "/admin/programs/program/add/?kind=stamp",
        {"name": "Second stamps", "is_active": "on", "stamps_per_card": "8", "reward_name": "Tea"},
    )

    page = response.content.decode()
    assert response.status_code == 200
    assert "is the active stamps program; deactivate it first" in page
    assert "one_active_program_per_kind" not in page and "Constraint" not in page
    with tenant_context(organization):
        assert list(Program.objects.filter(kind="stamp").values_list("name", flat=True)) == [
            programs["stamp"].name
        ]
        inactive = client_a.post(
            "/admin/programs/program/add/?kind=stamp",
            {"name": "Second stamps", "stamps_per_card": "8", "reward_name": "Tea"},
        )
        assert inactive.status_code == 302
        assert Program.objects.filter(kind="stamp").count() == 2
        second = Program.objects.get(name="Second stamps")
        assert (second.kind, second.is_active, second.stamps_per_card) == ("stamp", False, 8)
    activate = client_a.post(
        f"/admin/programs/program/{second.pk}/change/",
        {"name": "Second stamps", "is_active": "on", "stamps_per_card": "8", "reward_name": "Tea"},
    )
    assert activate.status_code == 200 and "deactivate it first" in activate.content.decode()


def test_each_kind_of_program_shows_only_its_own_fields(organization, programs, client_a):
    staff_login(client_a, organization)

    chooser = client_a.get("/admin/programs/program/add/").content.decode()
    stamp_add = client_a.get("/admin/programs/program/add/?kind=stamp").content.decode()
    point_add = client_a.get("/admin/programs/program/add/?kind=point").content.decode()
    stamp_change = client_a.get(f"/admin/programs/program/{programs['stamp'].pk}/change/").content.decode()
    point_change = client_a.get(f"/admin/programs/program/{programs['point'].pk}/change/").content.decode()

    assert 'href="?kind=point"' in chooser and 'href="?kind=stamp"' in chooser
    assert names_in(chooser, POINT_FIELDS + STAMP_FIELDS) == []
    for page in (stamp_add, stamp_change):
        assert (names_in(page, POINT_FIELDS), names_in(page, STAMP_FIELDS)) == ([], list(STAMP_FIELDS))
    for page in (point_add, point_change):
        assert (names_in(page, POINT_FIELDS), names_in(page, STAMP_FIELDS)) == (list(POINT_FIELDS), [])
    assert 'name="kind"' not in stamp_change  # the kind of a program does not change
