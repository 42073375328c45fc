"""Support sessions: the operator opens an organization's portal from the console, as the
organization's platform support account, with a reason the merchant sees."""

import re

import pytest
from django_tenants.utils import tenant_context

from loyalty_platform.accounts.models import User
from loyalty_platform.accounts.roles import role_of
from loyalty_platform.audit.models import AuditLogEntry
from tenants.models import OperatorAction, Organization, PortalHandoff
from tests.conftest import HostClient
from tests.factories import StaffUserFactory

BANNER = "Platform support operator@example.com is signed in: Ticket 7, the till shows no rewards"


def _open(console, organization: Organization, reason: str = "Ticket 7, the till shows no rewards"):
    return console.post(f"/admin/tenants/organization/{organization.pk}/support/", {"reason": reason})


def _path(url: str) -> str:
    return "/" + url.split("/", 3)[3]


def test_the_console_signs_the_operator_in_once_with_a_banner_and_an_audit_entry(console, organization):
    assert console.get(f"/admin/tenants/organization/{organization.pk}/support/").status_code == 200

    response = _open(console, organization)

    assert response.status_code == 302
    assert re.fullmatch(r"http://test-a\.localhost(:\d+)?/admin/handoff/[\w-]+/", response["Location"])
    with tenant_context(organization):
        account = User.objects.get(is_platform_support=True)
        assert (account.email, role_of(account), account.has_usable_password(), account.is_superuser) == (
            "operator@example.com",
            "owner",
            False,
            False,
        )
    portal = HostClient(organization)
    signed = portal.get(_path(response["Location"]))
    assert (signed.status_code, signed["Location"]) == (302, "/admin/")
    page = portal.get("/admin/", follow=True)
    assert page.status_code == 200 and BANNER in page.content.decode()
    assert BANNER in portal.get("/admin/customers/customer/").content.decode()

    # Once only.
    assert HostClient(organization).get(_path(response["Location"])).status_code == 404
    with tenant_context(organization):
        entry = AuditLogEntry.objects.get(action="support.session_start")
    assert (entry.actor_id, entry.details) == (
        account.pk,
        {"operator": "operator@example.com", "reason": "Ticket 7, the till shows no rewards"},
    )
    assert list(OperatorAction.objects.values_list("action", "organization_slug", "reason")) == [
        ("support_session", "test-a", "Ticket 7, the till shows no rewards")
    ]


def test_the_merchant_sees_the_session_in_the_audit_log_and_the_support_account_in_the_staff_list(
    console, organization
):
    HostClient(organization).get(_path(_open(console, organization)["Location"]))
    with tenant_context(organization):
        StaffUserFactory(email="owner@a.example")
    owner = HostClient(organization)
    assert owner.login(email="owner@a.example", password="correct horse battery")

    staff = owner.get("/admin/accounts/user/").content.decode()
    assert "operator@example.com" in staff and "Owner (platform support)" in staff
    assert staff.count("(platform support)") == 1
    audit = owner.get("/admin/audit/auditlogentry/").content.decode()
    assert "Platform support signed in" in audit
    assert BANNER not in owner.get("/admin/").content.decode()


def test_another_organizations_link_is_refused(console, organization, other_organization):
    url = _open(console, organization)["Location"]

    refused = HostClient(other_organization).get(_path(url))

    assert refused.status_code == 404
    assert "_auth_user_id" not in HostClient(other_organization).session
    with tenant_context(other_organization):
        assert not AuditLogEntry.objects.filter(action="support.session_start").exists()
        assert not User.objects.filter(email="operator@example.com").exists()
    # Refused there, the link still works once on its own host.
    assert HostClient(organization).get(_path(url)).status_code == 302


def test_a_support_session_skips_the_owners_two_factor_step(console, organization):
    Organization.objects.filter(pk=organization.pk).update(staff_two_factor_required=True)
    with tenant_context(organization):
        StaffUserFactory(email="owner@a.example")
    owner = HostClient(organization)
    owner.login(email="owner@a.example", password="correct horse battery")
    assert owner.get("/admin/", follow=True).redirect_chain[-1][0].startswith("/admin/two-factor/")

    portal = HostClient(organization)
    portal.get(_path(_open(console, organization)["Location"]))

    assert portal.get("/admin/customers/customer/").status_code == 200


@pytest.mark.parametrize("reason", ["", "   "])
def test_a_reason_is_required(console, organization, reason):
    response = _open(console, organization, reason)

    assert response.status_code == 422
    assert PortalHandoff.objects.count() == 0 and OperatorAction.objects.count() == 0
    with tenant_context(organization):
        assert not User.objects.filter(is_platform_support=True).exists()


def test_a_merchant_account_with_the_operators_address_is_never_taken_over(console, organization):
    with tenant_context(organization):
        StaffUserFactory(email="operator@example.com", role="cashier")

    response = _open(console, organization)

    assert response.status_code == 409
    assert "is a staff member of test-a" in response.content.decode()
    assert PortalHandoff.objects.count() == 0
    with tenant_context(organization):
        member = User.objects.get(email="operator@example.com")
        assert (member.is_platform_support, role_of(member)) == (False, "cashier")
