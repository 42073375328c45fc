"""The operator's console on the platform host: the organization list with its usage
figures, Add organization (create + invite the owner) and who may open it at all."""

import re
from datetime import UTC, date, datetime

import pytest
import time_machine
from django.db import connection
from django.utils import timezone
from django_tenants.utils import schema_exists, tenant_context

from loyalty_platform.accounts.models import StaffInvitation, User
from loyalty_platform.accounts.roles import role_of
from tenants.models import Domain, OperatorAction, Organization, Plan, Subscription, UsageDay
from tests.conftest import HostClient
from tests.factories import StaffUserFactory

ADD_URL = "/admin/tenants/organization/add/"
LIST_URL = "/admin/tenants/organization/"


@pytest.fixture
def gold_plan(db) -> Plan:
    return Plan.objects.create(code="gold", name="Gold", monthly_price=49)


def _add_form(gold_plan: Plan, **changes) -> dict:
    return {
        "name": "Café Luna",
        "slug": "cafe-luna",
        "country": "lt",
        "plan": str(gold_plan.pk),
        "owner_email": "Owner@Luna.example",
        **changes,
    }


def _counts() -> tuple[int, int, int, int]:
    return (
        Organization.objects.count(),
        Domain.objects.count(),
        Subscription.objects.count(),
        OperatorAction.objects.count(),
    )


def test_the_add_page_is_a_form_for_the_operator(console):
    """It was a bare 403 (has_add_permission was False), logged with a traceback."""
    response = console.get(ADD_URL)

    assert response.status_code == 200
    page = response.content.decode()
    for field in ("name", "slug", "country", "plan", "owner_email"):
        assert f'name="{field}"' in page


def test_adding_an_organization_creates_it_on_its_plan_and_invites_the_owner(
    console, gold_plan, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = console.post(ADD_URL, _add_form(gold_plan))

    organization = Organization.objects.get(slug="cafe-luna")
    assert (response.status_code, response["Location"]) == (
        302,
        f"/admin/tenants/organization/{organization.pk}/change/",
    )
    assert (organization.name, organization.country, organization.status, organization.schema_name) == (
        "Café Luna",
        "LT",
        "active",
        "org_cafe_luna",
    )
    assert schema_exists("org_cafe_luna")
    assert list(organization.domains.values_list("domain", "is_primary")) == [("cafe-luna.localhost", True)]
    assert list(organization.subscriptions.values_list("plan__code", flat=True)) == ["gold"]
    assert list(OperatorAction.objects.values_list("action", "operator_email", "organization_slug")) == [
        ("create", "operator@example.com", "cafe-luna")
    ]
    with tenant_context(organization):
        owner = User.objects.get()
        assert (owner.email, role_of(owner), owner.has_usable_password(), owner.is_superuser) == (
            "owner@luna.example",
            "owner",
            False,
            False,
        )
        assert StaffInvitation.objects.filter(user=owner, accepted_at__isnull=True).count() == 1
    assert [mail.to for mail in mailoutbox] == [["owner@luna.example"]]
    assert re.search(r"http://cafe-luna\.localhost(:\d+)?/admin/accept-invite/\S+/", mailoutbox[0].body)


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"slug": "Not A Slug"}, "slug", "Use lowercase letters, digits and single hyphens."),
        ({"slug": "double--hyphen"}, "slug", "Use lowercase letters, digits and single hyphens."),
        ({"slug": "admin"}, "slug", "the slug &#x27;admin&#x27; is reserved"),
        ({"slug": "test-a"}, "slug", "an organization with slug &#x27;test-a&#x27; already exists"),
        ({"slug": "x" * 41}, "slug", "Ensure this value has at most 40 characters (it has 41)."),
        ({"owner_email": "not-an-email"}, "owner_email", "Enter a valid email address."),
        ({"owner_email": ""}, "owner_email", "This field is required."),
        ({"country": "LTU"}, "country", "Ensure this value has at most 2 characters (it has 3)."),
        ({"country": "1"}, "country", "Give the two-letter ISO 3166 code, e.g. LT."),
        ({"plan": "999999"}, "plan", "Select a valid choice."),
        ({"name": ""}, "name", "This field is required."),
    ],
)
def test_bad_input_is_a_form_error_and_creates_nothing(
    console, gold_plan, mailoutbox, changes, field, message
):
    before = _counts()

    response = console.post(ADD_URL, _add_form(gold_plan, **changes))

    assert response.status_code == 422
    errors = response.context["form"].errors
    assert list(errors) == [field]
    assert message in response.content.decode()
    assert _counts() == before
    assert mailoutbox == []


def test_a_plan_without_a_staff_seat_for_the_owner_is_a_form_error(console, mailoutbox):
    """organization_open refuses after the clone (the owner's invitation needs a seat): the
    page says so on the plan and nothing is left behind."""
    seatless = Plan.objects.create(code="seatless", name="Seatless", max_staff=0)
    before = _counts()

    response = console.post(ADD_URL, _add_form(seatless))

    assert response.status_code == 422
    assert list(response.context["form"].errors) == ["plan"]
    assert "Your plan allows 0 active staff accounts" in response.content.decode()
    assert _counts() == before
    assert mailoutbox == []


def _usage(organization: Organization, day: date, **counts) -> None:
    UsageDay.objects.create(organization=organization, day=day, **counts)


# A day in the middle of a month (sessions signed in now stay valid on an earlier day).
MID_MONTH = datetime(2026, 6, 15, 12, tzinfo=UTC)


@time_machine.travel(MID_MONTH, tick=False)
def test_the_list_shows_status_plan_subscription_and_this_months_usage(
    console, organization, other_organization, django_assert_max_num_queries
):
    _usage(organization, date(2026, 5, 31), api_calls=999, customers=1, storage_bytes=1)  # last month
    _usage(organization, date(2026, 6, 1), api_calls=120, customers=7, storage_bytes=2048)
    _usage(organization, date(2026, 6, 15), api_calls=30, customers=9, storage_bytes=3 * 1024 * 1024)
    _usage(organization, date(2026, 6, 16), api_calls=5000, customers=99, storage_bytes=9)  # not yet
    Subscription.objects.filter(organization=other_organization).update(
        status=Subscription.Status.PAST_DUE, ends_at=datetime(2027, 3, 1, 12, tzinfo=UTC)
    )
    Organization.objects.filter(pk=other_organization.pk).update(status=Organization.Status.SUSPENDED)

    response = console.get(LIST_URL)

    assert response.status_code == 200
    rows = {row.slug: row for row in response.context["cl"].result_list if row.slug in ("test-a", "test-b")}
    page = response.content.decode()
    a, b = rows["test-a"], rows["test-b"]
    assert (a.month_usage.api_calls, a.month_usage.customers, a.month_usage.storage_bytes) == (
        150,
        9,
        3 * 1024 * 1024,
    )
    assert (b.month_usage.api_calls, b.month_usage.customers) == (0, None)
    assert "3.0\xa0MB" in page
    assert "Suspended" in page and "Past due, ends 2027-03-01" in page and "Active, open-ended" in page
    assert page.count("Standard") >= 2

    # The usage of a page is one query whatever its length: one more organization, same count.
    with django_assert_max_num_queries(30) as counted:
        console.get(LIST_URL)
    # A row without its schema (bulk_create skips the clone): the list reads only public rows.
    extra = Organization.objects.bulk_create(
        [Organization(slug="extra", name="Extra", schema_name="org_extra")]
    )
    Subscription.objects.create(organization=extra[0], plan=Plan.objects.get(code="standard"))
    _usage(extra[0], date(2026, 6, 2), api_calls=1, customers=1, storage_bytes=1)
    with django_assert_max_num_queries(len(counted.captured_queries)):
        console.get(LIST_URL)


def test_the_list_filters_by_status_and_plan_and_searches(
    console, organization, other_organization, gold_plan
):
    Organization.objects.filter(pk=other_organization.pk).update(status=Organization.Status.SUSPENDED)
    Subscription.objects.filter(organization=organization).update(plan=gold_plan)

    def slugs(query: str) -> list[str]:
        response = console.get(LIST_URL + query)
        assert response.status_code == 200
        return sorted(row.slug for row in response.context["cl"].result_list)

    assert slugs("?status__exact=suspended") == ["test-b"]
    assert slugs(f"?subscriptions__plan__id__exact={gold_plan.pk}") == ["test-a"]
    assert slugs("?q=test-b") == ["test-b"]
    assert slugs("?q=test-a.localhost") == ["test-a"]


def test_the_change_page_shows_usage_and_the_actions(console, organization):
    _usage(organization, timezone.now().date(), api_calls=42, customers=5, storage_bytes=1024)

    response = console.get(f"/admin/tenants/organization/{organization.pk}/change/")

    page = response.content.decode()
    assert response.status_code == 200
    assert "42" in page and "1.0\xa0KB" in page
    for action in ("suspend", "schedule-deletion", "support"):
        assert f"/admin/tenants/organization/{organization.pk}/{action}/" in page
    assert f"/admin/tenants/organization/{organization.pk}/reactivate/" not in page


def test_merchant_staff_and_non_superusers_are_refused_the_console(organization, other_organization):
    with tenant_context(organization):
        StaffUserFactory(email="owner@a.example")
    connection.set_schema_to_public()
    User.objects.create_user(email="helper@example.com", password="correct horse battery", is_staff=True)
    merchant = HostClient(None)
    assert not merchant.login(email="owner@a.example", password="correct horse battery")
    staff = HostClient(None)
    assert staff.login(email="helper@example.com", password="correct horse battery")
    before = _counts()

    for client in (merchant, staff):
        for url in (LIST_URL, ADD_URL, f"/admin/tenants/organization/{organization.pk}/suspend/"):
            response = client.get(url)
            assert response.status_code == 302 and response["Location"].startswith("/admin/login/"), url
        response = client.post(f"/admin/tenants/organization/{organization.pk}/suspend/", {"reason": "x"})
        assert response.status_code == 302

    # The organization's own host serves its portal, never the console's pages.
    portal = HostClient(organization)
    portal.login(email="owner@a.example", password="correct horse battery")
    url = f"/admin/tenants/organization/{other_organization.pk}/suspend/"
    assert b'name="reason"' not in portal.get(url, follow=True).content
    assert portal.post(url, {"reason": "x"}).status_code in (302, 403, 404)
    assert _counts() == before
    assert Organization.objects.get(pk=organization.pk).status == "active"
