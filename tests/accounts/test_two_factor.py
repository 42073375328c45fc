"""Two-factor sign-in with an authenticator app: enrolment, the code step after the password,
throttling of wrong codes, and owners sent to enrolment when the organization requires it."""

import re
from datetime import timedelta
from urllib.parse import quote

import time_machine
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_tenants.utils import tenant_context

from loyalty_platform.audit.models import AuditLogEntry
from tests.conftest import HostClient
from tests.factories import StaffUserFactory

PASSWORD = "correct horse battery"
VERIFY = "/admin/two-factor/verify/"
ENROL = "/admin/two-factor/"


def code_of(device: TOTPDevice, steps_ahead: int = 0) -> str:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time += steps_ahead * device.step
    return f"{totp.token():06d}"


def later(seconds: int):
    """django-otp waits a few seconds after a wrong code before it checks the next one."""
    return time_machine.travel(timezone.now() + timedelta(seconds=seconds), tick=False)


def password_sign_in(organization, email: str) -> HostClient:
    client = HostClient(organization)
    response = client.post("/admin/login/?next=/admin/", {"username": email, "password": PASSWORD})
    assert (response.status_code, response["Location"]) == (302, "/admin/")
    return client


def enrolled(organization, email: str = "owner@example.com", role: str | None = None) -> TOTPDevice:
    with tenant_context(organization):
        user = StaffUserFactory(email=email, role=role)
        return TOTPDevice.objects.create(user=user, name="phone", confirmed=True)


def test_staff_enrol_with_a_qr_code_and_a_code_from_the_app(organization):
    with tenant_context(organization):
        user = StaffUserFactory(email="owner@example.com")
    client = HostClient(organization)
    client.login(email="owner@example.com", password=PASSWORD)

    page = client.get(ENROL)

    assert page.status_code == 200
    body = page.content.decode()
    qr = body.split('class="two-factor-qr">', 1)[1].split("</svg>", 1)[0]
    assert qr.startswith("<svg") and "style=" not in qr
    assert not re.search(r"<script(?![^>]*\bsrc=)", body)  # no inline script (CSP)
    with tenant_context(organization):
        pending = TOTPDevice.objects.get(user=user)
    assert pending.confirmed is False
    assert client.get(ENROL).status_code == 200  # a reload shows the same secret
    with tenant_context(organization):
        assert list(TOTPDevice.objects.filter(user=user).values_list("pk", flat=True)) == [pending.pk]

    wrong = client.post(ENROL, {"code": "000000" if code_of(pending) != "000000" else "111111"})
    too_soon = client.post(ENROL, {"code": code_of(pending)})
    with later(3):
        response = client.post(ENROL, {"code": code_of(pending)})

    assert wrong.status_code == 200 and "not right" in wrong.content.decode()
    assert too_soon.status_code == 200 and "Wait a few seconds" in too_soon.content.decode()
    assert (response.status_code, response["Location"]) == (302, "/admin/")
    with tenant_context(organization):
        pending.refresh_from_db()
        assert pending.confirmed is True
        assert (
            AuditLogEntry.objects.filter(action="staff.two_factor_enrol", target_id=str(user.pk)).count() == 1
        )
    assert client.get("/admin/").status_code == 200


def test_after_the_password_the_code_is_asked_before_any_admin_page(organization):
    device = enrolled(organization)
    client = password_sign_in(organization, "owner@example.com")

    index = client.get("/admin/", follow=True)
    keys = client.get("/admin/tenants/apikey/")

    assert index.redirect_chain == [
        ("/admin/login/?next=/admin/", 302),
        (f"{VERIFY}?next={quote('/admin/', safe='')}", 302),
    ]
    assert "authenticator app" in index.content.decode()
    assert keys.status_code == 302
    # A password alone cannot swap the authenticator for another.
    assert client.get(ENROL)["Location"] == VERIFY

    response = client.post(VERIFY, {"code": code_of(device), "next": "/admin/tenants/apikey/"})

    assert (response.status_code, response["Location"]) == (302, "/admin/tenants/apikey/")
    assert client.get("/admin/tenants/apikey/").status_code == 200
    # The same code cannot sign in a second session.
    other = password_sign_in(organization, "owner@example.com")
    assert other.post(VERIFY, {"code": code_of(device)}).status_code == 200
    assert other.get("/admin/").status_code == 302


def test_wrong_codes_are_refused_and_throttled_like_wrong_passwords(organization):
    device = enrolled(organization)
    client = password_sign_in(organization, "owner@example.com")
    wrong = "000000" if code_of(device) != "000000" else "111111"

    answers = []
    for attempt in range(5):
        with later(60 * attempt):
            answers.append(client.post(VERIFY, {"code": wrong}).content.decode())
    with later(600):
        blocked = client.post(VERIFY, {"code": code_of(device)})

    assert all("not right" in answer for answer in answers)
    assert blocked.status_code == 200 and "Too many failed sign-ins" in blocked.content.decode()
    assert client.get("/admin/").status_code == 302
    # The password step counts the same failures.
    again = HostClient(organization).post(
        "/admin/login/?next=/admin/", {"username": "owner@example.com", "password": PASSWORD}
    )
    assert again.status_code == 200 and "Too many failed sign-ins" in again.content.decode()


def test_signing_out_from_the_code_step(organization):
    enrolled(organization)
    client = password_sign_in(organization, "owner@example.com")

    response = client.post(VERIFY, {"cancel": "1"})

    assert response["Location"] == "/admin/login/"
    assert "_auth_user_id" not in client.session


def test_owners_are_sent_to_enrolment_when_the_organization_requires_it(organization):
    organization.staff_two_factor_required = True
    organization.save()
    with tenant_context(organization):
        StaffUserFactory(email="owner@example.com")
        StaffUserFactory(email="cashier@example.com", role="cashier")
    owner = password_sign_in(organization, "owner@example.com")
    cashier = password_sign_in(organization, "cashier@example.com")

    index = owner.get("/admin/", follow=True)

    assert index.redirect_chain[-1] == (f"{ENROL}?next={quote('/admin/', safe='')}", 302)
    assert "requires owners" in index.content.decode()
    assert owner.get("/admin/tenants/apikey/").status_code == 302
    assert cashier.get("/admin/till/").status_code == 200
    with tenant_context(organization):
        pending = TOTPDevice.objects.get(user__email="owner@example.com")
    assert owner.post(ENROL, {"code": code_of(pending)}).status_code == 302
    assert owner.get("/admin/tenants/apikey/").status_code == 200


def test_the_owner_sets_the_requirement_with_an_audit_record(organization):
    with tenant_context(organization):
        StaffUserFactory(email="owner@example.com")
        StaffUserFactory(email="manager@example.com", role="manager")
    owner = HostClient(organization)
    owner.login(email="owner@example.com", password=PASSWORD)
    manager = HostClient(organization)
    manager.login(email="manager@example.com", password=PASSWORD)

    refused = manager.post("/admin/accounts/user/two-factor-policy/", {"staff_two_factor_required": "on"})
    organization.refresh_from_db()
    assert (refused.status_code, organization.staff_two_factor_required) == (403, False)

    response = owner.post("/admin/accounts/user/two-factor-policy/", {"staff_two_factor_required": "on"})

    assert response.status_code == 302
    organization.refresh_from_db()
    assert organization.staff_two_factor_required is True
    with tenant_context(organization):
        entry = AuditLogEntry.objects.get(action="organization.two_factor_required")
        assert (entry.actor.email, entry.details) == ("owner@example.com", {"before": False, "after": True})


def test_an_owner_resets_a_lost_authenticator(organization):
    device = enrolled(organization, email="cashier@example.com", role="cashier")
    with tenant_context(organization):
        StaffUserFactory(email="owner@example.com")
    owner = HostClient(organization)
    owner.login(email="owner@example.com", password=PASSWORD)

    response = owner.post(f"/admin/accounts/user/{device.user_id}/two-factor-reset/")

    assert response.status_code == 302
    with tenant_context(organization):
        assert not TOTPDevice.objects.filter(user_id=device.user_id).exists()
        assert AuditLogEntry.objects.filter(action="staff.two_factor_remove").count() == 1
    assert password_sign_in(organization, "cashier@example.com").get("/admin/till/").status_code == 200
