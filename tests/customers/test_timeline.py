"""The customer page's timeline: every source, newest first, one query per source, and pages
that neither repeat nor lose an event."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from loyalty_platform.accounts.models import User
from loyalty_platform.audit.models import AuditLogEntry
from loyalty_platform.coupons.models import Coupon
from loyalty_platform.customers.models import ConsentEvent, Customer
from loyalty_platform.customers.selectors import customer_timeline, customer_timeline_page
from loyalty_platform.customers.services import customer_block
from loyalty_platform.orders.models import Order, OrderReturn
from loyalty_platform.programs.models import Card, LedgerEntry
from loyalty_platform.rewards.models import Reward, RewardReception
from loyalty_platform.stored_value.models import Giftcard, MoneyEntry, PrepaidAccount
from loyalty_platform.verification.models import PinChallenge
from loyalty_platform.vouchers.models import Promotion, Voucher, VoucherRedemption
from tests.pos_fixtures import create_customer

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def stamp(model, pk, field: str, minutes: int) -> None:
    model.objects.filter(pk=pk).update(**{field: at(minutes)})


@pytest.fixture
def customer(organization, programs, in_organization):
    customer = create_customer(organization, email="tim@example.com", points=100)
    Customer.objects.filter(pk=customer.pk).update(
        created_at=at(-3), consent_terms_at=at(-3), consent_privacy_at=at(-3), consent_marketing_at=at(-2)
    )
    ConsentEvent.objects.create(
        customer=customer, channel="email", given=True, source="signup", created_at=at(-2)
    )
    customer.refresh_from_db()
    card = Card.objects.get(customer=customer, program__kind="point")
    earn = LedgerEntry.objects.get(card=card)
    stamp(LedgerEntry, earn.pk, "created_at", 1)
    reversal = LedgerEntry.objects.create(
        card=card, delta=-100, balance_after=0, cause="reversal", reversed_entry=earn, external_id="void-1"
    )
    stamp(LedgerEntry, reversal.pk, "created_at", 2)
    coupon = Coupon.objects.create(
        customer=customer, program=programs["stamp"], name="Free Coffee", qr_token="q1"
    )
    Coupon.objects.filter(pk=coupon.pk).update(issued_at=at(3), redeemed_at=at(4), status="redeemed")
    voucher = Voucher.objects.create(promotion=Promotion.objects.create(title="Spring"), code="SPRING1")
    use = VoucherRedemption.objects.create(voucher=voucher, customer=customer, external_id="v-1")
    stamp(VoucherRedemption, use.pk, "created_at", 5)
    order = Order.objects.create(
        external_id="o-1", customer=customer, currency="EUR", total=Decimal("12.50"), points_earned=12
    )
    stamp(Order, order.pk, "created_at", 6)
    back = OrderReturn.objects.create(order=order, external_id="r-1", points_due=12, points_taken=12)
    stamp(OrderReturn, back.pk, "created_at", 7)
    entry = LedgerEntry.objects.create(card=card, delta=0, balance_after=0, cause="redeem")
    stamp(LedgerEntry, entry.pk, "created_at", 8)
    reception = RewardReception.objects.create(
        reward=Reward.objects.create(name="Croissant", required_credits=10),
        customer=customer,
        points=10,
        status="spent",
        ledger_entry=entry,
    )
    stamp(RewardReception, reception.pk, "created_at", 9)
    account = PrepaidAccount.objects.create(customer=customer, currency="EUR")
    top_up = MoneyEntry.objects.create(prepaid_account=account, amount=20, balance_after=20, cause="load")
    stamp(MoneyEntry, top_up.pk, "created_at", 10)
    gift = Giftcard.objects.create(
        code="GIFT1", kind="digital", currency="EUR", recipient_email="TIM@example.com"
    )
    load = MoneyEntry.objects.create(giftcard=gift, amount=25, balance_after=25, cause="load")
    stamp(MoneyEntry, load.pk, "created_at", 11)
    challenge = PinChallenge.objects.create(
        customer=customer, action="redeem", pin_hash="x", pin_length=4, expires_at=at(13)
    )
    stamp(PinChallenge, challenge.pk, "created_at", 12)
    staff = User.objects.create_user("staff@example.com", "pw")
    customer_block(customer=customer, actor=staff, reason="Chargeback")
    AuditLogEntry.objects.update(created_at=at(13))
    # Another customer's history never shows.
    other = create_customer(organization, email="other@example.com", points=5)
    Coupon.objects.create(customer=other, program=programs["stamp"], name="Other", qr_token="q2")
    return customer


EXPECTED = [
    (at(13), "staff", "Staff: Blocked a customer ({customer})"),
    (at(12), "pin", "PIN asked: Redeem points or stamps"),
    (at(11), "giftcard", "Giftcard GIFT1: Load / top-up 25.00 EUR"),
    (at(10), "prepaid", "Prepaid: Load / top-up 20.00 EUR"),
    (at(9), "reward", "Reward: Croissant"),
    (at(8), "ledger", "Points: Redeem +0 points"),
    (at(7), "return", "Return on order o-1"),
    (at(6), "order", "Order o-1: 12.50 EUR"),
    (at(5), "voucher", "Voucher redeemed: Spring"),
    (at(4), "coupon", "Coupon redeemed: Free Coffee"),
    (at(3), "coupon", "Coupon issued: Free Coffee"),
    (at(2), "ledger", "Points: Reversal -100 points"),
    (at(1), "ledger", "Points: Adjustment +100 points"),
    (at(-2), "consent", "Agreed to offers by email"),
]


def expected(customer) -> list[tuple]:
    return [(when, kind, title.format(customer=customer)) for when, kind, title in EXPECTED]


def test_the_timeline_merges_every_source_newest_first_in_one_query_each(customer, django_assert_num_queries):
    # ledger, coupons issued and redeemed, vouchers, orders, returns, rewards, prepaid,
    # giftcards, PIN challenges, audit, marketing consent events: 12; the terms and privacy
    # consents are the customer's own fields.
    with django_assert_num_queries(12):
        items = customer_timeline(customer, limit=14)

    assert [(item.at, item.kind, item.title) for item in items] == expected(customer)
    reversal = next(item for item in items if "Reversal" in item.title)
    assert "reverses entry" in reversal.detail and "void-1" in reversal.detail


def test_pages_follow_each_other_without_repeating_or_losing_an_event(customer):
    seen, before, pages = [], None, 0
    while True:
        items, more = customer_timeline_page(customer, limit=4, before=before)
        seen += [(item.at, item.kind, item.title) for item in items]
        pages += 1
        if not more:
            break
        before = items[-1].at

    assert pages == 5  # 17 events (3 consents at one instant) in pages of at most 4
    assert seen[:14] == expected(customer)
    assert [kind for _, kind, _ in seen[14:]] == ["consent"] * 3
    assert len(seen) == len(set(seen)) == 17


def test_a_page_does_not_end_inside_a_group_of_the_same_instant(customer):
    # 3 consents share at(-3): a page of 15 would split them, so it stops before them.
    items, more = customer_timeline_page(customer, limit=15)

    assert (len(items), more) == (14, True)
    rest, more = customer_timeline_page(customer, limit=15, before=items[-1].at)
    assert ([item.at for item in rest], more) == ([at(-3)] * 3, False)
