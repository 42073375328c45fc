"""Every segment rule kind against hand-computed expectations on a few customers, with
negate, all / any, the boundary days, and another organization's rows never counting."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django_tenants.utils import tenant_context

from loyalty_platform.campaigns.models import Segment, SegmentListMember, SegmentRule
from loyalty_platform.campaigns.segments import (
    birthday_month_days,
    segment_contains,
    segment_customers,
    segment_rule_validate,
    segment_sample,
    segment_size,
)
from loyalty_platform.core.errors import DomainError
from loyalty_platform.customers.models import Customer
from loyalty_platform.orders.models import Order
from loyalty_platform.programs.models import LedgerEntry, Program
from loyalty_platform.rewards.models import Reward, RewardReception
from loyalty_platform.shops.models import Shop
from loyalty_platform.tiers.models import CustomerTier, Tier
from loyalty_platform.vouchers.models import Promotion, Voucher, VoucherRedemption
from tenants.services import api_key_create
from tests.campaigns.segments_fixtures import NOW, card, customer, entry, members, order, segment

Kind = SegmentRule.Kind
Cause = LedgerEntry.Cause
DAY = timedelta(days=1)

pytestmark = pytest.mark.usefixtures("in_organization")


def test_a_segment_without_rules_is_every_active_customer_and_blocked_or_erased_ones_are_in_none():
    customer("a@x.io", marketing=True)
    customer("b@x.io", marketing=True, status=Customer.Status.BLOCKED)
    customer("c@x.io", marketing=True, status=Customer.Status.DELETED)
    assert members(segment()) == {"a@x.io"}
    assert members(segment({"kind": Kind.MARKETING_CONSENT})) == {"a@x.io"}
    assert members(segment({"kind": Kind.MARKETING_CONSENT, "negate": True})) == set()


def test_tier_is_the_current_tier_and_negate_takes_customers_without_one_too():
    gold, silver = (
        Tier.objects.create(name="Gold", threshold_points=500),
        Tier.objects.create(name="Silver", threshold_points=100),
    )
    a, b = customer("a@x.io"), customer("b@x.io")
    customer("none@x.io")
    CustomerTier.objects.create(customer=a, tier=gold, qualifying_points=600, recalculated_at=NOW)
    CustomerTier.objects.create(customer=b, tier=silver, qualifying_points=150, recalculated_at=NOW)
    assert members(segment({"kind": Kind.TIER, "tier": gold})) == {"a@x.io"}
    assert members(segment({"kind": Kind.TIER, "tier": gold, "negate": True})) == {"b@x.io", "none@x.io"}


def test_points_balance_reads_the_active_point_card_and_no_card_is_zero():
    a, b, c = customer("a@x.io"), customer("b@x.io"), customer("c@x.io")
    customer("nocard@x.io")
    card(a, balance=100)
    card(b, balance=99)
    card(c, balance=0)
    stamps = Program.objects.create(kind=Program.Kind.STAMP, name="Coffee", stamps_per_card=10)
    card(c, program=stamps, balance=500)  # stamps are not points
    at_least = {"kind": Kind.POINTS_BALANCE, "comparison": "gte"}
    at_most = {"kind": Kind.POINTS_BALANCE, "comparison": "lte"}
    assert members(segment({**at_least, "amount": 100})) == {"a@x.io"}
    assert members(segment({**at_least, "amount": 0})) == {"a@x.io", "b@x.io", "c@x.io", "nocard@x.io"}
    assert members(segment({**at_most, "amount": 99})) == {"b@x.io", "c@x.io", "nocard@x.io"}
    assert members(segment({**at_most, "amount": 0})) == {"c@x.io", "nocard@x.io"}
    assert members(segment({**at_least, "amount": 100, "negate": True})) == {
        "b@x.io",
        "c@x.io",
        "nocard@x.io",
    }


def test_points_earned_counts_earns_and_orders_less_returns_and_reversals_within_the_window():
    a, b, c, d = customer("a@x.io"), customer("b@x.io"), customer("c@x.io"), customer("d@x.io")
    customer("nothing@x.io")
    # a: 60 earned + 50 by an order 10 days ago, 30 returned: 80; a grant and an adjustment do not count.
    entry(a, 60, Cause.EARN, NOW - 10 * DAY)
    entry(a, 50, Cause.ORDER, NOW - 10 * DAY)
    entry(a, -30, Cause.RETURN, NOW - 5 * DAY)
    entry(a, 500, Cause.CAMPAIGN, NOW - 5 * DAY)
    entry(a, 500, Cause.ADJUST, NOW - 5 * DAY)
    entry(a, -40, Cause.REDEEM, NOW - 5 * DAY)  # spending does not lower what was earned
    # b: 100 earned exactly 30 days ago (inside a 30-day window), 100 earned 31 days ago (outside).
    entry(b, 100, Cause.EARN, NOW - 30 * DAY)
    entry(b, 100, Cause.EARN, NOW - 31 * DAY)
    # c: 120 earned then reversed: 0.
    earned = entry(c, 120, Cause.EARN, NOW - 3 * DAY)
    entry(c, -120, Cause.REVERSAL, NOW - 2 * DAY, reverses=earned)
    # d: an earn before the window reversed inside it does not count against the window.
    old = entry(d, 90, Cause.EARN, NOW - 40 * DAY)
    entry(d, -90, Cause.REVERSAL, NOW - 1 * DAY, reverses=old)
    entry(d, 5, Cause.EARN, NOW - 1 * DAY)
    rule = {"kind": Kind.POINTS_EARNED, "days": 30}
    assert members(segment({**rule, "comparison": "gte", "amount": 80})) == {"a@x.io", "b@x.io"}
    assert members(segment({**rule, "comparison": "gte", "amount": 81})) == {"b@x.io"}
    assert members(segment({**rule, "comparison": "lte", "amount": 5})) == {
        "c@x.io",
        "d@x.io",
        "nothing@x.io",
    }
    assert members(segment({**rule, "comparison": "lte", "amount": 0})) == {"c@x.io", "nothing@x.io"}
    assert members(segment({**rule, "comparison": "gte", "amount": 1, "negate": True})) == {
        "c@x.io",
        "nothing@x.io",
    }
    # At 31 days b's second earn is in: 200.
    assert members(segment({**rule, "days": 31, "comparison": "gte", "amount": 200})) == {"b@x.io"}


def test_money_spent_sums_orders_in_the_window_less_returned_lines_and_fully_returned_orders():
    a, b, c = customer("a@x.io"), customer("b@x.io"), customer("c@x.io")
    customer("nothing@x.io")
    order(a, "30.00", NOW - 2 * DAY)
    order(a, "25.00", NOW - 3 * DAY, status=Order.Status.PARTIALLY_RETURNED, returned=("2", "2.50"))  # 20
    order(b, "100.00", NOW - 1 * DAY, status=Order.Status.RETURNED, returned=("1", "100"))  # 0
    order(b, "49.99", NOW - 7 * DAY)
    order(c, "500.00", NOW - 8 * DAY)  # outside 7 days
    rule = {"kind": Kind.MONEY_SPENT, "days": 7}
    assert members(segment({**rule, "comparison": "gte", "amount": Decimal("50")})) == {"a@x.io"}
    assert members(segment({**rule, "comparison": "gte", "amount": Decimal("49.99")})) == {"a@x.io", "b@x.io"}
    assert members(segment({**rule, "comparison": "lte", "amount": Decimal("0")})) == {
        "c@x.io",
        "nothing@x.io",
    }
    assert members(segment({**rule, "days": 8, "comparison": "gte", "amount": Decimal("500")})) == {"c@x.io"}


def test_last_visit_is_the_latest_order_earn_or_redeem_and_the_enrollment_without_one():
    old = NOW - 100 * DAY
    by_order, by_earn, by_redeem = (
        customer("order@x.io", created=old),
        customer("earn@x.io", created=old),
        customer("redeem@x.io", created=old),
    )
    customer("never-old@x.io", created=old)
    customer("never-new@x.io", created=NOW - 5 * DAY)
    adjusted = customer("adjusted@x.io", created=old)
    order(by_order, "5.00", NOW - 30 * DAY)  # exactly 30 days ago
    entry(by_earn, 5, Cause.EARN, NOW - 29 * DAY)
    entry(by_redeem, -5, Cause.REDEEM, NOW - 60 * DAY)
    entry(adjusted, 500, Cause.ADJUST, NOW - 1 * DAY)  # staff adjustments are no visit
    at_least = {"kind": Kind.LAST_VISIT, "comparison": "gte", "days": 30}
    at_most = {"kind": Kind.LAST_VISIT, "comparison": "lte", "days": 30}
    assert members(segment(at_least)) == {"order@x.io", "redeem@x.io", "never-old@x.io", "adjusted@x.io"}
    assert members(segment(at_most)) == {"order@x.io", "earn@x.io", "never-new@x.io"}
    assert members(segment({**at_least, "negate": True})) == {"earn@x.io", "never-new@x.io"}
    # A day later the order is 31 days old and the earn 30.
    later = NOW + DAY
    assert members(segment(at_most), now=later) == {"earn@x.io", "never-new@x.io"}
    assert "earn@x.io" in members(segment(at_least), now=later)


def test_member_since_compares_the_local_day_of_enrollment(organization):
    organization.timezone = "Europe/Vilnius"  # UTC+2 in winter
    # 30 Nov 22:30 UTC is 1 Dec 00:30 in Vilnius; 30 Nov 21:30 UTC is 30 Nov 23:30 there.
    customer("dec@x.io", created=datetime(2026, 11, 30, 22, 30, tzinfo=UTC))
    customer("nov@x.io", created=datetime(2026, 11, 30, 21, 30, tzinfo=UTC))
    rule = {"kind": Kind.MEMBER_SINCE, "date": date(2026, 12, 1)}
    assert members(segment({**rule, "comparison": "gte"})) == {"dec@x.io"}
    assert members(segment({**rule, "comparison": "lte"})) == {"dec@x.io", "nov@x.io"}
    assert members(segment({**rule, "date": date(2026, 11, 30), "comparison": "lte"})) == {"nov@x.io"}
    assert members(segment({**rule, "comparison": "gte", "negate": True})) == {"nov@x.io"}


def test_birthday_within_runs_across_the_year_end_and_puts_29_february_on_28_february():
    new_year_eve = datetime(2026, 12, 28, 12, tzinfo=UTC)
    customer("dec28@x.io", birth_date=date(1990, 12, 28))
    customer("jan3@x.io", birth_date=date(1985, 1, 3))
    customer("jan4@x.io", birth_date=date(1985, 1, 4))
    customer("dec27@x.io", birth_date=date(2000, 12, 27))
    customer("leap@x.io", birth_date=date(2000, 2, 29))
    customer("nobirthday@x.io")
    rule = {"kind": Kind.BIRTHDAY_WITHIN, "days": 6}
    assert members(segment(rule), now=new_year_eve) == {"dec28@x.io", "jan3@x.io"}
    assert members(segment({**rule, "days": 0}), now=new_year_eve) == {"dec28@x.io"}
    assert members(segment({**rule, "negate": True}), now=new_year_eve) == {
        "jan4@x.io",
        "dec27@x.io",
        "leap@x.io",
        "nobirthday@x.io",
    }
    # 2027 has no 29 February: the leap-day birthday is on 28 February; in 2028 on the 29th.
    assert members(segment({**rule, "days": 0}), now=datetime(2027, 2, 28, tzinfo=UTC)) == {"leap@x.io"}
    assert members(segment({**rule, "days": 0}), now=datetime(2028, 2, 28, tzinfo=UTC)) == set()
    assert members(segment({**rule, "days": 0}), now=datetime(2028, 2, 29, tzinfo=UTC)) == {"leap@x.io"}
    assert len(birthday_month_days(date(2026, 1, 1), 1000)) == 366


def test_shop_visited_by_order_or_by_an_entry_made_with_that_shops_api_key(organization, other_organization):
    shop, elsewhere = Shop.objects.create(name="Centre"), Shop.objects.create(name="Harbour")
    key = api_key_create(organization=organization, label="centre till", shop_id=shop.pk).api_key
    other_key = api_key_create(organization=organization, label="harbour", shop_id=elsewhere.pk).api_key
    # Another organization's key bound to a shop with the same id counts for nothing here.
    foreign_key = api_key_create(organization=other_organization, label="x", shop_id=None).api_key
    type(foreign_key).objects.filter(pk=foreign_key.pk).update(shop_id=shop.pk)
    a, b, c, d = customer("a@x.io"), customer("b@x.io"), customer("c@x.io"), customer("d@x.io")
    order(a, "5.00", NOW, shop=shop)
    entry(b, 5, Cause.EARN, NOW, lookup=key.lookup_id)
    entry(c, 5, Cause.EARN, NOW, lookup=other_key.lookup_id)
    order(c, "5.00", NOW, shop=elsewhere)
    entry(d, 5, Cause.EARN, NOW, lookup=foreign_key.lookup_id)
    assert members(segment({"kind": Kind.SHOP_VISITED, "shop": shop})) == {"a@x.io", "b@x.io"}
    assert members(segment({"kind": Kind.SHOP_VISITED, "shop": shop, "negate": True})) == {"c@x.io", "d@x.io"}


def test_received_reward_counts_receptions_that_were_not_reversed():
    coffee = Reward.objects.create(name="Coffee", required_credits=100)
    cake = Reward.objects.create(name="Cake", required_credits=200)
    a, b, c = customer("a@x.io"), customer("b@x.io"), customer("c@x.io")

    def receive(of, reward, status):
        spent = entry(of, -reward.required_credits, Cause.REDEEM, NOW)
        RewardReception.objects.create(
            reward=reward,
            customer=of,
            points=reward.required_credits,
            status=status,
            ledger_entry=spent,
            reversed_at=NOW if status == RewardReception.Status.REVERSED else None,
        )

    receive(a, coffee, RewardReception.Status.SPENT)
    receive(b, coffee, RewardReception.Status.REVERSED)
    receive(c, cake, RewardReception.Status.COLLECTABLE)
    assert members(segment({"kind": Kind.REDEEMED_REWARD, "reward": coffee})) == {"a@x.io"}
    assert members(segment({"kind": Kind.REDEEMED_REWARD, "reward": coffee, "negate": True})) == {
        "b@x.io",
        "c@x.io",
    }


def test_used_voucher_counts_redemptions_by_or_for_the_customer_that_were_not_reversed():
    promotion = Promotion.objects.create(title="Ten off")
    other = Promotion.objects.create(title="Five off")
    a, b, c, d = customer("a@x.io"), customer("b@x.io"), customer("c@x.io"), customer("d@x.io")
    first = Voucher.objects.create(promotion=promotion, code="V1")
    VoucherRedemption.objects.create(voucher=first, customer=a)
    mine = Voucher.objects.create(promotion=promotion, code="V2", customer=b)
    VoucherRedemption.objects.create(voucher=mine, customer=None)  # used anonymously, assigned to b
    undone = Voucher.objects.create(promotion=promotion, code="V3")
    VoucherRedemption.objects.create(voucher=undone, customer=c, reversed_at=NOW)
    VoucherRedemption.objects.create(voucher=Voucher.objects.create(promotion=other, code="V4"), customer=d)
    assert members(segment({"kind": Kind.REDEEMED_VOUCHER, "promotion": promotion})) == {"a@x.io", "b@x.io"}
    assert members(segment({"kind": Kind.REDEEMED_VOUCHER, "promotion": promotion, "negate": True})) == {
        "c@x.io",
        "d@x.io",
    }


def test_static_list_is_the_segments_own_list():
    a, b = customer("a@x.io"), customer("b@x.io")
    listed, other = segment({"kind": Kind.STATIC_LIST}), segment({"kind": Kind.STATIC_LIST})
    SegmentListMember.objects.create(segment=listed, customer=a)
    SegmentListMember.objects.create(segment=other, customer=b)
    assert members(listed) == {"a@x.io"}
    assert members(other) == {"b@x.io"}


def test_all_needs_every_rule_and_any_one_of_them():
    a, b = customer("a@x.io", marketing=True), customer("b@x.io")
    customer("c@x.io")
    card(a, balance=10)
    card(b, balance=500)
    rules = (
        {"kind": Kind.MARKETING_CONSENT},
        {"kind": Kind.POINTS_BALANCE, "comparison": "gte", "amount": 100},
    )
    assert members(segment(*rules, match=Segment.Match.ALL)) == set()
    assert members(segment(*rules, match=Segment.Match.ANY)) == {"a@x.io", "b@x.io"}
    negated = ({"kind": Kind.MARKETING_CONSENT, "negate": True}, rules[1])
    assert members(segment(*negated, match=Segment.Match.ALL)) == {"b@x.io"}


def test_sums_narrowed_by_consent_or_a_lapse_agree_with_asking_each_customer():
    """A match-all segment with consent or "last visit at least N days ago" sums only those
    customers' entries and orders (segments._narrowing); members() checks that against
    segment_contains, which does not narrow. "At most" sums (0 meets them), a negated consent
    (which does not narrow) and match-any too."""
    big, small, silent = (customer(f"{name}@x.io", marketing=True) for name in ("big", "small", "silent"))
    loud = customer("loud@x.io")  # no consent, but big sums
    for who, points, money in ((big, 150, "90.00"), (small, 20, "5.00"), (loud, 300, "200.00")):
        entry(who, points, LedgerEntry.Cause.EARN, NOW - timedelta(days=20))
        order(who, money, NOW - timedelta(days=20))
    entry(small, 1, LedgerEntry.Cause.REDEEM, NOW - timedelta(days=2))  # came back since
    card(silent)
    consent = {"kind": Kind.MARKETING_CONSENT}
    lapsed = {"kind": Kind.LAST_VISIT, "comparison": "gte", "days": 10}
    earned = {"kind": Kind.POINTS_EARNED, "days": 30}
    spent = {"kind": Kind.MONEY_SPENT, "days": 30}
    assert members(segment(consent, earned | {"comparison": "gte", "amount": 100})) == {"big@x.io"}
    assert members(segment(consent, earned | {"comparison": "lte", "amount": 50})) == {
        "small@x.io",
        "silent@x.io",
    }
    assert members(segment(consent, spent | {"comparison": "gte", "amount": 50})) == {"big@x.io"}
    assert members(segment(consent, spent | {"comparison": "lte", "amount": 10})) == {
        "small@x.io",
        "silent@x.io",
    }
    assert members(segment(lapsed, earned | {"comparison": "gte", "amount": 100})) == {
        "big@x.io",
        "loud@x.io",
    }
    assert members(segment(lapsed, consent, spent | {"comparison": "lte", "amount": 10})) == {"silent@x.io"}
    not_consenting = consent | {"negate": True}
    assert members(segment(not_consenting, earned | {"comparison": "gte", "amount": 100})) == {"loud@x.io"}
    assert members(
        segment(consent, earned | {"comparison": "gte", "amount": 100}, match=Segment.Match.ANY)
    ) == {
        "big@x.io",
        "small@x.io",
        "silent@x.io",
        "loud@x.io",
    }


def test_size_and_sample_are_the_newest_customers_with_only_what_staff_see():
    made = [customer(f"c{n}@x.io", marketing=True) for n in range(5)]
    s = segment({"kind": Kind.MARKETING_CONSENT})
    sample = segment_sample(s, limit=3, now=NOW)
    assert [row["email"] for row in sample] == ["c4@x.io", "c3@x.io", "c2@x.io"]
    assert set(sample[0]) == {"pk", "customer_code", "email", "name", "created_at"}
    assert sample[0]["pk"] == made[4].pk
    assert segment_size(s, now=NOW) == 5


def test_another_organizations_customers_never_appear_although_their_ids_repeat(
    organization, other_organization
):
    here = customer("here@x.io", marketing=True)
    entry(here, 200, Cause.EARN, NOW - DAY)
    with tenant_context(other_organization):
        there = customer("there@x.io", marketing=True)
        entry(there, 900, Cause.EARN, NOW - DAY)
        there_ids = {there.pk}
    s = segment(
        {"kind": Kind.MARKETING_CONSENT},
        {"kind": Kind.POINTS_EARNED, "comparison": "gte", "amount": 100, "days": 30},
    )
    assert members(s) == {"here@x.io"}
    # The other schema's customer id means a customer of this schema (or none) here.
    for pk in there_ids:
        assert segment_contains(s, pk, now=NOW) == (pk == here.pk)
    assert list(segment_customers(s, now=NOW).values_list("pk", flat=True)) == [here.pk]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"kind": Kind.TIER}, "tier"),
        ({"kind": Kind.POINTS_BALANCE}, "amount"),
        ({"kind": Kind.POINTS_EARNED, "amount": 1}, "days"),
        ({"kind": Kind.POINTS_EARNED, "days": 30}, "amount"),
        ({"kind": Kind.MONEY_SPENT, "amount": 1, "days": 0}, "days"),
        ({"kind": Kind.LAST_VISIT}, "days"),
        ({"kind": Kind.LAST_VISIT, "days": 40_000}, "days"),
        ({"kind": Kind.MEMBER_SINCE}, "date"),
        ({"kind": Kind.MEMBER_SINCE, "date": date(9999, 12, 31), "comparison": "lte"}, "date"),
        ({"kind": Kind.MEMBER_SINCE, "date": date(1, 1, 1)}, "date"),
        ({"kind": Kind.BIRTHDAY_WITHIN}, "days"),
        ({"kind": Kind.SHOP_VISITED}, "shop"),
        ({"kind": Kind.REDEEMED_REWARD}, "reward"),
        ({"kind": Kind.REDEEMED_VOUCHER}, "promotion"),
        ({"kind": "nonsense"}, "kind"),
        ({"kind": Kind.POINTS_BALANCE, "amount": 1, "comparison": "eq"}, "comparison"),
    ],
)
def test_a_rule_lacking_what_its_kind_needs_is_refused_with_the_field(fields, field):
    with pytest.raises(DomainError) as refused:
        segment_rule_validate(SegmentRule(**fields))
    assert (refused.value.code, refused.value.extra) == (
        "segment_rule_invalid",
        {"field": field, "kind": fields["kind"]},
    )


def test_complete_rules_pass_validation():
    for fields in (
        {"kind": Kind.MARKETING_CONSENT},
        {"kind": Kind.STATIC_LIST},
        {"kind": Kind.BIRTHDAY_WITHIN, "days": 0},
        {"kind": Kind.POINTS_EARNED, "amount": 0, "days": 1},
    ):
        segment_rule_validate(SegmentRule(**fields))
