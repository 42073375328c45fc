"""Events of orders, returns, vouchers, rewards, giftcards and prepaid credit, through the POS
API as a till calls it."""

from django_tenants.utils import tenant_context

from loyalty_platform.orders.models import Order, OrderReturn
from loyalty_platform.rewards.models import Reward, RewardReception
from loyalty_platform.stored_value.models import Giftcard, MoneyEntry
from loyalty_platform.vouchers.models import Promotion, VoucherRedemption
from loyalty_platform.vouchers.services import vouchers_generate
from loyalty_platform.webhooks.models import WebhookEvent
from tests.pos_fixtures import create_customer
from tests.webhooks.event_helpers import card_of, deliveries, newest_entry, recorded

LINES = [{"sku": "LATTE", "name": "Latte", "category": "drinks", "quantity": 2, "unit_price": "3.50"}]


def _order(pos, customer, **fields):
    body = {
        "external_id": "o-1",
        "currency": "EUR",
        "total": "7.00",
        "lines": LINES,
        "customer_code": customer.customer_code,
        **fields,
    }
    return pos.post("/webhook/orders", body)


def test_an_order_records_points_redeemed_points_earned_and_order_created(
    organization, programs, pos, endpoint, other_organization, endpoint_b
):
    customer = create_customer(organization, points=200)

    assert _order(pos, customer, paid_with_points=100).status_code == 200

    card = card_of(organization, customer, "point")
    paid = newest_entry(organization, customer, "point", cause="redeem")
    earned = newest_entry(organization, customer, "point", cause="order")
    with tenant_context(organization):
        order = Order.objects.get()
    ref = {"customer_code": customer.customer_code}
    common = {"customer": ref, "card_number": card.card_number, "external_id": "o-1", "shop_id": None}
    assert recorded(organization) == [
        (
            "points.redeemed",
            customer.pk,
            {**common, "points": 100, "balance": 100, "ledger_entry_id": paid.pk, "source": "order"},
        ),
        (
            "points.earned",
            customer.pk,
            {**common, "points": 6, "balance": 106, "ledger_entry_id": earned.pk, "source": "order"},
        ),
        (
            "order.created",
            customer.pk,
            {
                "customer": ref,
                "id": str(order.pk),
                "external_id": "o-1",
                "shop_id": None,
                "currency": "EUR",
                "total": "7.00",
                "status": order.status,
                "points_earned": 6,  # what the points paid with (1.00) leave of 7.00
                "visit_bonus_points": 0,
                "paid_with_points": 100,
                "point_balance": 106,
            },
        ),
    ]
    assert len(deliveries(organization)) == 3
    assert recorded(other_organization) == []


def test_a_refused_order_records_nothing(organization, programs, pos, endpoint):
    customer = create_customer(organization, points=50)

    response = _order(pos, customer, paid_with_points=120)

    assert (response.status_code, response.json()["error"]) == (422, "insufficient_balance")
    assert recorded(organization) == []


def test_a_return_records_order_returned(organization, programs, pos, endpoint):
    customer = create_customer(organization)
    _order(pos, customer)
    with tenant_context(organization):
        WebhookEvent.objects.all().delete()

    response = pos.post("/webhook/orders/o-1/returns", {"external_id": "ret-1"})

    assert response.status_code == 200
    with tenant_context(organization):
        returned = OrderReturn.objects.get()
    assert recorded(organization) == [
        (
            "order.returned",
            customer.pk,
            {
                "customer": {"customer_code": customer.customer_code},
                "id": str(returned.pk),
                "order_external_id": "o-1",
                "external_id": "ret-1",
                "shop_id": None,
                "is_cancellation": True,
                "order_status": "returned",
                "points_due": 7,
                "points_taken": 7,
                "points_unrecovered": 0,
                "paid_points_refunded": 0,
                "point_balance": 0,
            },
        )
    ]
    again = pos.post("/webhook/orders/o-1/returns", {"external_id": "ret-2"})
    assert again.status_code == 409
    assert len(recorded(organization)) == 1


def test_a_voucher_redemption_records_voucher_redeemed(organization, programs, pos, endpoint):
    customer = create_customer(organization)
    with tenant_context(organization):
        promotion = Promotion.objects.create(title="5 off")
        voucher = vouchers_generate(promotion=promotion, count=1)[0]

    response = pos.post(
        f"/webhook/vouchers/{voucher.code}/redeem",
        {"external_id": "v-1", "customer_code": customer.customer_code},
    )

    assert response.status_code == 200
    with tenant_context(organization):
        redemption = VoucherRedemption.objects.get()
    assert recorded(organization) == [
        (
            "voucher.redeemed",
            customer.pk,
            {
                "customer": {"customer_code": customer.customer_code},
                "voucher": {
                    "code": voucher.code,
                    "status": "redeemed",
                    "uses": 1,
                    "promotion": {"id": promotion.pk, "title": "5 off"},
                },
                "redemption_id": redemption.pk,
                "external_id": "v-1",
            },
        )
    ]
    again = pos.post(f"/webhook/vouchers/{voucher.code}/redeem", {"external_id": "v-2"})
    assert again.status_code == 409
    assert len(recorded(organization)) == 1


def test_a_reward_for_points_records_reward_received(organization, programs, pos, endpoint):
    customer = create_customer(organization, points=150)
    poor = create_customer(organization, points=10)
    with tenant_context(organization):
        reward = Reward.objects.create(name="Mug", required_credits=100)

    response = pos.post(
        f"/webhook/rewards/{reward.pk}/receptions",
        {"customer_code": customer.customer_code, "external_id": "w-1"},
    )
    refused = pos.post(
        f"/webhook/rewards/{reward.pk}/receptions",
        {"customer_code": poor.customer_code, "external_id": "w-2"},
    )

    assert (response.status_code, refused.status_code) == (200, 422)
    entry = newest_entry(organization, customer, "point")
    with tenant_context(organization):
        reception = RewardReception.objects.get()
    assert recorded(organization) == [
        (
            "reward.received",
            customer.pk,
            {
                "customer": {"customer_code": customer.customer_code},
                "source": "till",
                "id": str(reception.pk),
                "reward": {"id": reward.pk, "name": "Mug"},
                "points": 100,
                "status": "spent",
                "balance": 50,
                "ledger_entry_id": entry.pk,
                "external_id": "w-1",
            },
        )
    ]


def test_giftcard_transactions_record_giftcard_transaction(organization, programs, pos, endpoint):
    response = pos.post(
        "/webhook/giftcards", {"amount": "25.00", "recipient_email": "gift@example.com", "external_id": "g-1"}
    )
    assert response.status_code == 200
    code = response.json()["data"]["code"]
    paid = pos.post(f"/webhook/giftcards/{code}/transactions", {"amount": "-7.50", "external_id": "g-2"})
    refused = pos.post(f"/webhook/giftcards/{code}/transactions", {"amount": "-99", "external_id": "g-3"})

    assert (paid.status_code, refused.status_code) == (200, 422)
    with tenant_context(organization):
        giftcard = Giftcard.objects.get()
        load, pay = MoneyEntry.objects.filter(giftcard=giftcard).order_by("created_at")
    giftcard_ref = {"code": giftcard.code, "kind": "digital"}
    assert recorded(organization) == [
        (
            "giftcard.transaction",
            None,
            {
                "customer": None,
                "transaction_id": str(load.pk),
                "kind": "load",
                "amount": "25.00",
                "balance": "25.00",
                "currency": "EUR",
                "external_id": "g-1",
                "reversed_transaction_id": None,
                "giftcard": giftcard_ref,
            },
        ),
        (
            "giftcard.transaction",
            None,
            {
                "customer": None,
                "transaction_id": str(pay.pk),
                "kind": "pay",
                "amount": "-7.50",
                "balance": "17.50",
                "currency": "EUR",
                "external_id": "g-2",
                "reversed_transaction_id": None,
                "giftcard": giftcard_ref,
            },
        ),
    ]


def test_prepaid_transactions_and_their_reversal_record_prepaid_transaction(
    organization, programs, pos, endpoint
):
    customer = create_customer(organization)
    path = f"/webhook/customers/{customer.customer_code}/prepaid/transactions"

    top_up = pos.post(path, {"amount": "20.00", "external_id": "p-1"})
    assert top_up.status_code == 200
    transaction_id = top_up.json()["data"]["transaction_id"]
    reversed_ = pos.post(f"/webhook/prepaid-transactions/{transaction_id}/reverse", {"external_id": "p-2"})

    assert reversed_.status_code == 200
    reversal_id = reversed_.json()["data"]["transaction_id"]
    ref = {"customer_code": customer.customer_code}
    assert recorded(organization) == [
        (
            "prepaid.transaction",
            customer.pk,
            {
                "customer": ref,
                "transaction_id": transaction_id,
                "kind": "load",
                "amount": "20.00",
                "balance": "20.00",
                "currency": "EUR",
                "external_id": "p-1",
                "reversed_transaction_id": None,
            },
        ),
        (
            "prepaid.transaction",
            customer.pk,
            {
                "customer": ref,
                "transaction_id": reversal_id,
                "kind": "reversal",
                "amount": "-20.00",
                "balance": "0.00",
                "currency": "EUR",
                "external_id": "p-2",
                "reversed_transaction_id": transaction_id,
            },
        ),
    ]
