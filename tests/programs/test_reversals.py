"""Reversing an earn or a redeem (programs.reversals), called as the service, on the real
database: the exact opposite entries, coupons of filled cards, points already spent, the
refusals (which change nothing), the PIN, the event, organizations, and racing tills."""

import json
import uuid
from collections import Counter
from decimal import Decimal

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction
from django_tenants.utils import tenant_context

from loyalty_platform.core.errors import DomainError
from loyalty_platform.coupons.models import Coupon
from loyalty_platform.coupons.services import coupon_redeem
from loyalty_platform.customers.models import Customer
from loyalty_platform.orders.earning import LineInput
from loyalty_platform.orders.services import order_create
from loyalty_platform.programs.models import Card, LedgerEntry, TransactionReversal
from loyalty_platform.programs.reversals import loyalty_transaction_reverse, reversal_original
from loyalty_platform.programs.services import customer_earn, customer_redeem
from loyalty_platform.realtime.publish import customer_group
from loyalty_platform.tiers.models import Tier
from loyalty_platform.tiers.selectors import customer_tier
from loyalty_platform.verification.models import PinChallenge
from loyalty_platform.verification.services import pin_challenge_issue, pin_required_for
from tests.pos_fixtures import create_customer, create_programs, run_at_once, snapshot


def earn(customer, amount, card_type="point", external_id="sale-1"):
    return customer_earn(
        customer=customer, amount=Decimal(amount), card_type=card_type, external_id=external_id
    )


def redeem(customer, value, card_type="point", external_id="sale-1"):
    return customer_redeem(customer=customer, value=value, card_type=card_type, external_id=external_id)


def reverse(original="sale-1", external_id="void-1", **options):
    return loyalty_transaction_reverse(original_external_id=original, external_id=external_id, **options)


def refused(code: str, **options) -> None:
    """The reversal is refused with `code`; its savepoint rolls back what it did, as the
    API's transaction would."""
    with pytest.raises(DomainError) as raised, transaction.atomic():
        reverse(**options)
    assert raised.value.code == code


def ledger(customer, card_type: str) -> list[tuple]:
    """The card's entries, oldest first: cause, delta, balance after, external_id, and the
    external_id and cause of the entry each one reverses."""
    return [
        (entry.cause, entry.delta, entry.balance_after, entry.external_id)
        + ((entry.reversed_entry.cause, entry.reversed_entry.external_id) if entry.reversed_entry else ())
        for entry in LedgerEntry.objects.filter(card__customer=customer, card__program__kind=card_type)
        .select_related("reversed_entry")
        .order_by("pk")
    ]


def everything(organization) -> dict:
    with tenant_context(organization):
        reversals = list(TransactionReversal.objects.order_by("pk").values_list("pk", flat=True))
    return {**snapshot(organization), "reversals": reversals}


# --- What a reversal posts -----------------------------------------------------------------------


def test_a_point_earn_is_taken_back_with_its_opposite_entry(in_organization, programs):
    customer = create_customer(in_organization)
    earn(customer, "50.00")

    result = reverse(reason="sale voided", api_key_lookup_id="till1")

    assert ledger(customer, "point") == [
        ("earn", 50, 50, "sale-1"),
        ("reversal", -50, 0, "void-1", "earn", "sale-1"),
    ]
    assert (result.reversed, result.kind, result.card_type, result.points, result.stamps) == (
        "sale-1",
        "earn",
        "point",
        0,
        0,
    )
    assert (result.points_unrecovered, result.stamps_unrecovered) == (0, 0)
    assert (result.coupons_voided, result.coupon_already_used) == ((), False)
    assert [(e.cause, e.delta, e.note, e.api_key_lookup_id) for e in result.entries] == [
        ("reversal", -50, "reversal of earn sale-1: sale voided", "till1")
    ]
    record = TransactionReversal.objects.get()
    assert (
        record.kind,
        record.original_entry.external_id,
        record.external_id,
        record.reason,
        record.unrecovered,
        record.api_key_lookup_id,
    ) == ("earn", "sale-1", "void-1", "sale voided", 0, "till1")
    assert Card.objects.get(customer=customer, program=programs["point"]).balance == 0


def test_a_stamp_earn_that_filled_no_card_is_taken_back(in_organization, programs):
    customer = create_customer(in_organization, stamps=3)
    earn(customer, "4", card_type="stamp")

    result = reverse()

    assert ledger(customer, "stamp") == [
        ("adjust", 3, 3, ""),
        ("earn", 4, 7, "sale-1"),
        ("reversal", -4, 3, "void-1", "earn", "sale-1"),
    ]
    assert (result.card_type, result.stamps, result.stamps_unrecovered, result.coupons_voided) == (
        "stamp",
        3,
        0,
        (),
    )


def test_a_stamp_earn_that_filled_the_card_voids_its_unused_coupon_and_gives_the_card_back(
    in_organization, programs
):
    customer = create_customer(in_organization, stamps=8)
    coupon = earn(customer, "3", card_type="stamp").coupon

    result = reverse()

    assert ledger(customer, "stamp") == [
        ("adjust", 8, 8, ""),
        ("earn", 3, 11, "sale-1"),
        ("reward", -10, 1, "sale-1"),
        ("reversal", 10, 11, "void-1", "reward", "sale-1"),
        ("reversal", -3, 8, "void-1", "earn", "sale-1"),
    ]
    assert Coupon.objects.get(pk=coupon.pk).status == "void"
    assert [c.pk for c in result.coupons_voided] == [coupon.pk]
    assert (result.stamps, result.stamps_unrecovered, result.coupon_already_used) == (8, 0, False)
    assert TransactionReversal.objects.get().coupons_voided == 1


def test_a_stamp_earn_whose_coupon_was_used_takes_the_stamps_it_can(in_organization, programs):
    customer = create_customer(in_organization, stamps=8)
    coupon = earn(customer, "3", card_type="stamp").coupon
    coupon_redeem(coupon_id=coupon.pk)

    result = reverse()

    # The coupon's ten stamps are gone with the coffee; of the three earned, one is left.
    assert ledger(customer, "stamp") == [
        ("adjust", 8, 8, ""),
        ("earn", 3, 11, "sale-1"),
        ("reward", -10, 1, "sale-1"),
        ("reversal", -1, 0, "void-1", "earn", "sale-1"),
    ]
    assert Coupon.objects.get(pk=coupon.pk).status == "redeemed"
    assert (result.coupon_already_used, result.coupons_voided) == (True, ())
    assert (result.stamps, result.stamps_unrecovered, result.points_unrecovered) == (0, 2, 0)
    record = TransactionReversal.objects.get()
    assert (record.coupon_already_used, record.unrecovered, record.coupons_voided) == (True, 2, 0)


def test_a_point_redeem_gives_the_points_back(in_organization, programs):
    customer = create_customer(in_organization, points=300)
    redeem(customer, 120)

    result = reverse(kind="redeem")

    assert ledger(customer, "point") == [
        ("adjust", 300, 300, ""),
        ("redeem", -120, 180, "sale-1"),
        ("reversal", 120, 300, "void-1", "redeem", "sale-1"),
    ]
    assert (result.kind, result.points, result.points_unrecovered) == ("redeem", 300, 0)


def test_a_stamp_redeem_gives_the_stamps_back(in_organization, programs):
    customer = create_customer(in_organization, points=40, stamps=5)
    redeem(customer, 2, card_type="stamp")

    result = reverse()

    assert ledger(customer, "stamp") == [
        ("adjust", 5, 5, ""),
        ("redeem", -2, 3, "sale-1"),
        ("reversal", 2, 5, "void-1", "redeem", "sale-1"),
    ]
    assert (result.stamps, result.points) == (5, 40)


def test_points_already_spent_are_taken_as_far_as_the_balance_allows(in_organization, programs):
    customer = create_customer(in_organization, points=100)
    earn(customer, "50")
    redeem(customer, 120, external_id="lunch-2")  # 150 -> 30: the 50 partly spent

    result = reverse()

    assert ledger(customer, "point") == [
        ("adjust", 100, 100, ""),
        ("earn", 50, 150, "sale-1"),
        ("redeem", -120, 30, "lunch-2"),
        ("reversal", -30, 0, "void-1", "earn", "sale-1"),
    ]
    assert (result.points, result.points_unrecovered) == (0, 20)
    assert TransactionReversal.objects.get().unrecovered == 20


def test_all_of_an_earn_is_taken_where_the_program_allows_a_negative_balance(in_organization, programs):
    programs["point"].allow_negative_balance = True
    programs["point"].save()
    customer = create_customer(in_organization, points=100)
    earn(customer, "50")
    redeem(customer, 140, external_id="lunch-2")

    result = reverse()

    assert ledger(customer, "point")[-1] == ("reversal", -50, -40, "void-1", "earn", "sale-1")
    assert (result.points, result.points_unrecovered) == (-40, 0)


def test_a_reversed_earn_no_longer_counts_towards_the_tier(in_organization, programs):
    Tier.objects.create(name="Silver", threshold_points=40)
    customer = create_customer(in_organization)
    earn(customer, "50")
    assert customer_tier(customer.pk).name == "Silver"

    reverse()

    assert customer_tier(customer.pk) is None
    assert customer.tier_status.qualifying_points == 0


def test_the_newest_call_of_a_reused_external_id_is_the_one_reversed(in_organization, programs):
    customer = create_customer(in_organization)
    earn(customer, "10")
    earn(customer, "20")  # the same id again, e.g. once the first one's idempotency record is gone

    reverse()

    assert ledger(customer, "point")[-1] == ("reversal", -20, 10, "void-1", "earn", "sale-1")


# --- Which call the path names ----------------------------------------------------------------


def test_an_external_id_of_both_an_earn_and_a_redeem_needs_kind(in_organization, programs):
    customer = create_customer(in_organization, points=300)
    earn(customer, "50", external_id="t-7")
    redeem(customer, 100, external_id="t-7")
    before = everything(in_organization)

    refused("transaction_ambiguous", original="t-7")
    refused("kind_invalid", original="t-7", kind="refund")
    assert everything(in_organization) == before

    reverse(original="t-7", external_id="void-a", kind="redeem")
    reverse(original="t-7", external_id="void-b", kind="earn")
    assert ledger(customer, "point") == [
        ("adjust", 300, 300, ""),
        ("earn", 50, 350, "t-7"),
        ("redeem", -100, 250, "t-7"),
        ("reversal", 100, 350, "void-a", "redeem", "t-7"),
        ("reversal", -50, 300, "void-b", "earn", "t-7"),
    ]


def test_points_paid_for_an_order_are_not_a_redeem_to_reverse(in_organization, programs):
    customer = create_customer(in_organization, points=300)
    order_create(
        organization=in_organization,
        external_id="o-1",
        customer=customer,
        shop_id=None,
        currency=in_organization.currency,
        total=Decimal("5.00"),
        lines=[
            LineInput(sku="TEA", name="Tea", category="drinks", quantity=Decimal(1), unit_price=Decimal(5))
        ],
        paid_with_points=100,
    )
    before = everything(in_organization)

    refused("transaction_not_found", original="o-1", kind="redeem")
    refused("transaction_not_found", original="o-1")
    assert everything(in_organization) == before


def test_an_earn_of_zero_points_left_nothing_to_reverse(in_organization, programs):
    customer = create_customer(in_organization)
    earn(customer, "0.40")  # rounds down to no points, so no entry

    refused("transaction_not_found")
    assert ledger(customer, "point") == []


# --- Refusals change nothing ----------------------------------------------------------------------


def test_an_unknown_original_is_not_found_and_changes_nothing(in_organization, programs):
    customer = create_customer(in_organization)
    earn(customer, "50")
    before = everything(in_organization)

    refused("transaction_not_found", original="sale-404")
    refused("transaction_not_found", original="")
    refused("transaction_not_found", original="x" * 129)

    assert everything(in_organization) == before


def test_a_second_reversal_is_refused_and_changes_nothing(in_organization, programs):
    customer = create_customer(in_organization)
    earn(customer, "50")
    reverse()
    before = everything(in_organization)

    refused("transaction_already_reversed", external_id="void-2")
    refused("transaction_already_reversed", external_id="void-2", kind="earn")
    with pytest.raises(DomainError) as raised:
        reversal_original(original_external_id="sale-1")  # the API's check before the PIN

    assert raised.value.code == "transaction_already_reversed"
    assert everything(in_organization) == before
    assert len(ledger(customer, "point")) == 2


def test_a_reversal_cannot_be_reversed(in_organization, programs):
    customer = create_customer(in_organization)
    earn(customer, "50")
    reverse()
    before = everything(in_organization)

    refused("reversal_not_reversible", original="void-1", external_id="void-2")

    assert everything(in_organization) == before


def test_bad_input_is_refused_before_anything_changes(in_organization, programs):
    customer = create_customer(in_organization)
    earn(customer, "50")
    before = everything(in_organization)

    refused("external_id_required", external_id="")
    refused("external_id_invalid", external_id="v" * 129)
    refused("reason_invalid", reason="line one\nline two")
    refused("reason_invalid", reason="r" * 256)

    assert everything(in_organization) == before


def test_a_blocked_customer_or_card_is_refused_and_nothing_changes(in_organization, programs):
    customer = create_customer(in_organization)
    earn(customer, "50")
    before = everything(in_organization)

    Card.objects.filter(customer=customer).update(status="blocked")
    refused("card_blocked")
    Customer.objects.filter(pk=customer.pk).update(status="blocked")
    refused("customer_blocked")

    assert {k: v for k, v in everything(in_organization).items() if k != "customers"} == {
        k: v for k, v in before.items() if k != "customers"
    }
    assert ledger(customer, "point") == [("earn", 50, 50, "sale-1")]


def test_a_deleted_customers_transactions_are_not_found(in_organization, programs):
    customer = create_customer(in_organization)
    earn(customer, "50")
    Customer.objects.filter(pk=customer.pk).update(status="deleted")

    refused("transaction_not_found")


# --- PIN, event, organizations ---------------------------------------------------------------------


def test_strict_asks_a_pin_for_a_reversal_and_the_reversal_spends_it(in_organization, programs):
    asked = {}
    for preset in ("standard", "balanced", "strict"):
        in_organization.verification_preset = preset
        asked[preset] = pin_required_for(organization=in_organization, action="reverse")
    assert asked == {"standard": False, "balanced": False, "strict": True}
    customer = create_customer(in_organization)
    earn(customer, "50")
    earn(customer, "20", external_id="sale-2")
    challenge = pin_challenge_issue(
        organization=in_organization, customer=customer, action="reverse"
    ).challenge

    reverse(pin_challenge_id=challenge.pk)
    before = everything(in_organization)
    refused("pin_already_used", original="sale-2", external_id="void-2", pin_challenge_id=challenge.pk)

    assert PinChallenge.objects.get(pk=challenge.pk).status == "spent"
    assert everything(in_organization) == before


def test_the_customers_profile_hears_balance_updated_once_committed(
    in_organization, programs, django_capture_on_commit_callbacks
):
    customer = create_customer(in_organization, stamps=2)
    earn(customer, "50")
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(customer_group(in_organization.schema_name, customer.pk), channel)

    with django_capture_on_commit_callbacks(execute=False) as refused_callbacks:
        refused("transaction_not_found", original="sale-404")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        reverse()

    assert (len(refused_callbacks), len(callbacks)) == (0, 1)
    message = async_to_sync(layer.receive)(channel)
    assert (message["event"], message["channel"]) == ("balance_updated", f"private-customer.{customer.pk}")
    assert json.loads(message["data"]) == {"stamps": 2, "points": 0}


def test_the_same_external_id_in_another_organization_is_not_found(
    organization, other_organization, programs
):
    create_programs(other_organization)
    with tenant_context(other_organization):
        theirs = create_customer(other_organization)
        earn(theirs, "50", external_id="b-only")
        earn(theirs, "30")
    with tenant_context(organization):
        ours = create_customer(organization)
        earn(ours, "10")
        refused("transaction_not_found", original="b-only")
        reverse()
        assert ledger(ours, "point")[-1] == ("reversal", -10, 0, "void-1", "earn", "sale-1")
    with tenant_context(other_organization):
        assert ledger(theirs, "point") == [("earn", 50, 50, "b-only"), ("earn", 30, 80, "sale-1")]
        assert not TransactionReversal.objects.exists()


# --- Racing tills -----------------------------------------------------------------------------------


def _outcome(call) -> str:
    try:
        call()
    except DomainError as error:
        return error.code
    return "ok"


@pytest.mark.usefixtures("committed_db")
@pytest.mark.parametrize("round_number", range(3))
def test_simultaneous_reversals_of_one_earn_reverse_it_exactly_once(busy, round_number):
    organization, _ = busy
    sale = f"sale-{uuid.uuid4().hex}"
    customer = create_customer(organization, email=f"{uuid.uuid4().hex}@example.com")
    with tenant_context(organization):
        earn(customer, "50", external_id=sale)

    def attempt(index: int) -> str:
        with tenant_context(organization):
            return _outcome(lambda: reverse(original=sale, external_id=f"{sale}-void-{index}"))

    outcomes = Counter(run_at_once(6, attempt))

    assert outcomes == {"ok": 1, "transaction_already_reversed": 5}
    with tenant_context(organization):
        assert [row[:3] for row in ledger(customer, "point")] == [("earn", 50, 50), ("reversal", -50, 0)]
        assert TransactionReversal.objects.filter(original_external_id=sale).count() == 1


@pytest.mark.usefixtures("committed_db")
@pytest.mark.parametrize("round_number", range(3))
def test_a_reversal_racing_the_coupons_redemption_either_voids_it_or_reports_it_used(busy, round_number):
    organization, _ = busy
    sale = f"sale-{uuid.uuid4().hex}"
    customer = create_customer(organization, email=f"{uuid.uuid4().hex}@example.com", stamps=8)
    with tenant_context(organization):
        coupon = earn(customer, "3", card_type="stamp", external_id=sale).coupon

    def attempt(index: int) -> str:
        with tenant_context(organization):
            if index == 0:
                return _outcome(lambda: reverse(original=sale, external_id=f"{sale}-void"))
            return _outcome(lambda: coupon_redeem(coupon_id=coupon.pk))

    reversal_outcome, redeem_outcome = run_at_once(2, attempt)

    with tenant_context(organization):
        status = Coupon.objects.get(pk=coupon.pk).status
        balance = Card.objects.get(customer=customer, program__kind="stamp").balance
        record = TransactionReversal.objects.get(original_external_id=sale)
    assert reversal_outcome == "ok"
    if redeem_outcome == "ok":  # redeemed first: the reversal found it used
        assert (status, balance, record.coupon_already_used, record.unrecovered) == ("redeemed", 0, True, 2)
    else:  # voided first: the coupon is no longer there to redeem
        assert (redeem_outcome, status, balance, record.coupons_voided) == ("coupon_not_found", "void", 8, 1)
