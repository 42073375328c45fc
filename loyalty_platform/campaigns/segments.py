"""A segment's customers as one SQL query: every rule is a condition on the customers table
(an EXISTS, an IN over a grouped sub-select, or a column), `negate` puts NOT in front of it,
and the segment joins its rules with AND (match "all") or OR (match "any"). Nothing loops over
customers in Python. Blocked and erased customers are in no segment.

What the rules mean (N is `days`, A is `amount`, `now` is the moment of the query):

- tier: the customer's current tier (tiers.CustomerTier, as the last recalculation left it).
- points_balance: the balance of the customer's card in the active point program compared
  (gte / lte) with A; a customer without such a card has 0.
- points_earned: the points that count towards tiers (tiers.services), in the last N days on
  the active point program's cards: earns and orders, minus returns and the reversals of earns
  and orders made within the window. Campaign grants, staff adjustments and redemptions do not
  count. No entries: 0.
- money_spent: the sum of the customer's orders (orders.Order.total) created in the last N
  days, less what was returned: a fully returned order counts 0, a partly returned one its
  total less its returned lines' value (quantity x unit price), never below 0. Earns through
  /webhook/pos carry no amount, so they do not count here.
- last_visit: a visit is an order of the customer or an earn or redeem entry on one of their
  cards (each card keeps its newest in Card.last_visit_at); the last visit is the latest of
  them, or the enrollment when there is none.
  "gte": the last visit is at least N days before now; "lte": at most N days before now.
- member_since: the enrollment's local day (organization's time zone) is on or after (gte) or
  on or before (lte) `date`.
- birthday_within: the day and month of the birth date fall on today or one of the N days
  after it (local days; N = 0 is today only); the window runs across the year's end. A 29
  February birthday is on 28 February in years without one. No birth date: never.
- shop_visited: an order at the shop, or a ledger entry (earn, redeem, order) made with one of
  the organization's API keys bound to that shop (tenants.ApiKey.shop_id).
- marketing_consent: the customer gave marketing consent (and did not withdraw it).
- redeemed_reward: the customer received the reward (a reception that was not reversed).
- redeemed_voucher: a voucher of the promotion was used by or for the customer and the use
  was not reversed.
- static_list: the customer is on the segment's imported list.
"""

import calendar
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db import connection
from django.db.models import (
    BooleanField,
    DecimalField,
    Exists,
    ExpressionWrapper,
    F,
    Func,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce, ExtractDay, ExtractMonth, Greatest
from django.db.models.lookups import In
from django.utils import timezone

from loyalty_platform.campaigns.models import Segment, SegmentListMember, SegmentRule
from loyalty_platform.campaigns.selectors import organization_zone
from loyalty_platform.core import errors
from loyalty_platform.customers.models import Customer
from loyalty_platform.orders.models import Order, OrderLine
from loyalty_platform.programs.models import Card, LedgerEntry, Program
from loyalty_platform.rewards.models import RewardReception
from loyalty_platform.tiers.models import CustomerTier
from loyalty_platform.tiers.services import QUALIFYING_CAUSES
from loyalty_platform.vouchers.models import VoucherRedemption
from tenants.models import ApiKey

Kind = SegmentRule.Kind
MAX_RULE_DAYS = 36_500
# Member since: a local midnight on either side of any such day is a datetime.
EARLIEST_DATE, LATEST_DATE = date(1900, 1, 1), date(2999, 12, 31)
SHOP_CAUSES = (LedgerEntry.Cause.EARN, LedgerEntry.Cause.REDEEM, LedgerEntry.Cause.ORDER)
SAMPLE_FIELDS = ("pk", "customer_code", "email", "name", "created_at")

# What each kind needs besides `kind` (and `comparison`, which has a default).
REQUIRED_FIELDS: dict[str, tuple[str, ...]] = {
    Kind.TIER: ("tier",),
    Kind.POINTS_BALANCE: ("amount",),
    Kind.POINTS_EARNED: ("amount", "days"),
    Kind.MONEY_SPENT: ("amount", "days"),
    Kind.LAST_VISIT: ("days",),
    Kind.MEMBER_SINCE: ("date",),
    Kind.BIRTHDAY_WITHIN: ("days",),
    Kind.SHOP_VISITED: ("shop",),
    Kind.MARKETING_CONSENT: (),
    Kind.REDEEMED_REWARD: ("reward",),
    Kind.REDEEMED_VOUCHER: ("promotion",),
    Kind.STATIC_LIST: (),
}
COMPARED_KINDS = (
    Kind.POINTS_BALANCE,
    Kind.POINTS_EARNED,
    Kind.MONEY_SPENT,
    Kind.LAST_VISIT,
    Kind.MEMBER_SINCE,
)


def segment_rule_validate(rule: SegmentRule) -> None:
    """SEGMENT_RULE_INVALID(field=..., kind=...) when the rule lacks a value its kind needs
    (or has one out of range); the admin's rule form shows it on that field."""
    if rule.kind not in REQUIRED_FIELDS:
        raise errors.SEGMENT_RULE_INVALID(field="kind", kind=str(rule.kind))
    for name in REQUIRED_FIELDS[rule.kind]:
        if getattr(rule, f"{name}_id" if name in ("tier", "shop", "reward", "promotion") else name) is None:
            raise errors.SEGMENT_RULE_INVALID(field=name, kind=rule.kind)
    if rule.kind in COMPARED_KINDS and rule.comparison not in SegmentRule.Comparison.values:
        raise errors.SEGMENT_RULE_INVALID(field="comparison", kind=rule.kind)
    if rule.kind == Kind.MEMBER_SINCE and not EARLIEST_DATE <= rule.date <= LATEST_DATE:
        raise errors.SEGMENT_RULE_INVALID(field="date", kind=rule.kind)
    if "days" in REQUIRED_FIELDS[rule.kind]:
        lowest = 0 if rule.kind == Kind.BIRTHDAY_WITHIN else 1
        if not lowest <= rule.days <= MAX_RULE_DAYS:
            raise errors.SEGMENT_RULE_INVALID(field="days", kind=rule.kind)


def _compared_ids(grouped: QuerySet, column: str, comparison: str, amount: Decimal, customers_of=None) -> Q:
    """`value <comparison> amount` for a value that is a per-key SUM (`total`) of `grouped`'s
    rows, and 0 for a customer without rows: customers with rows that meet it, or everyone
    except those with rows that fail it when 0 meets it too. `customers_of` turns a query of
    keys (`column`) into one of customer ids."""
    if comparison == SegmentRule.Comparison.AT_LEAST:
        meets, fails, zero_meets = "total__gte", "total__lt", amount <= 0
    else:
        meets, fails, zero_meets = "total__lte", "total__gt", amount >= 0
    keys = grouped.filter(**{fails if zero_meets else meets: amount}).values(column)
    ids = keys if customers_of is None else customers_of(keys)
    return ~Q(pk__in=ids) if zero_meets else Q(pk__in=ids)


class _AnyOf(Func):
    """`column = ANY(ARRAY(sub-select))`: the sub-select runs once and its ids become an index
    condition. As `IN (sub-select)` the planner joins instead, after reading every row of the
    window."""

    arg_joiner = " = ANY(ARRAY"
    template = "(%(expressions)s))"
    output_field = BooleanField()


def _points_program_cards(customer_id: int | None) -> QuerySet[Card]:
    cards = Card.objects.filter(program__kind=Program.Kind.POINT, program__is_active=True)
    return cards if customer_id is None else cards.filter(customer_id=customer_id)


def _points_earned(
    rule: SegmentRule, now: datetime, customer_id: int | None, narrow_to: "Narrowing | None" = None
) -> Q:
    since = now - timedelta(days=rule.days)
    # A reversal counts when what it reversed counts: looked up by primary key, for the few
    # reversal rows only (a join would read the whole ledger for them).
    original_counts = LedgerEntry.objects.filter(
        pk=OuterRef("reversed_entry_id"), cause__in=QUALIFYING_CAUSES, created_at__gte=since
    )
    entries = LedgerEntry.objects.filter(
        Q(cause__in=QUALIFYING_CAUSES) | (Q(cause=LedgerEntry.Cause.REVERSAL) & Q(Exists(original_counts))),
        created_at__gte=since,
        created_at__lte=now,
    )
    if customer_id is not None:
        entries = entries.filter(card__customer_id=customer_id)
    elif narrow_to is not None:
        narrowed_cards = narrow_to.point_cards.values("pk")
        entries = entries.filter(_AnyOf(F("card_id"), Subquery(narrowed_cards)))
    # Grouped by card, then mapped to customers through the point cards (one per customer).
    grouped = entries.values("card_id").annotate(total=Sum("delta")).order_by()
    cards = _points_program_cards(customer_id)
    return _compared_ids(
        grouped,
        "card_id",
        rule.comparison,
        rule.amount,
        customers_of=lambda card_ids: cards.filter(pk__in=card_ids).values("customer_id"),
    )


def _money_spent(
    rule: SegmentRule, now: datetime, customer_id: int | None, narrow_to: "Narrowing | None" = None
) -> Q:
    money = DecimalField(max_digits=20, decimal_places=4)
    returned = (
        OrderLine.objects.filter(order_id=OuterRef("pk"))
        .values("order_id")
        .annotate(value=Sum(ExpressionWrapper(F("returned_quantity") * F("unit_price"), output_field=money)))
        .values("value")
    )
    orders = Order.objects.filter(
        customer__isnull=False, created_at__gte=now - timedelta(days=rule.days), created_at__lte=now
    ).exclude(status=Order.Status.RETURNED)
    if customer_id is not None:
        orders = orders.filter(customer_id=customer_id)
    elif narrow_to is not None:
        orders = orders.filter(_AnyOf(F("customer_id"), Subquery(narrow_to.customers.values("pk"))))
    zero = Value(Decimal("0"), output_field=money)
    left = F("total") - Coalesce(Subquery(returned, output_field=money), zero)
    kept = Greatest(left, zero, output_field=money)
    grouped = orders.values("customer_id").annotate(total=Sum(kept, output_field=money)).order_by()
    return _compared_ids(grouped, "customer_id", rule.comparison, rule.amount)


def _visits_since(moment: datetime, *, strictly: bool = False) -> tuple[Exists, Exists]:
    """The customer's visits at or after `moment` (after it, `strictly`): orders, and cards
    whose newest earn or redeem entry is that recent (Card.last_visit_at, which ledger_post
    keeps, so the ledger is not read for it)."""
    after = "gt" if strictly else "gte"
    orders = Order.objects.filter(customer_id=OuterRef("pk"), **{f"created_at__{after}": moment})
    cards = Card.objects.filter(customer_id=OuterRef("pk"), **{f"last_visit_at__{after}": moment})
    return Exists(orders), Exists(cards)


def _last_visit(rule: SegmentRule, now: datetime) -> Q:
    cutoff = now - timedelta(days=rule.days)
    orders, cards = _visits_since(cutoff, strictly=rule.comparison == SegmentRule.Comparison.AT_LEAST)
    if rule.comparison == SegmentRule.Comparison.AT_LEAST:
        # Last visit <= cutoff: enrolled by then and no visit after it. Two NOT EXISTS joined by
        # AND, not NOT (a OR b): PostgreSQL turns each into one anti-join over the recent
        # visits instead of probing them customer by customer.
        return Q(created_at__lte=cutoff) & ~Q(orders) & ~Q(cards)
    return Q(created_at__gte=cutoff) | Q(orders) | Q(cards)


def _local_midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=organization_zone())


def _member_since(rule: SegmentRule) -> Q:
    if rule.comparison == SegmentRule.Comparison.AT_LEAST:
        return Q(created_at__gte=_local_midnight(rule.date))
    return Q(created_at__lt=_local_midnight(rule.date + timedelta(days=1)))


def birthday_month_days(today: date, days: int) -> list[int]:
    """month * 100 + day of every birthday that falls on today or one of the `days` after it;
    29 February counts on 28 February of a year without one."""
    found = set()
    for offset in range(min(days, 366) + 1):
        day = today + timedelta(days=offset)
        found.add(day.month * 100 + day.day)
        if day.month == 2 and day.day == 28 and not calendar.isleap(day.year):
            found.add(229)
    return sorted(found)


def _birthday_within(rule: SegmentRule, now: datetime) -> Q:
    today = now.astimezone(organization_zone()).date()
    month_day = ExtractMonth("birth_date") * 100 + ExtractDay("birth_date")
    return Q(birth_date__isnull=False) & Q(In(month_day, birthday_month_days(today, rule.days)))


def _shop_visited(rule: SegmentRule) -> Q:
    condition = Q(Exists(Order.objects.filter(customer_id=OuterRef("pk"), shop_id=rule.shop_id)))
    tenant = getattr(connection, "tenant", None)
    organization_id = getattr(tenant, "pk", None)
    if organization_id is not None:
        # The keys live in the public schema; an organization has a handful of them.
        lookups = list(
            ApiKey.objects.filter(organization_id=organization_id, shop_id=rule.shop_id).values_list(
                "lookup_id", flat=True
            )
        )
        if lookups:
            entries = LedgerEntry.objects.filter(
                card__customer_id=OuterRef("pk"), cause__in=SHOP_CAUSES, api_key_lookup_id__in=lookups
            )
            condition |= Q(Exists(entries))
    return condition


def _rule_condition(
    rule: SegmentRule,
    now: datetime,
    customer_id: int | None = None,
    narrow_to: "Narrowing | None" = None,
) -> Q:
    """The rule as a condition on Customer. `customer_id`, when given, narrows the grouped
    sub-selects to that customer, so asking about one customer reads only their rows;
    `narrow_to` narrows them to those customers (see _narrowing)."""
    segment_rule_validate(rule)
    kind = rule.kind
    if kind == Kind.TIER:
        condition = Q(Exists(CustomerTier.objects.filter(customer_id=OuterRef("pk"), tier_id=rule.tier_id)))
    elif kind == Kind.POINTS_BALANCE:
        cards = _points_program_cards(customer_id).annotate(total=F("balance"))
        condition = _compared_ids(cards, "customer_id", rule.comparison, rule.amount)
    elif kind == Kind.POINTS_EARNED:
        condition = _points_earned(rule, now, customer_id, narrow_to)
    elif kind == Kind.MONEY_SPENT:
        condition = _money_spent(rule, now, customer_id, narrow_to)
    elif kind == Kind.LAST_VISIT:
        condition = _last_visit(rule, now)
    elif kind == Kind.MEMBER_SINCE:
        condition = _member_since(rule)
    elif kind == Kind.BIRTHDAY_WITHIN:
        condition = _birthday_within(rule, now)
    elif kind == Kind.SHOP_VISITED:
        condition = _shop_visited(rule)
    elif kind == Kind.MARKETING_CONSENT:
        condition = Q(consent_marketing_at__isnull=False)
    elif kind == Kind.REDEEMED_REWARD:
        receptions = RewardReception.objects.filter(
            customer_id=OuterRef("pk"), reward_id=rule.reward_id, reversed_at__isnull=True
        ).exclude(status=RewardReception.Status.REVERSED)
        condition = Q(Exists(receptions))
    elif kind == Kind.REDEEMED_VOUCHER:
        uses = VoucherRedemption.objects.filter(
            Q(customer_id=OuterRef("pk")) | Q(customer__isnull=True, voucher__customer_id=OuterRef("pk")),
            voucher__promotion_id=rule.promotion_id,
            reversed_at__isnull=True,
        )
        condition = Q(Exists(uses))
    else:  # STATIC_LIST: segment_rule_validate refused unknown kinds
        members = SegmentListMember.objects.filter(segment_id=rule.segment_id, customer_id=OuterRef("pk"))
        condition = Q(Exists(members))
    return ~condition if rule.negate else condition


def _narrows(rule: SegmentRule) -> bool:
    """A rule that tests the customer's row (or a column per card) and usually leaves a
    fraction of the customers: consent, a birthday soon, a last visit long ago."""
    if rule.negate:
        return False
    if rule.kind == Kind.LAST_VISIT:
        return rule.comparison == SegmentRule.Comparison.AT_LEAST
    return rule.kind in (Kind.MARKETING_CONSENT, Kind.BIRTHDAY_WITHIN)


@dataclass(frozen=True)
class Narrowing:
    customers: QuerySet[Customer]  # who passes the narrowing rules
    point_cards: QuerySet[Card]  # a superset of their point cards, read in one pass over cards


def _narrowing(segment: Segment, rules: list[SegmentRule], now: datetime) -> Narrowing | None:
    """In a match-all segment with points or money sums, the customers its narrowing rules
    leave: the sums need only theirs, as the segment's other rules hold only for them. At a
    million customers with 2.5 million entries in a 90-day window this is most of the query's
    time (README, bench/segments.py). None: nothing narrows, the sums read every row.

    The point cards are found in one pass over the cards: a lapse is tested on the point card
    alone (its own last visit), which keeps everyone the exact rule keeps and maybe a few
    more; the segment's rules themselves then decide."""
    summed = any(rule.kind in (Kind.POINTS_EARNED, Kind.MONEY_SPENT) for rule in rules)
    if segment.match != Segment.Match.ALL or not summed:
        return None
    narrowing = [rule for rule in rules if _narrows(rule)]
    if not narrowing:
        return None
    customers = Customer.objects.filter(
        *[_rule_condition(rule, now) for rule in narrowing], status=Customer.Status.ACTIVE
    )
    cards = _points_program_cards(None).filter(customer__status=Customer.Status.ACTIVE)
    for rule in narrowing:
        if rule.kind == Kind.MARKETING_CONSENT:
            cards = cards.filter(customer__consent_marketing_at__isnull=False)
        elif rule.kind == Kind.LAST_VISIT:
            cutoff = now - timedelta(days=rule.days)
            cards = cards.filter(Q(last_visit_at__isnull=True) | Q(last_visit_at__lte=cutoff))
            cards = cards.filter(customer__created_at__lte=cutoff)
        else:
            cards = cards.filter(customer__in=Customer.objects.filter(_rule_condition(rule, now)))
    return Narrowing(customers=customers, point_cards=cards)


def _segment_filter(segment: Segment, now: datetime, customer_id: int | None = None) -> Q | None:
    rules = list(segment.rules.all())
    if not rules:
        return None
    narrow_to = None if customer_id is not None else _narrowing(segment, rules, now)
    conditions = [_rule_condition(rule, now, customer_id, narrow_to) for rule in rules]
    combined = conditions[0]
    for condition in conditions[1:]:
        combined = (combined & condition) if segment.match == Segment.Match.ALL else (combined | condition)
    return combined


def segment_customers(segment: Segment, *, now: datetime | None = None) -> QuerySet[Customer]:
    """Active customers of the segment (a segment without rules: every active customer)."""
    customers = Customer.objects.filter(status=Customer.Status.ACTIVE)
    combined = _segment_filter(segment, now or timezone.now())
    return customers if combined is None else customers.filter(combined)


def segment_size(segment: Segment, *, now: datetime | None = None) -> int:
    """How many customers the segment holds now: one COUNT query."""
    return segment_customers(segment, now=now).count()


def segment_sample(segment: Segment, limit: int = 20, *, now: datetime | None = None) -> list[dict]:
    """The newest `limit` customers of the segment, with what staff need to recognise them."""
    return list(segment_customers(segment, now=now).order_by("-pk").values(*SAMPLE_FIELDS)[:limit])


def segment_contains(segment: Segment, customer_id: int, *, now: datetime | None = None) -> bool:
    """Whether the customer is in the segment: one EXISTS query on their own rows (the rules
    come from `segment.rules`, so a prefetched segment costs no query for them)."""
    combined = _segment_filter(segment, now or timezone.now(), customer_id)
    customers = Customer.objects.filter(pk=customer_id, status=Customer.Status.ACTIVE)
    return (customers if combined is None else customers.filter(combined)).exists()
