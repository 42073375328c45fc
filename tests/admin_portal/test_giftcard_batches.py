"""Giftcard batches: a face value every card starts with (through the ledger) and an expiry
picked as a date."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from loyalty_platform.core.errors import DomainError
from loyalty_platform.stored_value.models import Giftcard, GiftcardBatch, MoneyEntry
from loyalty_platform.stored_value.services import giftcard_batch_generate
from tests.admin_portal.test_merchant_admin import staff_login

ADD = "/admin/stored_value/giftcardbatch/add/"


def test_a_batch_with_a_face_value_prints_cards_that_start_with_it(organization, client_a):
    staff_login(client_a, organization)
    add_page = client_a.get(ADD).content.decode()
    assert 'type="date" name="expires_on"' in add_page and 'name="face_value"' in add_page

    response = client_a.post(
        ADD, {"name": "Tens", "count": 3, "face_value": "10.00", "expires_on": "2099-12-31"}
    )

    assert response.status_code == 302
    with tenant_context(organization):
        batch = GiftcardBatch.objects.get(name="Tens")
        assert (batch.face_value, batch.currency, batch.expires_on) == (
            Decimal("10.00"),
            "EUR",
            datetime.date(2099, 12, 31),
        )
        cards = list(batch.giftcards.all())
        assert [(c.balance, c.status) for c in cards] == [(Decimal("10.00"), "active")] * 3
        end_of_day = timezone.make_aware(datetime.datetime(2100, 1, 1))
        assert {c.expires_at for c in cards} == {end_of_day}
        entries = MoneyEntry.objects.filter(giftcard__batch=batch)
        assert (
            sorted((e.cause, e.amount, e.balance_after) for e in entries)
            == [("load", Decimal("10.00"), Decimal("10.00"))] * 3
        )
    change_page = client_a.get(f"/admin/stored_value/giftcardbatch/{batch.pk}/change/").content.decode()
    assert "10.00" in change_page and 'name="face_value"' not in change_page  # read-only once printed


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("face_value", "10.005", "Ensure that there are no more than 2 decimal places."),
        ("face_value", "-1", "Give 0 or more EUR"),
        ("face_value", "ten", "Enter a number."),
        ("expires_on", "next spring", "Enter a valid date."),
        ("expires_on", "2001-01-01", "The expiry date is in the past."),
    ],
)
def test_bad_face_values_and_dates_are_form_errors(organization, client_a, field, value, message):
    staff_login(client_a, organization)
    form = {"name": "Bad", "count": 2, "face_value": "5", "expires_on": "", field: value}

    response = client_a.post(ADD, form)

    assert response.status_code == 200 and message in response.content.decode()
    with tenant_context(organization):
        assert not GiftcardBatch.objects.exists() and not Giftcard.objects.exists()


def test_both_errors_are_shown_at_once(organization, client_a):
    staff_login(client_a, organization)

    page = client_a.post(
        ADD, {"name": "Bad", "count": 2, "face_value": "-1", "expires_on": "x"}
    ).content.decode()

    assert "Give 0 or more EUR" in page and "Enter a valid date." in page


def test_without_a_face_value_cards_are_printed_empty_and_inactive(in_organization):
    batch = giftcard_batch_generate(name="Blank", count=2, currency="EUR")

    assert [(c.balance, c.status, c.expires_at) for c in batch.giftcards.all()] == [
        (Decimal("0.00"), "inactive", None)
    ] * 2
    assert not MoneyEntry.objects.exists()


def test_the_service_refuses_a_face_value_the_currency_cannot_hold(in_organization):
    for currency, value in (("EUR", Decimal("1.001")), ("JPY", Decimal("1.5")), ("EUR", Decimal("-2"))):
        with pytest.raises(DomainError) as refused:
            giftcard_batch_generate(name="x", count=1, currency=currency, face_value=value)
        assert refused.value.code == "amount_invalid"
    assert not GiftcardBatch.objects.exists()
