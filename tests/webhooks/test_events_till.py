"""Events of the POS API's earn, redeem, coupon and reversal calls: recorded by the services in
the call's transaction, exactly as docs/webhooks.md shows them; nothing for a refused call,
nothing while no endpoint subscribes, nothing for another organization."""

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import tenant_context

from loyalty_platform.coupons.models import Coupon
from loyalty_platform.tiers.models import Tier
from loyalty_platform.webhooks.models import WebhookEvent
from tests.pos_fixtures import create_customer
from tests.webhooks.event_helpers import card_of, deliveries, newest_entry, recorded, subscribe


def _earn(pos, customer, external_id="e-1", **fields):
    body = {"customer_code": customer.customer_code, "amount": 12, "external_id": external_id, **fields}
    return pos.post("/webhook/pos", body)


def test_a_point_earn_records_points_earned(
    organization, programs, pos, endpoint, other_organization, endpoint_b
):
    customer = create_customer(organization, points=100)

    assert _earn(pos, customer).status_code == 200

    card = card_of(organization, customer, "point")
    entry = newest_entry(organization, customer, "point")
    assert recorded(organization) == [
        (
            "points.earned",
            customer.pk,
            {
                "customer": {"customer_code": customer.customer_code},
                "card_number": card.card_number,
                "points": 12,
                "balance": 112,
                "ledger_entry_id": entry.pk,
                "external_id": "e-1",
                "shop_id": None,
                "source": "till",
            },
        )
    ]
    assert deliveries(organization) == [("points.earned", endpoint.pk)]
    assert recorded(other_organization) == []


def test_a_stamp_earn_that_fills_the_card_records_stamps_earned_and_coupon_issued(
    organization, programs, pos, endpoint
):
    customer = create_customer(organization, stamps=8)

    assert _earn(pos, customer, amount=4, card_type="stamp").status_code == 200

    card = card_of(organization, customer, "stamp")
    earn = newest_entry(organization, customer, "stamp", cause="earn")
    reward = newest_entry(organization, customer, "stamp", cause="reward")
    with tenant_context(organization):
        coupon = Coupon.objects.get(customer=customer)
    assert recorded(organization) == [
        (
            "coupon.issued",
            customer.pk,
            {
                "customer": {"customer_code": customer.customer_code},
                "source": "stamp_card",
                "card_number": card.card_number,
                "coupon": {
                    "id": str(coupon.pk),
                    "name": "Free Coffee",
                    "qr_token": coupon.qr_token,
                    "issued_at": coupon.issued_at.isoformat(),
                    "expires_at": None,
                },
                "ledger_entry_id": reward.pk,
            },
        ),
        (
            "stamps.earned",
            customer.pk,
            {
                "customer": {"customer_code": customer.customer_code},
                "card_number": card.card_number,
                "stamps": 4,
                "balance": 2,
                "ledger_entry_id": earn.pk,
                "external_id": "e-1",
                "shop_id": None,
                "source": "till",
                "coupons_issued": 1,
            },
        ),
    ]
    assert len(deliveries(organization)) == 2


def test_a_redeem_records_points_redeemed(organization, programs, pos, endpoint):
    customer = create_customer(organization, points=500)

    response = pos.post(
        "/webhook/redeem",
        {"customer_code": customer.customer_code, "value": 120, "card_type": "point", "external_id": "r-1"},
    )

    assert response.status_code == 200
    card = card_of(organization, customer, "point")
    entry = newest_entry(organization, customer, "point")
    assert recorded(organization) == [
        (
            "points.redeemed",
            customer.pk,
            {
                "customer": {"customer_code": customer.customer_code},
                "card_number": card.card_number,
                "points": 120,
                "balance": 380,
                "ledger_entry_id": entry.pk,
                "external_id": "r-1",
                "shop_id": None,
                "source": "till",
            },
        )
    ]
    assert deliveries(organization) == [("points.redeemed", endpoint.pk)]


def test_a_refused_redeem_records_nothing(organization, programs, pos, endpoint):
    customer = create_customer(organization, points=50)

    response = pos.post(
        "/webhook/redeem",
        {"customer_code": customer.customer_code, "value": 120, "card_type": "point", "external_id": "r-1"},
    )

    assert (response.status_code, response.json()) == (422, {"error": "insufficient_balance"})
    assert recorded(organization) == []


def test_an_earn_refused_for_a_pin_records_nothing(organization, programs, pos, endpoint):
    organization.verification_preset = "strict"
    organization.save()
    customer = create_customer(organization)

    assert _earn(pos, customer).status_code == 412
    assert recorded(organization) == []


def test_nothing_is_written_while_no_endpoint_subscribes_to_the_type(organization, programs, pos):
    subscribe(organization, ["customer.enrolled"])
    customer = create_customer(organization, points=500)

    assert _earn(pos, customer).status_code == 200

    assert recorded(organization) == []


def test_a_warm_earn_adds_only_the_event_statement(organization, programs, pos):
    """Without a subscriber the earn sends what it sent before (test_round_trips); with one,
    the one statement that writes the event and its delivery, and no read."""
    customer = create_customer(organization, points=1, stamps=1)
    assert _earn(pos, customer, "warm-up").status_code == 200

    def statements(external_id):
        with CaptureQueriesContext(connection) as queries:
            assert _earn(pos, customer, external_id).status_code == 200
        return [q["sql"] for q in queries.captured_queries if "SAVEPOINT" not in q["sql"]]

    before = statements("quiet")
    subscribe(organization, ["points.earned"])
    assert _earn(pos, customer, "warm-up-2").status_code == 200  # the subscribed set is cached again
    after = statements("heard")

    assert len(after) == len(before) + 1
    assert [sql for sql in after if "webhooks_webhookevent" in sql] == [after[-2]]


def test_a_tier_reached_by_an_earn_records_tier_changed(organization, programs, pos, endpoint):
    with tenant_context(organization):
        Tier.objects.create(name="Silver", threshold_points=10)
    customer = create_customer(organization)

    assert _earn(pos, customer).status_code == 200
    assert _earn(pos, customer, "e-2").status_code == 200  # still Silver: no second event

    assert [event for event in recorded(organization) if event[0] == "tier.changed"] == [
        (
            "tier.changed",
            customer.pk,
            {
                "customer": {"customer_code": customer.customer_code},
                "tier": {"name": "Silver", "points_multiplier": "1.00"},
                "previous_tier": None,
                "qualifying_points": 12,
            },
        )
    ]


def test_a_coupon_redemption_records_coupon_redeemed(organization, programs, pos, endpoint):
    customer = create_customer(organization, stamps=8)
    _earn(pos, customer, amount=4, card_type="stamp")
    with tenant_context(organization):
        coupon = Coupon.objects.get(customer=customer)
        WebhookEvent.objects.all().delete()

    response = pos.post("/webhook/coupons/redeem", {"token": coupon.qr_token, "external_id": "c-1"})

    assert response.status_code == 200
    with tenant_context(organization):
        coupon.refresh_from_db()
    assert recorded(organization) == [
        (
            "coupon.redeemed",
            customer.pk,
            {
                "customer": {"customer_code": customer.customer_code},
                "coupon": {
                    "id": str(coupon.pk),
                    "name": "Free Coffee",
                    "status": "redeemed",
                    "qr_token": coupon.qr_token,
                    "issued_at": coupon.issued_at.isoformat(),
                    "redeemed_at": coupon.redeemed_at.isoformat(),
                },
                "external_id": "c-1",
            },
        )
    ]
    second = pos.post("/webhook/coupons/redeem", {"token": coupon.qr_token, "external_id": "c-2"})
    assert second.status_code == 409
    assert len(recorded(organization)) == 1


def test_a_reversal_records_transaction_reversed(organization, programs, pos, endpoint):
    customer = create_customer(organization, points=5)
    _earn(pos, customer, "sale-1")
    with tenant_context(organization):
        WebhookEvent.objects.all().delete()

    response = pos.post("/webhook/transactions/sale-1/reverse", {"external_id": "void-1", "reason": "voided"})

    assert response.status_code == 200
    card = card_of(organization, customer, "point")
    entry = newest_entry(organization, customer, "point")
    assert recorded(organization) == [
        (
            "transaction.reversed",
            customer.pk,
            {
                "customer": {"customer_code": customer.customer_code},
                "reversed": "sale-1",
                "kind": "earn",
                "card_type": "point",
                "card_number": card.card_number,
                "external_id": "void-1",
                "reason": "voided",
                "stamps": 0,
                "points": 5,
                "points_unrecovered": 0,
                "stamps_unrecovered": 0,
                "coupon_already_used": False,
                "coupons_voided": [],
                "ledger_entry_ids": [entry.pk],
            },
        )
    ]
    again = pos.post("/webhook/transactions/sale-1/reverse", {"external_id": "void-2"})
    assert again.status_code == 409
    assert len(recorded(organization)) == 1
