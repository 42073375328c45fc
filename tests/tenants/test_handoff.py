"""One-time links from the platform host into an organization's portal (tenants.handoff):
they sign in the named staff member once, on that organization's host only, for two minutes."""

from datetime import timedelta
from urllib.parse import urlsplit

import pytest
import time_machine
from django.utils import timezone
from django_tenants.utils import tenant_context

from loyalty_platform.accounts.services import staff_user_create
from loyalty_platform.audit.models import AuditLogEntry
from tenants.handoff import HANDOFF_SECONDS, handoff_issue
from tenants.models import PortalHandoff
from tests.conftest import HostClient

pytestmark = pytest.mark.django_db

OWNER = "owner@handoff.example"


@pytest.fixture
def owner(organization):
    with tenant_context(organization):
        return staff_user_create(email=OWNER, password="owner-password-1")


def _path(url: str) -> str:
    return urlsplit(url).path


def signed_in_email(client: HostClient, organization) -> str | None:
    response = client.get("/admin/")
    if response.status_code != 200:
        return None
    with tenant_context(organization):
        return response.wsgi_request.user.email


def test_a_handoff_signs_the_owner_in_once(organization, owner):
    url = handoff_issue(organization=organization, purpose=PortalHandoff.Purpose.SIGNUP, staff_email=OWNER)
    assert url.startswith(f"http://{organization.slug}.localhost")
    client = HostClient(organization)
    response = client.get(_path(url))
    assert (response.status_code, response["Location"]) == (302, "/admin/")
    assert signed_in_email(client, organization) == OWNER

    again = HostClient(organization)
    response = again.get(_path(url))
    assert response.status_code == 404
    assert signed_in_email(again, organization) is None


def test_a_handoff_does_not_work_on_another_organizations_host(organization, other_organization, owner):
    with tenant_context(other_organization):
        staff_user_create(email=OWNER, password="owner-password-1")
    url = handoff_issue(organization=organization, purpose=PortalHandoff.Purpose.SIGNUP, staff_email=OWNER)
    foreign = HostClient(other_organization)
    assert foreign.get(_path(url)).status_code == 404
    assert signed_in_email(foreign, other_organization) is None
    # Not spent by the refused try: its own host still takes it.
    assert PortalHandoff.objects.get().used_at is None
    assert HostClient(organization).get(_path(url)).status_code == 302


def test_an_expired_handoff_signs_nobody_in(organization, owner):
    url = handoff_issue(organization=organization, purpose=PortalHandoff.Purpose.SIGNUP, staff_email=OWNER)
    client = HostClient(organization)
    with time_machine.travel(timezone.now() + timedelta(seconds=HANDOFF_SECONDS + 1)):
        assert client.get(_path(url)).status_code == 404
    assert signed_in_email(client, organization) is None


@pytest.mark.parametrize("token", ["x", "a" * 101, "%00"])
def test_a_made_up_token_is_a_quiet_404(organization, owner, token):
    handoff_issue(organization=organization, purpose=PortalHandoff.Purpose.SIGNUP, staff_email=OWNER)
    client = HostClient(organization)
    assert client.get(f"/admin/handoff/{token}/").status_code in (400, 404)
    assert signed_in_email(client, organization) is None
    assert PortalHandoff.objects.get().used_at is None


def test_a_support_handoff_marks_the_session_and_is_in_the_merchants_audit_log(organization, owner):
    url = handoff_issue(
        organization=organization,
        purpose=PortalHandoff.Purpose.SUPPORT,
        staff_email=OWNER,
        operator_email="operator@platform.example",
        reason="Ticket 42: import fails",
    )
    client = HostClient(organization)
    assert client.get(_path(url)).status_code == 302
    assert client.session["support_session"] == {
        "operator": "operator@platform.example",
        "reason": "Ticket 42: import fails",
    }
    with tenant_context(organization):
        entry = AuditLogEntry.objects.get(action="support.session_start")
        assert entry.details == {"operator": "operator@platform.example", "reason": "Ticket 42: import fails"}
        assert entry.actor.email == OWNER


def test_a_deactivated_staff_member_is_not_signed_in(organization, owner):
    with tenant_context(organization):
        owner.is_active = False
        owner.save(update_fields=["is_active"])
    url = handoff_issue(organization=organization, purpose=PortalHandoff.Purpose.SIGNUP, staff_email=OWNER)
    client = HostClient(organization)
    assert client.get(_path(url)).status_code == 404
    assert signed_in_email(client, organization) is None
