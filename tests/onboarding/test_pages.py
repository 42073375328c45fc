"""The onboarding pages over HTTP: the dashboard's checklist, the share page, the poster PDF,
the "link copied" record and the dismissal, with who may open them and what a refusal leaves."""

import base64
import json
import re

import pytest
from django_tenants.utils import tenant_context

from loyalty_platform.accounts.roles import CASHIER, MANAGER, MARKETING, OWNER
from loyalty_platform.audit.models import AuditLogEntry
from loyalty_platform.branding.services import logo_replace
from loyalty_platform.core.qr import qr_png
from loyalty_platform.onboarding import poster
from loyalty_platform.onboarding.models import OnboardingState
from loyalty_platform.onboarding.selectors import join_url
from tenants.models import Organization
from tenants.platform import base_url
from tests.conftest import HostClient
from tests.factories import StaffUserFactory
from tests.onboarding.test_checklist import png

PASSWORD = "correct horse battery"
SHARE, POSTER, COPIED, DISMISS = (
    "/admin/share/",
    "/admin/share/poster.pdf",
    "/admin/share/copied/",
    "/admin/onboarding/dismiss/",
)


def signed_in(organization, role: str = OWNER, email: str | None = None) -> HostClient:
    email = email or f"{role}@example.com"
    with tenant_context(organization):
        StaffUserFactory(email=email, role=role)
    client = HostClient(organization)
    assert client.login(email=email, password=PASSWORD)
    return client


def recorded(organization) -> tuple[list, list]:
    with tenant_context(organization):
        states = list(OnboardingState.objects.values_list("dismissed_at", "join_link_shared_at"))
        actions = list(
            AuditLogEntry.objects.filter(action__startswith="onboarding.").values_list("action", flat=True)
        )
    return states, actions


def images_in(pdf: bytes) -> int:
    return len(re.findall(rb"/Subtype /Image", pdf))


def pdf_title(pdf: bytes) -> str:
    value = re.search(rb"/Title (\([^)]*\)|<[0-9a-f]+>)", pdf).group(1)
    if value.startswith(b"("):
        return value[1:-1].decode("latin-1")
    return bytes.fromhex(value[1:-1].decode()).decode("utf-16")


@pytest.mark.parametrize(("role", "shown"), [(OWNER, True), (MANAGER, True), (MARKETING, False)])
def test_the_dashboard_shows_the_checklist_to_those_who_set_the_program_up(organization, role, shown):
    response = signed_in(organization, role).get("/admin/")

    assert response.status_code == 200
    html = response.content.decode()
    assert ('id="onboarding"' in html) is shown
    if shown:
        assert "0 of 7 done" in html
        assert html.count('class="onboarding-step"') == 7


def step_links(html: str) -> dict[str, list[str]]:
    steps = re.findall(r'data-step="(\w+)".*?</li>', html, flags=re.S)
    blocks = re.findall(r'(data-step="\w+".*?</li>)', html, flags=re.S)
    return {step: re.findall(r'href="([^"]+)"', block) for step, block in zip(steps, blocks, strict=True)}


def test_each_step_links_only_to_pages_the_staff_member_may_open(organization):
    owner = step_links(signed_in(organization).get("/admin/").content.decode())
    manager = step_links(signed_in(organization, MANAGER).get("/admin/").content.decode())

    assert owner == {
        "brand": [f"/admin/tenants/organization/{organization.pk}/change/", "/admin/branding/logo/add/"],
        "program": ["/admin/programs/program/add/"],
        "reward": ["/admin/rewards/reward/add/"],
        "staff": ["/admin/accounts/user/invite/"],
        "key": ["/admin/tenants/apikey/add/", "/admin/till/"],
        "sale": ["/admin/till/"],
        "share": [SHARE],
    }
    assert manager == {
        "brand": [],
        "program": ["/admin/programs/program/add/"],
        "reward": ["/admin/rewards/reward/add/"],
        "staff": [],
        "key": ["/admin/till/"],
        "sale": ["/admin/till/"],
        "share": [SHARE],
    }


def test_a_dismissal_hides_the_checklist_for_every_owner_of_the_organization(
    organization, other_organization
):
    owner = signed_in(organization)
    response = owner.post(DISMISS)
    assert (response.status_code, response["Location"]) == (302, "/admin/")

    assert 'id="onboarding"' not in owner.get("/admin/").content.decode()
    other_owner = signed_in(organization, email="second-owner@example.com")
    assert 'id="onboarding"' not in other_owner.get("/admin/").content.decode()
    assert 'id="onboarding"' in signed_in(other_organization).get("/admin/").content.decode()


@pytest.mark.parametrize(
    ("role", "method", "status"),
    [(CASHIER, "post", 403), (MARKETING, "post", 403), (OWNER, "get", 405)],
)
def test_a_refused_dismissal_changes_nothing(organization, role, method, status):
    response = getattr(signed_in(organization, role), method)(DISMISS)

    assert response.status_code == status
    if status == 405:
        assert response.json() == {"error": "method_not_allowed"}
    assert recorded(organization) == ([], [])


def test_the_share_page_shows_the_join_link_and_its_qr(organization):
    response = signed_in(organization, MARKETING).get(SHARE)

    assert response.status_code == 200
    html = response.content.decode()
    with tenant_context(organization):
        url = join_url(organization=organization)
    assert url == base_url("onboard-a.localhost") + "/me/signup"
    assert f'value="{url}"' in html
    assert f"data:image/png;base64,{base64.b64encode(qr_png(url, box_size=8)).decode()}" in html
    assert f'action="{POSTER}"' in html
    # Opening the page shares nothing yet.
    assert recorded(organization) == ([], [])


def test_the_join_link_is_the_organizations_own(organization, other_organization):
    with tenant_context(other_organization):
        other = join_url(organization=other_organization)
    html = signed_in(organization).get(SHARE).content.decode()
    assert "onboard-b.localhost" in other
    assert other not in html


def test_the_poster_is_a_pdf_with_the_organizations_name_and_ticks_the_step(organization):
    client = signed_in(organization)
    # A GET (a prefetch, an opened link) reads only.
    assert client.get(POSTER).content.startswith(b"%PDF")
    assert recorded(organization) == ([], [])

    response = client.post(POSTER)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="join-poster-onboard-a.pdf"'
    assert response.content.startswith(b"%PDF")
    assert pdf_title(response.content) == "Join Onboard Café A"
    (state,), actions = recorded(organization)
    assert state[1] is not None
    assert actions == ["onboarding.join_link_share"]


def test_the_poster_spells_a_name_with_accents_and_carries_the_logo(organization):
    client = signed_in(organization)
    # The QR alone, then the QR and the logo.
    assert images_in(client.get(POSTER).content) == 1
    organization.name = "Kavinė Šešėlis"
    organization.save(update_fields=["name"])
    with tenant_context(organization):
        logo_replace(upload=png(), actor=None)

    response = client.get(POSTER)

    assert response.status_code == 200
    assert pdf_title(response.content) == "Join Kavinė Šešėlis"
    assert images_in(response.content) == 2


def test_another_organizations_staff_get_nothing_of_this_poster(organization, other_organization):
    with tenant_context(other_organization):
        StaffUserFactory(email="owner-b@example.com")
    intruder = HostClient(organization)
    # Their account lives in the other organization's schema: this host does not know it.
    assert not intruder.login(email="owner-b@example.com", password=PASSWORD)
    response = intruder.get(POSTER)
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")

    own = signed_in(other_organization, email="owner-b2@example.com").get(POSTER)
    assert pdf_title(own.content) == "Join Onboard Café B"
    assert recorded(organization) == ([], [])


@pytest.mark.parametrize("path", [SHARE, POSTER, COPIED])
def test_a_cashier_gets_403_for_the_share_pages_and_nothing_is_recorded(organization, path):
    client = signed_in(organization, CASHIER)

    assert client.get(path).status_code == 403
    assert client.post(path).status_code == 403
    assert recorded(organization) == ([], [])


def test_copying_the_link_is_recorded_and_ticks_the_step(organization):
    client = signed_in(organization)

    response = client.post(COPIED, HTTP_ACCEPT="application/json")

    assert response.status_code == 200
    (state,), actions = recorded(organization)
    assert response.json() == {"data": {"shared_at": state[1].isoformat()}}
    assert actions == ["onboarding.join_link_share"]
    assert "0 of 7 done" not in client.get("/admin/").content.decode()
    assert "1 of 7 done" in client.get("/admin/").content.decode()


def test_the_copied_record_refuses_other_methods_and_changes_nothing(organization):
    client = signed_in(organization)

    for method in ("get", "put", "delete"):
        response = getattr(client, method)(COPIED)
        assert (response.status_code, response.json(), response["Allow"]) == (
            405,
            {"error": "method_not_allowed"},
            "POST",
        )
    response = client.put(POSTER)
    assert (response.status_code, response.json()) == (405, {"error": "method_not_allowed"})
    assert recorded(organization) == ([], [])


def test_the_copied_form_without_its_script_returns_to_the_share_page(organization):
    response = signed_in(organization).post(COPIED)

    assert (response.status_code, response["Location"]) == (302, SHARE)


@pytest.mark.parametrize("kind", ["stamp", "point"])
def test_the_program_form_carries_the_card_preview_in_the_brand_colour(organization, kind):
    Organization.objects.filter(pk=organization.pk).update(brand_color="#f2c94c")

    response = signed_in(organization).get(f"/admin/programs/program/add/?kind={kind}")

    assert response.status_code == 200
    html = response.content.decode()
    config = json.loads(
        re.search(r'id="card-preview-config" type="application/json">(.*?)</script>', html).group(1)
    )
    assert {key: config[key] for key in ("kind", "organization", "brand", "ink", "currency", "decimals")} == {
        "kind": kind,
        "organization": "Onboard Café A",
        "brand": "#f2c94c",
        "ink": "#000000",  # black reads better than white on yellow
        "currency": "EUR",
        "decimals": 2,
    }
    assert ('id="card-preview-stamps"' in html) is (kind == "stamp")
    assert ('id="card-preview-earn"' in html) is (kind == "point")
    assert "js/program_preview.js" in html


def test_the_choice_of_kind_has_no_preview(organization):
    html = signed_in(organization).get("/admin/programs/program/add/").content.decode()
    assert "card-preview" not in html


def test_without_the_unicode_font_the_poster_still_prints(organization, monkeypatch, tmp_path):
    monkeypatch.setattr(poster, "REGULAR", tmp_path / "missing.ttf")
    organization.name = "Kavinė Šešėlis"
    organization.save(update_fields=["name"])

    response = signed_in(organization).get(POSTER)

    assert response.status_code == 200
    assert response.content.startswith(b"%PDF")
    assert b"/BaseFont /Helvetica-Bold" in response.content
    assert b"DejaVu" not in response.content
    assert pdf_title(response.content) == "Join Kavinė Šešėlis"
