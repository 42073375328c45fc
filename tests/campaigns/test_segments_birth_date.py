"""Customers' optional birth date: the POS enroll body (a bad one: 422 birth_date_invalid and
nothing stored), the look-up body that stays as the contract pins it, the profile page, the
staff customer form, erase and the data export."""

from datetime import date, timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from loyalty_platform.accounts.roles import MANAGER
from loyalty_platform.audit.models import AuditLogEntry
from loyalty_platform.core.errors import DomainError
from loyalty_platform.customers.models import Customer
from loyalty_platform.customers.services import customer_erase, customer_export, normalize_birth_date
from tests.campaigns.test_segments_admin import login
from tests.identification.test_qr_sessions import signed_in
from tests.pos_fixtures import create_customer, snapshot

ENROLL = {"email": "new@example.com", "consent_terms": True, "consent_privacy": True}


def stored(organization, email="new@example.com"):
    with tenant_context(organization):
        return Customer.objects.filter(email=email).values_list("birth_date", flat=True).first()


def test_enroll_stores_a_valid_birth_date_and_answers_the_pinned_body(organization, programs, pos):
    response = pos.post("/webhook/customer", {**ENROLL, "birth_date": "1990-02-28"})
    without = pos.post("/webhook/customer", {**ENROLL, "email": "plain@example.com"})
    assert (response.status_code, without.status_code) == (200, 200)
    # The same body as an enroll without it: the contract's fields, no birth date.
    assert list(response.json()["data"]) == list(without.json()["data"])
    assert "birth_date" not in response.json()["data"]
    assert stored(organization) == date(1990, 2, 28)
    code = response.json()["data"]["customer_code"]
    lookup = pos.get("/webhook/customer", {"code": code}).json()
    assert "birth_date" not in lookup["data"]


@pytest.mark.parametrize("value", [None, ""])
def test_enroll_with_a_null_or_empty_birth_date_stores_none(organization, programs, pos, value):
    assert pos.post("/webhook/customer", {**ENROLL, "birth_date": value}).status_code == 200
    assert stored(organization) is None


@pytest.mark.parametrize(
    "value",
    [
        "1990-02-30",
        "1990-2-3",
        "03/02/1990",
        "19900203",
        19900203,
        True,
        ["1990-02-03"],
        "2999-01-01",
        "1890-01-01",
        "1990-02-03T00:00:00",
    ],
)
def test_a_bad_birth_date_is_422_and_nothing_is_stored(organization, programs, pos, value):
    before = snapshot(organization)
    response = pos.post("/webhook/customer", {**ENROLL, "birth_date": value})
    assert (response.status_code, response.json()) == (
        422,
        {"error": "birth_date_invalid", "field": "birth_date"},
    )
    assert snapshot(organization) == before


def test_tomorrow_and_131_years_ago_are_refused_today_and_130_years_ago_are_not():
    today = date(2026, 12, 1)
    assert normalize_birth_date("2026-12-01", today=today) == today
    assert normalize_birth_date("1896-12-01", today=today) == date(1896, 12, 1)
    for value in ("2026-12-02", "1896-11-30"):
        with pytest.raises(DomainError) as refused:
            normalize_birth_date(value, today=today)
        assert refused.value.code == "birth_date_invalid"
    assert normalize_birth_date("", today=today) is None
    # Today is 29 February: 130 years back has none; 1 March of that year is the oldest.
    leap = date(2028, 2, 29)
    assert normalize_birth_date("1898-03-01", today=leap) == date(1898, 3, 1)
    with pytest.raises(DomainError):
        normalize_birth_date("1898-02-28", today=leap)


def test_a_known_email_with_a_bad_birth_date_is_refused_too_and_a_good_one_changes_nothing(
    organization, programs, pos
):
    create_customer(organization, email="new@example.com")
    assert pos.post("/webhook/customer", {**ENROLL, "birth_date": "nope"}).status_code == 422
    response = pos.post("/webhook/customer", {**ENROLL, "birth_date": "1990-01-01"})
    assert (response.status_code, response.json()["data"]["is_new"]) == (200, False)
    assert stored(organization) is None


def test_the_customer_sets_and_clears_their_birth_date_on_the_profile(organization, programs):
    customer = create_customer(organization, email="me@example.com")
    client = signed_in(organization, customer)
    page = client.get("/me/")
    assert 'name="birth_date"' in page.content.decode()

    saved = client.post("/me/birth-date", {"birth_date": "1985-07-14"})
    assert saved.status_code == 302
    assert stored(organization, "me@example.com") == date(1985, 7, 14)
    assert 'value="1985-07-14"' in client.get("/me/").content.decode()

    future = (timezone.localdate() + timedelta(days=1)).isoformat()
    for bad in (future, "1985-13-01", "x"):
        refused = client.post("/me/birth-date", {"birth_date": bad})
        assert refused.status_code == 422
        assert "real date in the past" in refused.content.decode()
        assert stored(organization, "me@example.com") == date(1985, 7, 14)

    assert client.post("/me/birth-date", {"birth_date": ""}).status_code == 302
    assert stored(organization, "me@example.com") is None
    assert client.get("/me/birth-date").status_code == 405


def test_staff_set_the_birth_date_on_the_customer_form_audited(client_a, organization, programs):
    customer = create_customer(organization, email="c@example.com")
    manager = login(client_a, organization, MANAGER, email="manager@example.com")
    url = f"/admin/customers/customer/{customer.pk}/change/"
    bad = client_a.post(url, {"name": "", "phone": "", "birth_date": "2999-01-01"})
    assert bad.status_code == 200 and "birth_date" in bad.context["adminform"].form.errors
    assert stored(organization, "c@example.com") is None
    good = client_a.post(url, {"name": "", "phone": "", "birth_date": "1970-05-06"})
    assert good.status_code == 302
    assert stored(organization, "c@example.com") == date(1970, 5, 6)
    with tenant_context(organization):
        entry = AuditLogEntry.objects.get(action="customers.update")
    assert (entry.actor_id, entry.details) == (manager.pk, {"changes": {"birth_date": [None, "1970-05-06"]}})


def test_erase_clears_the_birth_date_and_the_export_carries_it(organization, programs):
    customer = create_customer(organization, email="gone@example.com")
    with tenant_context(organization):
        Customer.objects.filter(pk=customer.pk).update(birth_date=date(1991, 3, 4))
        customer.refresh_from_db()
        assert customer_export(customer=customer)["customer"]["birth_date"] == "1991-03-04"
        customer_erase(customer=customer)
        assert Customer.objects.get(pk=customer.pk).birth_date is None
