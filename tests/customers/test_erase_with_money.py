"""Deleting an account with money left (docs/decisions/0056): refused with customer_has_money
while prepaid credit or money on a giftcard sent to the customer's email is left, in the
profile and in the staff portal, changing nothing; allowed once the money is zero, keeping
the money ledger while the personal data goes; no money lands on an erased account."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from loyalty_platform.audit.models import AuditLogEntry
from loyalty_platform.branding.services import contact_email_set
from loyalty_platform.customers.models import Customer
from loyalty_platform.customers.services import customer_erase
from loyalty_platform.stored_value.models import Giftcard, MoneyEntry, PrepaidAccount
from loyalty_platform.stored_value.services import (
    giftcard_batch_generate,
    giftcard_block,
    giftcard_create_digital,
    giftcard_transact,
    money_adjust,
    money_entry_reverse,
    prepaid_transact,
)
from tests.admin_portal.test_customer_pages import CUSTOMERS, owner_login
from tests.factories import StaffUserFactory
from tests.identification.test_qr_sessions import signed_in
from tests.pos_fixtures import create_customer, create_programs, refused

EMAIL = "mia@example.com"


def prepaid(organization, customer, amount: str, external_id: str = "top-up"):
    with tenant_context(organization):
        return prepaid_transact(
            customer=customer, amount=Decimal(amount), currency="EUR", external_id=external_id
        )


def state(organization, customer) -> dict:
    """Everything an erasure changes or keeps."""
    with tenant_context(organization):
        return {
            "customer": Customer.objects.filter(pk=customer.pk)
            .values_list("email", "name", "phone", "status", "consent_marketing_at")
            .get(),
            "prepaid": list(
                PrepaidAccount.objects.filter(customer=customer).values_list("balance", "currency")
            ),
            "giftcards": list(
                Giftcard.objects.order_by("pk").values_list(
                    "pk", "recipient_email", "recipient_name", "balance"
                )
            ),
            "entries": list(
                MoneyEntry.objects.order_by("created_at", "pk").values_list(
                    "prepaid_account__customer_id", "giftcard_id", "amount", "balance_after", "cause"
                )
            ),
            "audit": list(AuditLogEntry.objects.order_by("pk").values_list("action", flat=True)),
            "links": customer.login_links.count(),
        }


@pytest.fixture
def mia(organization, programs):
    customer = create_customer(organization, email=EMAIL, points=10)
    with tenant_context(organization):
        Customer.objects.filter(pk=customer.pk).update(name="Mia", phone="+31612340000")
        contact_email_set(email="help@a.example", actor=None)
        customer.refresh_from_db()
    return customer


def test_the_profile_refuses_while_prepaid_credit_is_left_and_says_how_to_get_it_back(organization, mia):
    prepaid(organization, mia, "20.00")
    client = signed_in(organization, mia)
    before = state(organization, mia)

    response = client.post("/me/delete", {"confirm": "DELETE"})

    assert response.status_code == 409
    page = response.content.decode()
    assert '<h1 data-error="customer_has_money">Your account still holds money</h1>' in page
    assert "Your account was not deleted: there is money left on it." in page
    assert re.findall(r"<li>(.*?)</li>", page.split('class="money-left"')[1])[0] == "€20.00 of prepaid credit"
    assert (
        '<p id="money-left-how">To get it back, spend it at the till, or ask Test Org A for a refund. '
        "When nothing is left, the account can be deleted.</p>"
    ) in page
    assert '<a href="mailto:help@a.example">help@a.example</a>' in page
    assert state(organization, mia) == before
    assert client.get("/me/").status_code == 200  # still signed in


def test_the_service_names_each_balance_left(organization, mia):
    prepaid(organization, mia, "20.00")
    with tenant_context(organization):
        giftcard_create_digital(amount=Decimal("15.50"), currency="EUR", recipient_email="MIA@example.com")

    with tenant_context(organization), refused("customer_has_money") as caught:
        customer_erase(customer=mia)

    assert caught.value.status == 409
    assert caught.value.extra == {
        "money_left": [
            {"kind": "prepaid", "amount": "20.00", "currency": "EUR"},
            {"kind": "giftcard", "amount": "15.50", "currency": "EUR"},
        ]
    }


@pytest.mark.parametrize("blocked", [False, True], ids=["active", "blocked"])
def test_a_giftcard_with_money_sent_to_the_customer_refuses_the_deletion(organization, mia, blocked):
    with tenant_context(organization):
        card = giftcard_create_digital(
            amount=Decimal("5.00"), currency="EUR", recipient_email=EMAIL
        ).entry.giftcard
        if blocked:
            giftcard_block(giftcard=card, actor=StaffUserFactory(), reason="Lost")
    client = signed_in(organization, mia)
    before = state(organization, mia)

    response = client.post("/me/delete", {"confirm": "DELETE"})

    assert response.status_code == 409
    assert (
        "<li>€5.00 on a giftcard sent to this account&#x27;s email address</li>" in response.content.decode()
    )
    assert state(organization, mia) == before


def test_expired_spent_and_printed_giftcards_do_not_keep_the_account(organization, mia):
    with tenant_context(organization):
        expired = giftcard_create_digital(amount=Decimal("5.00"), currency="EUR", recipient_email=EMAIL)
        Giftcard.objects.filter(pk=expired.entry.giftcard_id).update(
            expires_at=timezone.now() - timedelta(days=1)
        )
        spent = giftcard_create_digital(amount=Decimal("5.00"), currency="EUR", recipient_email=EMAIL)
        giftcard_transact(code=spent.entry.giftcard.code, amount=Decimal("-5.00"), external_id="spend")
        printed = giftcard_batch_generate(name="Printed", count=1, currency="EUR").giftcards.get()
        giftcard_transact(code=printed.code, amount=Decimal("30.00"), external_id="load")

    response = signed_in(organization, mia).post("/me/delete", {"confirm": "DELETE"})

    assert response.status_code == 200
    assert state(organization, mia)["customer"][3] == "deleted"


def test_the_staff_portal_refuses_with_the_same_code_and_explanation(client_a, organization, mia):
    prepaid(organization, mia, "20.00")
    owner_login(client_a, organization)
    before = state(organization, mia)

    response = client_a.post(f"{CUSTOMERS}{mia.pk}/erase/", {"reason": "Asked by email", "confirm": "ERASE"})

    assert (response.status_code, response.context["error_code"]) == (409, "customer_has_money")
    assert response.context["error_message"] == (
        "Money is left on this account, so it was not erased: €20.00 of prepaid credit. "
        "To get it back, spend it at the till, or ask Test Org A for a refund. When nothing is "
        "left, the account can be deleted. Write to help@a.example."
    )
    assert '<p class="errornote" data-error="customer_has_money">' in response.content.decode()
    assert state(organization, mia) == before


def test_once_the_money_is_paid_out_deletion_erases_the_person_and_keeps_the_ledger(organization, mia):
    prepaid(organization, mia, "20.00")
    with tenant_context(organization):
        card = giftcard_create_digital(
            amount=Decimal("7.00"), currency="EUR", recipient_email=EMAIL
        ).entry.giftcard
        staff = StaffUserFactory()
        account = PrepaidAccount.objects.get(customer=mia)
        money_adjust(account=account, amount=Decimal("-20.00"), reason="Paid out in cash", staff_user=staff)
        giftcard_transact(code=card.code, amount=Decimal("-7.00"), external_id="spent")
    client = signed_in(organization, mia)

    response = client.post("/me/delete", {"confirm": "DELETE"})

    assert response.status_code == 200
    assert "Your account is gone." in response.content.decode()
    after = state(organization, mia)
    assert after["customer"] == (f"deleted-{mia.pk}@deleted.invalid", "", "", "deleted", None)
    assert after["prepaid"] == [(Decimal("0.00"), "EUR")]
    assert after["giftcards"] == [(card.pk, "", "", Decimal("0.00"))]
    # Every money row stays as it was, still on the (anonymized) customer's account.
    assert after["entries"] == [
        (mia.pk, None, Decimal("20.00"), Decimal("20.00"), "load"),
        (None, card.pk, Decimal("7.00"), Decimal("7.00"), "load"),
        (mia.pk, None, Decimal("-20.00"), Decimal("0.00"), "adjust"),
        (None, card.pk, Decimal("-7.00"), Decimal("0.00"), "pay"),
    ]
    assert after["audit"][-1] == "customers.erase"
    with tenant_context(organization):
        kept = MoneyEntry.objects.filter(prepaid_account__customer=mia).values_list("note", flat=True)
        assert sorted(kept) == ["", "Paid out in cash"]
        assert EMAIL not in str(list(Customer.objects.filter(pk=mia.pk).values()))
    assert client.get("/me/").status_code == 302


def test_no_money_lands_on_an_erased_account(organization, mia):
    payment = prepaid(organization, mia, "10.00")
    prepaid(organization, mia, "-10.00", external_id="pay")
    with tenant_context(organization):
        pay_entry = MoneyEntry.objects.get(cause="pay")
        customer_erase(customer=mia)
        account = PrepaidAccount.objects.get(customer=mia)
        staff = StaffUserFactory()
    before = state(organization, mia)

    with tenant_context(organization):
        with refused("customer_not_found"):
            prepaid_transact(customer=mia, amount=Decimal("5.00"), currency="EUR", external_id="late")
        with refused("customer_not_found"):
            money_adjust(account=account, amount=Decimal("5.00"), reason="Goodwill", staff_user=staff)
        with refused("customer_not_found"):
            money_entry_reverse(entry_id=pay_entry.pk, account_kind="prepaid", external_id="undo")

    assert state(organization, mia) == before
    assert payment.balance == Decimal("10.00")


def test_a_customer_with_no_prepaid_account_gets_none_after_erasure(organization, mia):
    with tenant_context(organization):
        customer_erase(customer=mia)
        with refused("customer_not_found"):
            prepaid_transact(customer=mia, amount=Decimal("5.00"), currency="EUR", external_id="late")
        assert PrepaidAccount.objects.filter(customer=mia).count() == 0


def test_another_organizations_money_does_not_keep_this_account(
    organization, other_organization, mia, programs
):
    """Primary keys repeat across schemas: B's customer with the same email has money."""
    create_programs(other_organization)
    twin = create_customer(other_organization, email=EMAIL)
    prepaid(other_organization, twin, "50.00")
    with tenant_context(other_organization):
        giftcard_create_digital(amount=Decimal("5.00"), currency="EUR", recipient_email=EMAIL)

    response = signed_in(organization, mia).post("/me/delete", {"confirm": "DELETE"})

    assert response.status_code == 200
    assert state(organization, mia)["customer"][3] == "deleted"
    with tenant_context(other_organization):
        assert Customer.objects.get(pk=twin.pk).status == "active"
        assert PrepaidAccount.objects.get(customer=twin).balance == Decimal("50.00")
