"""Inviting staff, accepting an invitation, roles and deactivation, through the merchant admin."""

import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone
from django_tenants.utils import tenant_context

from loyalty_platform.accounts.models import StaffInvitation, User
from loyalty_platform.accounts.roles import role_of
from loyalty_platform.accounts.services import (
    StaffError,
    staff_deactivate,
    staff_reactivate,
    staff_role_set,
    staff_user_create,
)
from loyalty_platform.audit.models import AuditLogEntry
from tests.conftest import HostClient
from tests.factories import StaffUserFactory

PASSWORD = "correct horse battery"
NEW_PASSWORD = "a long new password 42"
LINK = re.compile(r"http://test-a\.localhost(?::\d+)?(/admin/accept-invite/[\w-]+/)")


def signed_in(organization, role: str | None = None, email: str = "owner@example.com") -> HostClient:
    with tenant_context(organization):
        StaffUserFactory(email=email, role=role)
    client = HostClient(organization)
    assert client.login(email=email, password=PASSWORD)
    return client


@pytest.fixture
def owner_client(organization) -> HostClient:
    return signed_in(organization)


def invite(client, mailoutbox, capture, email="new@example.com", role="cashier") -> str:
    with capture(execute=True):
        response = client.post("/admin/accounts/user/invite/", {"email": email, "role": role})
    assert (response.status_code, response["Location"]) == (302, "/admin/accounts/user/")
    return LINK.search(mailoutbox[-1].body).group(1)


def test_an_owner_invites_and_the_link_sets_the_password_and_signs_in(
    organization, owner_client, mailoutbox, django_capture_on_commit_callbacks
):
    path = invite(owner_client, mailoutbox, django_capture_on_commit_callbacks)

    assert [m.to for m in mailoutbox] == [["new@example.com"]]
    assert "Test Org A" in mailoutbox[0].subject
    with tenant_context(organization):
        user = User.objects.get(email="new@example.com")
        assert (user.has_usable_password(), user.is_superuser, user.is_staff, user.is_active) == (
            False,
            False,
            True,
            True,
        )
        assert list(user.groups.values_list("name", flat=True)) == ["cashier"]
        assert AuditLogEntry.objects.filter(action="staff.invite", target_id=str(user.pk)).count() == 1
    invited = HostClient(organization)
    assert invited.get(path).status_code == 200

    response = invited.post(path, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})

    assert (response.status_code, response["Location"]) == (302, "/admin/")
    # A cashier lands on the till.
    assert invited.get("/admin/")["Location"] == "/admin/till/"
    assert invited.get("/admin/till/").status_code == 200
    with tenant_context(organization):
        user.refresh_from_db()
        assert user.check_password(NEW_PASSWORD)
        assert AuditLogEntry.objects.filter(action="staff.invite_accept", target_id=str(user.pk)).count() == 1
    # Single use: the same link again changes nothing.
    again = HostClient(organization).post(
        path, {"new_password1": "other pass 12345", "new_password2": "other pass 12345"}
    )
    assert again.status_code == 404
    with tenant_context(organization):
        user.refresh_from_db()
        assert user.check_password(NEW_PASSWORD)


def test_an_expired_invitation_is_refused(
    organization, owner_client, mailoutbox, django_capture_on_commit_callbacks
):
    path = invite(owner_client, mailoutbox, django_capture_on_commit_callbacks)
    with tenant_context(organization):
        StaffInvitation.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    response = HostClient(organization).post(
        path, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )

    assert response.status_code == 404
    with tenant_context(organization):
        assert not User.objects.get(email="new@example.com").has_usable_password()
        assert StaffInvitation.objects.get().accepted_at is None


def test_an_invitation_of_organization_a_does_nothing_on_b(
    organization, other_organization, owner_client, mailoutbox, django_capture_on_commit_callbacks
):
    path = invite(owner_client, mailoutbox, django_capture_on_commit_callbacks)
    on_b = HostClient(other_organization)

    assert on_b.get(path).status_code == 404
    response = on_b.post(path, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})

    assert response.status_code == 404
    with tenant_context(other_organization):
        assert not User.objects.filter(email="new@example.com").exists()
    with tenant_context(organization):
        assert not User.objects.get(email="new@example.com").has_usable_password()
        assert StaffInvitation.objects.get().accepted_at is None


def test_a_weak_password_is_refused_and_the_link_stays_open(
    organization, owner_client, mailoutbox, django_capture_on_commit_callbacks
):
    path = invite(owner_client, mailoutbox, django_capture_on_commit_callbacks)

    response = HostClient(organization).post(path, {"new_password1": "password", "new_password2": "password"})

    assert response.status_code == 200
    assert "too common" in response.content.decode()
    with tenant_context(organization):
        assert StaffInvitation.objects.get().accepted_at is None
        assert not User.objects.get(email="new@example.com").has_usable_password()


def test_inviting_an_existing_address_is_refused_with_a_form_error(
    organization, owner_client, mailoutbox, django_capture_on_commit_callbacks
):
    with tenant_context(organization):
        StaffUserFactory(email="taken@example.com", role="manager")

    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(
            "/admin/accounts/user/invite/", {"email": "Taken@Example.com", "role": "cashier"}
        )

    assert response.status_code == 200
    assert "already has a staff account" in response.content.decode()
    assert mailoutbox == []
    with tenant_context(organization):
        assert role_of(User.objects.get(email="taken@example.com")) == "manager"
        assert not StaffInvitation.objects.exists()


@pytest.mark.parametrize(
    "path",
    [
        "/admin/tenants/apikey/",
        "/admin/tenants/apikey/add/",
        "/admin/accounts/user/",
        "/admin/accounts/user/invite/",
        "/admin/accounts/user/two-factor-policy/",
        "/admin/tenants/organization/",
        "/admin/audit/auditlogentry/",
        "/admin/programs/program/add/",
    ],
)
def test_a_cashier_gets_403_from_settings_staff_and_keys(organization, path):
    client = signed_in(organization, role="cashier", email="cashier@example.com")

    assert client.get(path).status_code == 403


def test_a_cashier_gets_403_on_the_organization_settings_and_sees_no_such_links(organization):
    client = signed_in(organization, role="cashier", email="cashier@example.com")

    assert client.get(f"/admin/tenants/organization/{organization.pk}/change/").status_code == 403
    # The sidebar on their landing page, the till.
    index = client.get("/admin/", follow=True)
    assert index.redirect_chain == [("/admin/till/", 302)]
    page = index.content.decode()
    assert "/admin/customers/customer/" in page
    for hidden in ("/admin/tenants/apikey/", "/admin/accounts/user/", "/admin/tenants/organization/"):
        assert hidden not in page


def test_a_manager_cannot_invite_or_see_staff(organization):
    client = signed_in(organization, role="manager", email="manager@example.com")

    assert (
        client.post("/admin/accounts/user/invite/", {"email": "x@example.com", "role": "owner"}).status_code
        == 403
    )
    assert client.get("/admin/accounts/user/").status_code == 403
    with tenant_context(organization):
        assert not User.objects.filter(email="x@example.com").exists()


def test_the_owner_changes_a_role_and_deactivates_with_audit(organization, owner_client):
    with tenant_context(organization):
        member = StaffUserFactory(email="member@example.com", role="cashier")

    assert owner_client.get(f"/admin/accounts/user/{member.pk}/change/").status_code == 200
    role = owner_client.post(f"/admin/accounts/user/{member.pk}/role/", {"role": "manager"})
    status = owner_client.post(f"/admin/accounts/user/{member.pk}/status/")

    assert (role.status_code, status.status_code) == (302, 302)
    with tenant_context(organization):
        member.refresh_from_db()
        assert (role_of(member), member.is_active) == ("manager", False)
        actions = list(
            AuditLogEntry.objects.filter(target_id=str(member.pk))
            .order_by("pk")
            .values_list("action", "details")
        )
    assert actions == [
        ("staff.role_change", {"before": "cashier", "after": "manager"}),
        ("staff.deactivate", {"email": "member@example.com", "role": "manager", "is_active": False}),
    ]
    assert not HostClient(organization).login(email="member@example.com", password=PASSWORD)


def test_staff_cannot_change_their_own_role_or_deactivate_themselves(organization, owner_client):
    with tenant_context(organization):
        me = User.objects.get(email="owner@example.com")

    role = owner_client.post(f"/admin/accounts/user/{me.pk}/role/", {"role": "cashier"})
    status = owner_client.post(f"/admin/accounts/user/{me.pk}/status/")

    assert role.status_code == 200 and "your own role" in role.content.decode()
    assert status.status_code == 409 and "deactivate yourself" in status.content.decode()
    with tenant_context(organization):
        me.refresh_from_db()
        assert (role_of(me), me.is_active) == ("owner", True)
        assert not AuditLogEntry.objects.filter(action__startswith="staff.", target_id=str(me.pk)).exists()


def test_the_last_owner_cannot_be_demoted_or_deactivated(in_organization):
    last = StaffUserFactory(email="last@example.com")
    other = StaffUserFactory(email="other@example.com")
    staff_deactivate(user=other, actor=last)
    # Someone still able to act on `last` (as a later service caller would be).
    actor = StaffUserFactory(email="actor@example.com", role="manager")

    with pytest.raises(StaffError) as demote:
        staff_role_set(user=last, role="manager", actor=actor)
    with pytest.raises(StaffError) as deactivate:
        staff_deactivate(user=last, actor=actor)

    assert (demote.value.code, deactivate.value.code) == ("last_owner", "last_owner")
    last.refresh_from_db()
    assert (role_of(last), last.is_active) == ("owner", True)


def test_two_owners_can_hand_over(in_organization):
    first = StaffUserFactory(email="first@example.com")
    second = StaffUserFactory(email="second@example.com")

    staff_role_set(user=first, role="marketing", actor=second)

    assert list(Group.objects.get(name="owner").user_set.values_list("email", flat=True)) == [
        "second@example.com"
    ]


def test_the_operator_creates_an_owner_that_is_not_a_superuser(in_organization):
    owner = staff_user_create(email="Initial@Example.com", password="initial pass 123")

    assert (owner.email, owner.is_superuser, role_of(owner)) == ("initial@example.com", False, "owner")
    with pytest.raises(StaffError):
        staff_user_create(email="initial@example.com", password="x")


def test_before_accepting_nobody_signs_in_and_deactivation_kills_the_link(
    organization, owner_client, mailoutbox, django_capture_on_commit_callbacks
):
    path = invite(owner_client, mailoutbox, django_capture_on_commit_callbacks)
    with tenant_context(organization):
        invited = User.objects.get(email="new@example.com")
    login = HostClient(organization).post(
        "/admin/login/?next=/admin/", {"username": invited.email, "password": ""}
    )
    assert login.status_code == 200

    assert owner_client.post(f"/admin/accounts/user/{invited.pk}/status/").status_code == 302
    response = HostClient(organization).post(
        path, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )

    assert response.status_code == 404
    with tenant_context(organization):
        invited.refresh_from_db()
        assert (invited.is_active, invited.has_usable_password()) == (False, False)
        assert StaffInvitation.objects.get().accepted_at is None


def test_a_deactivated_invitee_stays_out_after_a_reactivation(
    organization, owner_client, mailoutbox, django_capture_on_commit_callbacks
):
    path = invite(owner_client, mailoutbox, django_capture_on_commit_callbacks)
    with tenant_context(organization):
        invitee = User.objects.get(email="new@example.com")
        owner = User.objects.get(email="owner@example.com")
        staff_deactivate(user=invitee, actor=owner)
        staff_reactivate(user=invitee, actor=owner)

    assert HostClient(organization).get(path).status_code == 404
