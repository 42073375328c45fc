from decimal import Decimal

from django_tenants.utils import tenant_context

from loyalty_platform.stored_value.models import MoneyEntry, PrepaidAccount
from loyalty_platform.verification.services import open_pins_for_customer
from tests.pos_fixtures import create_customer


def prepaid(pos, customer, amount, external_id="p-1", **fields):
    return pos.post(
        f"/webhook/customers/{customer.customer_code}/prepaid/transactions",
        {"amount": amount, "external_id": external_id, **fields},
    )


def account_state(organization, customer):
    with tenant_context(organization):
        account = PrepaidAccount.objects.filter(customer=customer).first()
        if account is None:
            return None
        return account.balance, sum(account.entries.values_list("amount", flat=True), Decimal("0"))


def test_balance_of_a_customer_without_credit_is_zero(organization, programs, pos):
    customer = create_customer(organization)
    response = pos.get(f"/webhook/customers/{customer.customer_code}/prepaid")
    assert response.json() == {
        "data": {"customer_code": customer.customer_code, "balance": "0.00", "currency": "EUR"}
    }


def test_top_up_pay_and_reverse(organization, programs, pos):
    customer = create_customer(organization)

    top_up = prepaid(pos, customer, "30.00", "top-up")
    pay = prepaid(pos, customer, "-7.25", "pay")
    reverse = pos.post(
        f"/webhook/prepaid-transactions/{pay.json()['data']['transaction_id']}/reverse",
        {"external_id": "rev"},
    )

    assert top_up.json()["data"]["balance"] == "30.00"
    assert pay.json()["data"] | {"transaction_id": None} == {
        "transaction_id": None,
        "amount": "-7.25",
        "balance": "22.75",
    }
    assert reverse.json()["data"]["balance"] == "30.00"
    assert (
        pos.get(f"/webhook/customers/{customer.customer_code}/prepaid").json()["data"]["balance"] == "30.00"
    )
    assert account_state(organization, customer) == (Decimal("30.00"), Decimal("30.00"))


def test_pay_beyond_credit_and_partial_payment(organization, programs, pos):
    customer = create_customer(organization)
    prepaid(pos, customer, 10, "top-up")

    refused = prepaid(pos, customer, -12, "pay")
    partial = prepaid(pos, customer, -12, "pay-2", allow_partial=True)

    assert (refused.status_code, refused.json()) == (422, {"error": "insufficient_balance"})
    assert partial.json()["data"]["remaining_to_pay"] == "2.00"
    assert account_state(organization, customer) == (Decimal("0.00"), Decimal("0.00"))


def test_paying_asks_for_the_pin_under_balanced_but_topping_up_does_not(organization, programs, pos):
    organization.verification_preset = "balanced"
    organization.save()
    customer = create_customer(organization)
    assert prepaid(pos, customer, 20, "top-up").status_code == 200

    prompt = prepaid(pos, customer, -5, "pay")
    assert (prompt.status_code, prompt.json()["error"]) == (412, "pin_required")
    assert account_state(organization, customer) == (Decimal("20.00"), Decimal("20.00"))
    with tenant_context(organization):
        pin = open_pins_for_customer(customer=customer)[0]["pin"]
        assert open_pins_for_customer(customer=customer)[0]["action"] == "prepaid_pay"

    done = prepaid(pos, customer, -5, "pay", verification_pin=pin)

    assert done.json()["data"]["balance"] == "15.00"


def test_prepaid_errors_change_nothing(organization, other_organization, programs, pos, pos_b):
    customer = create_customer(organization)
    prepaid(pos, customer, 10, "top-up")
    with tenant_context(organization):
        entries = MoneyEntry.objects.count()

    assert pos.get("/webhook/customers/999996/prepaid").json() == {"error": "customer_not_found"}
    assert pos_b.get(f"/webhook/customers/{customer.customer_code}/prepaid").json() == {
        "error": "customer_not_found"
    }
    assert prepaid(pos_b, customer, -5, "steal").json() == {"error": "customer_not_found"}
    assert prepaid(pos, customer, "5.001", "bad").json()["error"] == "amount_invalid"
    assert prepaid(pos, customer, 5, "").json()["error"] == "external_id_required"
    assert pos.get("/webhook/customers/abc/prepaid").json() == {"error": "not_found"}
    with tenant_context(organization):
        assert MoneyEntry.objects.count() == entries
    assert account_state(organization, customer) == (Decimal("10.00"), Decimal("10.00"))


def test_a_giftcard_transaction_id_cannot_be_reversed_as_prepaid(organization, programs, pos):
    from tests.stored_value.test_giftcards_api import new_card, transact

    card = new_card(organization)
    load_id = transact(pos, card, 10, "load").json()["data"]["transaction_id"]

    response = pos.post(f"/webhook/prepaid-transactions/{load_id}/reverse", {"external_id": "r"})

    assert (response.status_code, response.json()) == (404, {"error": "transaction_not_found"})
