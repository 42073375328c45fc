"""Suspension and reactivation: the services, what the POS API answers (by host and by key),
the read-only portal with its banner, the customer profile, and the console's pages."""

import pytest
from django.db import connection
from django_tenants.utils import tenant_context

from loyalty_platform.accounts.models import User
from loyalty_platform.audit.models import AuditLogEntry
from loyalty_platform.customers.models import Customer
from loyalty_platform.programs.models import Program
from tenants.lifecycle import LifecycleError, organization_reactivate, organization_suspend
from tenants.models import OperatorAction, Organization
from tests.conftest import HostClient
from tests.factories import StaffUserFactory
from tests.identification.test_qr_sessions import signed_in
from tests.pos_fixtures import PosClient, create_customer, refused, snapshot

SUSPENDED = {"error": "organization_suspended"}


def _earn(customer, external_id: str) -> dict:
    return {"customer_code": customer.customer_code, "amount": 10, "external_id": external_id}


def test_suspend_and_reactivate_record_the_reason_and_the_operator(organization, operator):
    suspended = organization_suspend(
        organization=organization, reason="  Unpaid invoice 42 ", operator=operator
    )

    assert (suspended.status, suspended.status_reason, suspended.is_suspended, suspended.is_active) == (
        "suspended",
        "Unpaid invoice 42",
        True,
        True,
    )
    assert suspended.status_changed_at is not None
    with pytest.raises(LifecycleError):
        organization_suspend(organization=organization, reason="again", operator=operator)

    active = organization_reactivate(organization=organization, reason="Paid", operator=operator)

    assert (active.status, active.status_reason, active.is_suspended) == ("active", "", False)
    assert list(
        OperatorAction.objects.filter(organization=organization).values_list(
            "action", "reason", "operator_email"
        )
    ) == [
        ("reactivate", "Paid", "operator@example.com"),
        ("suspend", "Unpaid invoice 42", "operator@example.com"),
    ]
    with tenant_context(organization):
        assert list(AuditLogEntry.objects.values_list("action", "actor", "target_type", "details")) == [
            (
                "platform.reactivate",
                None,
                "organization",
                {"operator": "operator@example.com", "reason": "Paid", "previous_status": "suspended"},
            ),
            (
                "platform.suspend",
                None,
                "organization",
                {"operator": "operator@example.com", "reason": "Unpaid invoice 42"},
            ),
        ]


def test_a_reason_is_required_and_a_refusal_changes_nothing(organization, operator):
    for reason in ("", "   "):
        with refused("reason_required"):
            organization_suspend(organization=organization, reason=reason, operator=operator)
    with pytest.raises(LifecycleError):
        organization_reactivate(organization=organization, reason="not suspended", operator=operator)

    assert Organization.objects.get(pk=organization.pk).status == "active"
    assert OperatorAction.objects.count() == 0
    with tenant_context(organization):
        assert AuditLogEntry.objects.count() == 0


def test_the_pos_api_refuses_every_call_while_suspended_by_host_and_by_key(
    organization, other_organization, programs, key_a, key_b, operator
):
    customer = create_customer(organization)
    by_host = PosClient("test-a.localhost", key_a)
    by_key = PosClient("localhost", key_a)
    other = PosClient("localhost", key_b)
    # Warm the cached copies of the organization first: the suspension must forget them.
    assert by_host.get("/webhook/customer", {"code": customer.customer_code}).status_code == 200
    assert by_key.get("/webhook/customer", {"code": customer.customer_code}).status_code == 200

    organization_suspend(organization=organization, reason="Unpaid", operator=operator)
    before = snapshot(organization)

    for client in (by_host, by_key):
        get = client.get("/webhook/customer", {"code": customer.customer_code})
        post = client.post(
            "/webhook/pos", _earn(customer, f"suspended-{client.client.defaults['HTTP_HOST']}")
        )
        assert (get.status_code, get.json()) == (403, SUSPENDED)
        assert (post.status_code, post.json()) == (403, SUSPENDED)
    assert snapshot(organization) == before
    # Another organization's key is not affected.
    other_customer = create_customer(other_organization)
    assert other.get("/webhook/customer", {"code": other_customer.customer_code}).status_code == 200

    organization_reactivate(organization=organization, reason="Paid", operator=operator)

    assert by_host.get("/webhook/customer", {"code": customer.customer_code}).status_code == 200
    post = by_key.post("/webhook/pos", _earn(customer, "after-reactivation"))
    assert (post.status_code, post.json()) == (200, {"data": {"stamps": 0, "points": 10}})


@pytest.fixture
def owner_portal(organization, programs) -> HostClient:
    with tenant_context(organization):
        StaffUserFactory(email="owner@a.example")
    client = HostClient(organization)
    assert client.login(email="owner@a.example", password="correct horse battery")
    return client


def test_the_portal_is_read_only_with_a_banner_while_suspended(organization, owner_portal, operator):
    customer = create_customer(organization, email="reader@example.com")
    change_url = f"/admin/customers/customer/{customer.pk}/change/"
    program_url = f"/admin/programs/program/{programs_pk(organization)}/change/"
    assert b'name="_save"' in owner_portal.get(program_url).content

    organization_suspend(organization=organization, reason="Unpaid invoice 42", operator=operator)

    page = owner_portal.get(program_url)
    assert page.status_code == 200
    content = page.content.decode()
    assert 'name="_save"' not in content
    assert "The platform operator suspended this organization: Unpaid invoice 42." in content
    assert "Unpaid invoice 42" in owner_portal.get("/admin/").content.decode()
    assert owner_portal.get(change_url).status_code == 200
    listing = owner_portal.get("/admin/programs/program/").content.decode()
    assert "/admin/programs/program/add/" not in listing

    with tenant_context(organization):
        name_before = Program.objects.get(pk=programs_pk(organization)).name
        staff_before = User.objects.count()
    refusals = [
        owner_portal.post(program_url, {"name": "Renamed", "kind": "point"}),
        owner_portal.post("/admin/programs/program/add/", {"name": "New", "kind": "point"}),
        owner_portal.post(f"/admin/customers/customer/{customer.pk}/delete/", {"post": "yes"}),
        owner_portal.post("/admin/accounts/user/invite/", {"email": "new@a.example", "role": "cashier"}),
        owner_portal.post("/admin/tenants/organization/", {}),
    ]
    # A page of the portal's own that exists only to change something is refused even to open.
    refusals.append(owner_portal.get(f"/admin/customers/customer/{customer.pk}/adjust/"))
    assert [response.status_code for response in refusals] == [403] * 6
    assert "Nothing can be changed while the organization is suspended" in refusals[0].content.decode()
    with tenant_context(organization):
        assert Program.objects.get(pk=programs_pk(organization)).name == name_before
        assert User.objects.count() == staff_before
        assert Customer.objects.filter(pk=customer.pk).exists()

    # Signing out and in again still works.
    assert owner_portal.post("/admin/logout/").status_code in (200, 302)
    signed = owner_portal.post(
        "/admin/login/?next=/admin/", {"username": "owner@a.example", "password": "correct horse battery"}
    )
    assert (signed.status_code, signed["Location"]) == (302, "/admin/")

    organization_reactivate(organization=organization, reason="Paid", operator=operator)

    assert owner_portal.get(f"/admin/customers/customer/{customer.pk}/adjust/").status_code == 200
    page = owner_portal.get(program_url).content.decode()
    assert 'name="_save"' in page and "suspended this organization" not in page


def programs_pk(organization) -> int:
    with tenant_context(organization):
        return Program.objects.get(kind="point").pk


def test_customers_still_see_balances_but_nobody_new_joins(organization, programs, operator, mailoutbox):
    customer = create_customer(organization, email="member@example.com", points=70)
    organization_suspend(organization=organization, reason="Unpaid", operator=operator)

    profile = signed_in(organization, customer).get("/me/")
    assert profile.status_code == 200
    assert "70" in profile.content.decode()
    login = HostClient(organization).post("/me/login", {"email": "member@example.com"})
    assert login.status_code == 200 and len(mailoutbox) == 1

    signup = HostClient(organization).post(
        "/me/signup", {"email": "new@example.com", "consent_terms": "on", "consent_privacy": "on"}
    )
    assert signup.status_code == 403
    assert "takes no new members at the moment" in signup.content.decode()
    with tenant_context(organization):
        assert not Customer.objects.filter(email="new@example.com").exists()
    assert len(mailoutbox) == 1


def test_the_console_suspends_and_reactivates_with_a_reason(console, organization):
    url = f"/admin/tenants/organization/{organization.pk}/suspend/"
    assert console.get(url).status_code == 200

    missing = console.post(url, {"reason": ""})
    assert missing.status_code == 422 and Organization.objects.get(pk=organization.pk).status == "active"

    done = console.post(url, {"reason": "Unpaid"})
    assert (done.status_code, done["Location"]) == (
        302,
        f"/admin/tenants/organization/{organization.pk}/change/",
    )
    assert Organization.objects.get(pk=organization.pk).status == "suspended"
    again = console.post(url, {"reason": "Twice"})
    assert again.status_code == 409 and OperatorAction.objects.filter(action="suspend").count() == 1

    page = console.get(f"/admin/tenants/organization/{organization.pk}/change/").content.decode()
    assert f"/admin/tenants/organization/{organization.pk}/reactivate/" in page
    assert "suspend: " not in page or "Unpaid" in page

    console.post(f"/admin/tenants/organization/{organization.pk}/reactivate/", {"reason": "Paid"})
    assert Organization.objects.get(pk=organization.pk).status == "active"
    connection.set_schema_to_public()
