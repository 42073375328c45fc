"""The profile shows the points expiring within 30 days (page and /me/api/), and customers turn
the expiry warning emails on and off (a POST with CSRF; nothing else changes)."""

from datetime import timedelta

import pytest
import time_machine
from django_tenants.utils import tenant_context

from loyalty_platform.customers.models import Customer
from loyalty_platform.customers.session import SESSION_KEY
from tests.conftest import HostClient
from tests.identification.test_qr_sessions import signed_in
from tests.pos_fixtures import create_programs
from tests.programs.test_expiring_selectors import NOW, expiry_rule, lot, member

SOON = NOW + timedelta(days=12, hours=3)


def settings_of(organization, *customers) -> list[tuple[bool, object]]:
    with tenant_context(organization):
        return [
            Customer.objects.filter(pk=customer.pk).values_list("points_expiry_warnings", "updated_at").get()
            for customer in customers
        ]


def csrf_signed_in(organization, customer) -> HostClient:
    """A signed-in client that, like a browser, must send the CSRF token with a POST."""
    client = HostClient(organization, enforce_csrf_checks=True)
    with tenant_context(organization):
        session = client.session
        session[SESSION_KEY] = customer.pk
        session.save()
    client.cookies["sessionid"] = session.session_key
    return client


@pytest.fixture
def expiring(organization, programs):
    """A customer of a program whose points expire: 40 + 25 points within 30 days of NOW."""
    with tenant_context(organization):
        expiry_rule(programs["point"])
        card = member()
        lot(card, 40, SOON)
        lot(card, 25, NOW + timedelta(days=30))
        lot(card, 100, NOW + timedelta(days=90))
    return card.customer


def test_the_page_says_how_many_points_expire_and_when(organization, expiring):
    organization.timezone = "Europe/Vilnius"
    organization.save(update_fields=["timezone"])
    with time_machine.travel(NOW, tick=False):
        page = signed_in(organization, expiring).get("/me/").content.decode()

    assert "<strong>65</strong> points expire within 30 days, the first on 22 June 2026." in page
    assert "Spend them before then to keep their value." in page
    assert page.count('id="points-expiring"') == 1


def test_one_point_reads_in_the_singular_and_the_day_is_the_organizations(organization, programs):
    organization.timezone = "Europe/Vilnius"
    organization.save(update_fields=["timezone"])
    with tenant_context(organization):
        expiry_rule(programs["point"])
        card = member()
        lot(card, 1, NOW.replace(hour=22))  # 11 June, 01:00 in Vilnius
        lot(card, 9, None)

    with time_machine.travel(NOW, tick=False):
        page = signed_in(organization, card.customer).get("/me/").content.decode()

    assert "<strong>1</strong> point expires within 30 days, on 11 June 2026." in page


def test_nothing_expiring_shows_no_notice(organization, programs):
    with tenant_context(organization):
        expiry_rule(programs["point"])
        card = member()
        lot(card, 70, NOW + timedelta(days=31))

    with time_machine.travel(NOW, tick=False):
        page = signed_in(organization, card.customer).get("/me/").content.decode()

    assert "points-expiring" not in page and "within 30 days" not in page
    assert '<strong id="points-balance">70</strong>' in page


def test_the_api_gives_the_same_figures(organization, expiring):
    client = signed_in(organization, expiring)
    with time_machine.travel(NOW, tick=False):
        cards = client.get("/me/api/cards").json()["data"]["cards"]
        profile = client.get("/me/api/profile").json()["data"]

    with tenant_context(organization):
        card_number = expiring.cards.get(program__kind="point").card_number
    assert sorted(cards, key=lambda card: card["kind"]) == [
        {
            "program": "Points",
            "kind": "point",
            "card_number": card_number,
            "balance": 165,
            "worth": "1.65",
            "currency": "EUR",
            "min_redeem_points": 100,
            "points_expiring": {"points": 65, "expires_at": "2026-06-22T15:00:00+00:00"},
        },
        {
            "program": "Coffee",
            "kind": "stamp",
            "card_number": None,
            "balance": 0,
            "stamps_per_card": 10,
            "reward_name": "Free Coffee",
        },
    ]
    assert profile["points_expiry_warnings"] is True


def test_a_customer_without_a_point_card_has_nothing_expiring_in_the_api(organization, programs):
    with tenant_context(organization):
        customer = Customer.objects.create(
            customer_code=654321,
            email="nocard@example.com",
            consent_terms_at=NOW,
            consent_privacy_at=NOW,
        )

    cards = signed_in(organization, customer).get("/me/api/cards").json()["data"]["cards"]

    point_card = next(card for card in cards if card["kind"] == "point")
    assert (point_card["card_number"], point_card["points_expiring"]) == (
        None,
        {"points": 0, "expires_at": None},
    )


def test_the_customer_turns_the_warnings_off_and_on_again(organization, expiring):
    client = csrf_signed_in(organization, expiring)
    page = client.get("/me/").content.decode()
    token = client.cookies["csrftoken"].value
    assert 'action="/me/expiry-warnings"' in page and 'name="csrfmiddlewaretoken"' in page
    assert 'value="on" checked' in page and 'value="off" checked' not in page

    off = client.post("/me/expiry-warnings", {"points_expiry_warnings": "off", "csrfmiddlewaretoken": token})
    after_off = settings_of(organization, expiring)[0][0]
    shown = client.get("/me/").content.decode()
    on = client.post("/me/expiry-warnings", {"points_expiry_warnings": "on", "csrfmiddlewaretoken": token})
    after_on = settings_of(organization, expiring)[0][0]
    shown_again = client.get("/me/").content.decode()

    assert (off.status_code, off["Location"], after_off) == (302, "/me/", False)
    assert "Saved: we will not email you before your points expire." in shown
    assert 'value="off" checked' in shown and 'value="on" checked' not in shown
    assert (on.status_code, on["Location"], after_on) == (302, "/me/", True)
    assert "Saved: we will email you before your points expire." in shown_again
    assert "Saved: we will not email" not in shown_again  # a message shows once
    assert client.get("/me/api/profile").json()["data"]["points_expiry_warnings"] is True


@pytest.mark.parametrize("form", [{}, {"points_expiry_warnings": ""}, {"points_expiry_warnings": "no"}])
def test_a_bad_choice_is_refused_and_changes_nothing(organization, expiring, form):
    client = signed_in(organization, expiring)
    before = settings_of(organization, expiring)

    response = client.post("/me/expiry-warnings", form)

    assert response.status_code == 422
    assert "Please choose whether we should email you before your points expire." in response.content.decode()
    assert settings_of(organization, expiring) == before


def test_without_the_csrf_token_a_session_or_a_post_nothing_changes(organization, expiring):
    before = settings_of(organization, expiring)

    forged = csrf_signed_in(organization, expiring).post(
        "/me/expiry-warnings", {"points_expiry_warnings": "off"}
    )
    anonymous = HostClient(organization).post("/me/expiry-warnings", {"points_expiry_warnings": "off"})
    read = signed_in(organization, expiring).get("/me/expiry-warnings")

    assert forged.status_code == 403
    assert (anonymous.status_code, anonymous["Location"]) == (302, "/me/login?next=%2Fme%2Fexpiry-warnings")
    assert read.status_code == 405
    assert settings_of(organization, expiring) == before


def test_another_organizations_session_cannot_change_the_setting(organization, other_organization, programs):
    """Primary keys repeat across schemas: B's customer has the same key as A's."""
    create_programs(other_organization)
    with tenant_context(organization):
        mine = member(pk=987621, code=621621).customer
    with tenant_context(other_organization):
        theirs = member(pk=987621, code=621622).customer
    before = settings_of(organization, mine) + settings_of(other_organization, theirs)
    their_session = signed_in(other_organization, theirs).cookies["sessionid"].value
    intruder = HostClient(organization)
    intruder.cookies["sessionid"] = their_session

    response = intruder.post("/me/expiry-warnings", {"points_expiry_warnings": "off"})
    page = intruder.get("/me/")

    assert (response.status_code, response["Location"]) == (302, "/me/login?next=%2Fme%2Fexpiry-warnings")
    assert page.status_code == 302
    assert settings_of(organization, mine) + settings_of(other_organization, theirs) == before


def test_the_setting_shows_only_while_the_program_lets_points_expire(organization, programs):
    with tenant_context(organization):
        card = member()
    client = signed_in(organization, card.customer)

    never = client.get("/me/").content.decode()
    with tenant_context(organization):
        expiry_rule(programs["point"], "inactivity")
    expiring = client.get("/me/").content.decode()

    assert "expiry-warnings" not in never
    assert 'action="/me/expiry-warnings"' in expiring
    assert "points-expiring" not in expiring
