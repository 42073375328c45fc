"""Staff balance adjustments: a reason, the ledger, the audit log, and under Balanced and
Strict the customer's PIN (the contract's "balance adjustment by staff" row)."""

from decimal import Decimal

import pytest
from django_tenants.utils import tenant_context

from loyalty_platform.audit.models import AuditLogEntry
from loyalty_platform.stored_value.models import MoneyEntry
from loyalty_platform.stored_value.services import prepaid_transact
from loyalty_platform.verification.models import PinChallenge
from loyalty_platform.verification.services import open_pins_for_customer
from tests.admin_portal.test_merchant_admin import staff_login
from tests.pos_fixtures import balances, create_customer


def set_preset(organization, preset):
    organization.verification_preset = preset
    organization.save()


def test_standard_adjusts_points_at_once_with_a_reason_and_an_audit_record(organization, programs, client_a):
    staff_login(client_a, organization)
    customer = create_customer(organization, points=40)
    url = f"/admin/customers/customer/{customer.pk}/adjust/"

    assert (
        "Adjust points or stamps"
        in client_a.get(f"/admin/customers/customer/{customer.pk}/change/").content.decode()
    )
    no_reason = client_a.post(url, {"card_type": "point", "delta": "10", "reason": ""})
    zero = client_a.post(url, {"card_type": "point", "delta": "0", "reason": "x"})
    overdraw = client_a.post(url, {"card_type": "point", "delta": "-41", "reason": "x"})
    full_card = client_a.post(url, {"card_type": "stamp", "delta": "10", "reason": "x"})
    assert [r.status_code for r in (no_reason, zero, overdraw, full_card)] == [200, 200, 200, 200]
    assert "The balance cannot go below zero." in overdraw.content.decode()
    assert "would fill the stamp card" in full_card.content.decode()
    assert balances(organization, customer)["point"] == (40, 40, 1)

    done = client_a.post(url, {"card_type": "point", "delta": "-15", "reason": "Double scan on Monday"})

    assert done.status_code == 302
    assert balances(organization, customer)["point"] == (25, 25, 2)
    with tenant_context(organization):
        audit = AuditLogEntry.objects.get()
    assert (audit.action, audit.details["delta"], audit.details["reason"]) == (
        "programs.adjust",
        -15,
        "Double scan on Monday",
    )


@pytest.mark.parametrize("preset", ["balanced", "strict"])
def test_balanced_and_strict_ask_the_customers_pin_first(organization, programs, client_a, preset):
    set_preset(organization, preset)
    staff_login(client_a, organization)
    customer = create_customer(organization, points=40)
    url = f"/admin/customers/customer/{customer.pk}/adjust/"
    form = {"card_type": "point", "delta": "5", "reason": "Goodwill"}

    prompt = client_a.post(url, form)
    assert prompt.status_code == 200 and "shows a PIN now" in prompt.content.decode()
    with tenant_context(organization):
        (shown,) = open_pins_for_customer(customer=customer)
    assert shown["action"] == "adjust" and shown["challenge_id"] in prompt.content.decode()
    wrong_pin = (
        "0" * len(shown["pin"]) if shown["pin"] != "0" * len(shown["pin"]) else "1" * len(shown["pin"])
    )
    wrong = client_a.post(url, {**form, "pin": wrong_pin, "challenge_id": shown["challenge_id"]})
    assert "Wrong PIN: 2 attempts left." in wrong.content.decode()
    assert balances(organization, customer)["point"] == (40, 40, 1)

    done = client_a.post(url, {**form, "pin": shown["pin"], "challenge_id": shown["challenge_id"]})

    assert done.status_code == 302
    assert balances(organization, customer)["point"] == (45, 45, 2)
    with tenant_context(organization):
        assert PinChallenge.objects.get(pk=shown["challenge_id"]).status == "spent"
    replay = client_a.post(url, {**form, "pin": shown["pin"], "challenge_id": shown["challenge_id"]})
    assert "shows a PIN now" in replay.content.decode()  # a spent PIN authorizes nothing more
    assert balances(organization, customer)["point"] == (45, 45, 2)


def test_prepaid_adjustments_ask_the_pin_under_balanced_but_giftcards_do_not(
    organization, programs, client_a
):
    set_preset(organization, "balanced")
    staff_login(client_a, organization)
    customer = create_customer(organization)
    with tenant_context(organization):
        account = prepaid_transact(
            customer=customer, amount=Decimal("20.00"), currency="EUR", external_id="top-up"
        ).entry.prepaid_account
    url = f"/admin/stored_value/prepaidaccount/{account.pk}/adjust/"

    prompt = client_a.post(url, {"amount": "-5.00", "reason": "Refund at the counter"})
    assert "shows a PIN now" in prompt.content.decode()
    with tenant_context(organization):
        (shown,) = open_pins_for_customer(customer=customer)
    done = client_a.post(
        url,
        {
            "amount": "-5.00",
            "reason": "Refund at the counter",
            "pin": shown["pin"],
            "challenge_id": shown["challenge_id"],
        },
    )

    assert done.status_code == 302
    with tenant_context(organization):
        account.refresh_from_db()
        assert account.balance == Decimal("15.00")
        assert MoneyEntry.objects.filter(prepaid_account=account, cause="adjust").count() == 1
