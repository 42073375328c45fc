"""A seeded history of one organization over the last HISTORY_DAYS local days, written as
rows with their real timestamps, and the dashboard's figures computed from those rows
directly (plain Python over every row), to hold reports.selectors against."""

import random
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.utils import timezone

from loyalty_platform.coupons.models import Coupon
from loyalty_platform.customers.models import Customer
from loyalty_platform.programs.models import Card, LedgerEntry, Program
from loyalty_platform.reports.periods import local_today
from loyalty_platform.reports.selectors import DashboardFigures, DayFigure, RewardFigure, TierFigure
from loyalty_platform.rewards.models import Reward, RewardReception
from loyalty_platform.stored_value.models import Giftcard, MoneyEntry, PrepaidAccount
from loyalty_platform.tiers.models import CustomerTier, Tier
from loyalty_platform.vouchers.models import Promotion, Voucher, VoucherRedemption

HISTORY_DAYS = 15
Cause = LedgerEntry.Cause


def _at(day: date, seconds: float) -> datetime:
    tz = timezone.get_default_timezone()
    return datetime.combine(day, time.min, tzinfo=tz) + timedelta(seconds=seconds)


def _restamp(model, pk, field_name: str, instant: datetime) -> None:
    model.objects.filter(pk=pk).update(**{field_name: instant})


@dataclass
class History:
    today: date
    programs: dict[str, Program]
    customers: list[Customer]
    rewards: list[Reward]
    balances: dict[int, int] = field(default_factory=dict)


def seed_history(seed: int = 12) -> History:
    rng = random.Random(seed)
    today = local_today()
    first = today - timedelta(days=HISTORY_DAYS - 1)
    points = Program.objects.create(kind="point", name="Points", redeem_points_per_unit=100)
    old_points = Program.objects.create(
        kind="point", name="Old points", is_active=False, redeem_points_per_unit=10
    )
    stamps = Program.objects.create(
        kind="stamp", name="Coffee", stamps_per_card=10, reward_name="Free coffee"
    )

    customers = []
    for index, offset in enumerate((-30, -20, -14, -10, -8, -5, -2, 0)):
        customer = Customer.objects.create(
            customer_code=300000 + index,
            email=f"history{index}@example.com",
            consent_terms_at=timezone.now(),
            consent_privacy_at=timezone.now(),
            status=Customer.Status.DELETED if offset == -8 else Customer.Status.ACTIVE,
        )
        _restamp(Customer, customer.pk, "created_at", _at(today + timedelta(days=offset), 3600 * 9))
        customers.append(customer)

    cards = []
    for index, customer in enumerate(customers):
        for program in (points, stamps) + ((old_points,) if index % 3 == 0 else ()):
            cards.append(
                Card.objects.create(
                    customer=customer, program=program, card_number=f"H{index}{program.pk:04d}"
                )
            )
    balance = {card.pk: 0 for card in cards}
    posted: list[LedgerEntry] = []
    # Entries a reversal may still take: not reversed yet, not a reward reception's.
    taken: set[int] = set()

    def post(card: Card, delta: int, cause: str, instant: datetime, reversed_entry=None) -> LedgerEntry:
        balance[card.pk] += delta
        entry = LedgerEntry.objects.create(
            card=card, delta=delta, balance_after=balance[card.pk], cause=cause, reversed_entry=reversed_entry
        )
        _restamp(LedgerEntry, entry.pk, "created_at", instant)
        entry.card = card
        posted.append(entry)
        if reversed_entry is not None:
            taken.add(reversed_entry.pk)
        return entry

    rewards = [
        Reward.objects.create(name=name, required_credits=credits)
        for name, credits in (
            ("Mug", 50),
            ("Tote bag", 80),
            ("Cake", 30),
            ("Tea", 20),
            ("Pen", 10),
            ("Cap", 60),
        )
    ]
    promotion = Promotion.objects.create(title="Spring", uses_per_voucher=100)
    vouchers = [Voucher.objects.create(promotion=promotion, code=f"SPRING{index}") for index in range(3)]
    prepaid = PrepaidAccount.objects.create(customer=customers[1], currency="EUR")
    prepaid_balance = Decimal("0")
    receptions: list[RewardReception] = []
    redemptions: list[VoucherRedemption] = []

    for offset in range((today - first).days + 1):
        day = first + timedelta(days=offset)
        # The day's first and last instants are in it; the next one is not.
        instants = sorted([0.0, 86399.999999] + [rng.uniform(1, 86399) for _ in range(10)])
        for instant_seconds in instants:
            instant = _at(day, instant_seconds)
            card = rng.choice(cards)
            kind = card.program.kind
            roll = rng.random()
            reversible = [
                e
                for e in posted
                if e.card.pk == card.pk and e.cause in (Cause.EARN, Cause.REDEEM) and e.pk not in taken
            ]
            if kind == Program.Kind.STAMP:
                if balance[card.pk] >= 10 and roll < 0.4:
                    post(card, -10, Cause.REWARD, instant)
                elif roll < 0.85 or not reversible:
                    post(card, rng.randint(1, 4), Cause.EARN, instant)
                else:
                    original = reversible[-1]
                    post(card, -original.delta, Cause.REVERSAL, instant, reversed_entry=original)
                continue
            if roll < 0.35 or balance[card.pk] < 40:
                post(card, rng.randint(5, 120), rng.choice([Cause.EARN, Cause.ORDER]), instant)
            elif roll < 0.5:
                post(card, -rng.randint(1, 30), rng.choice([Cause.REDEEM, Cause.RETURN]), instant)
            elif roll < 0.58:
                post(card, rng.choice([-7, 15]), Cause.ADJUST, instant)
            elif roll < 0.64:
                post(card, -rng.randint(1, 20), Cause.EXPIRE, instant)
            elif roll < 0.7:
                post(card, rng.randint(1, 10), Cause.REFUND, instant)
            elif roll < 0.8 and card.program == points:
                reward = rng.choice(rewards)
                entry = post(card, -min(reward.required_credits, balance[card.pk]), Cause.REDEEM, instant)
                reception = RewardReception.objects.create(
                    reward=reward,
                    customer=card.customer,
                    points=-entry.delta,
                    status="spent",
                    ledger_entry=entry,
                )
                _restamp(RewardReception, reception.pk, "created_at", instant)
                receptions.append(reception)
                taken.add(entry.pk)
            elif reversible:
                original = rng.choice(reversible)
                delta = -original.delta if original.delta < 0 else -min(original.delta, balance[card.pk])
                if delta:
                    post(card, delta, Cause.REVERSAL, instant, reversed_entry=original)

        # Rewards reversed later, vouchers used and given back, coupons, prepaid, giftcards.
        noon = _at(day, 43200 + offset)
        if receptions and offset % 3 == 1:
            reception = receptions.pop(0)
            post(
                Card.objects.get(pk=reception.ledger_entry.card_id),
                reception.points,
                Cause.REVERSAL,
                noon,
                reversed_entry=reception.ledger_entry,
            )
            RewardReception.objects.filter(pk=reception.pk).update(status="reversed", reversed_at=noon)
        if offset % 2 == 0:
            use = VoucherRedemption.objects.create(
                voucher=vouchers[offset % 3],
                customer=customers[offset % len(customers)] if offset % 4 else None,
            )
            _restamp(VoucherRedemption, use.pk, "created_at", _at(day, 36000))
            redemptions.append(use)
        if offset % 5 == 4 and redemptions:
            VoucherRedemption.objects.filter(pk=redemptions.pop(0).pk).update(reversed_at=_at(day, 50000))
        if offset % 3 == 0:
            coupon = Coupon.objects.create(
                customer=customers[(offset + 2) % len(customers)],
                program=stamps,
                name="Free coffee",
                qr_token=uuid.uuid4().hex,
                status=Coupon.Status.REDEEMED,
            )
            Coupon.objects.filter(pk=coupon.pk).update(redeemed_at=_at(day, 86399.5))
        if offset % 4 == 2:
            amount = Decimal("7.35") if offset % 8 == 2 else Decimal("-2.10")
            if prepaid_balance + amount >= 0:
                prepaid_balance += amount
                entry = MoneyEntry.objects.create(
                    prepaid_account=prepaid,
                    amount=amount,
                    balance_after=prepaid_balance,
                    cause=MoneyEntry.Cause.LOAD if amount > 0 else MoneyEntry.Cause.PAY,
                )
                _restamp(MoneyEntry, entry.pk, "created_at", _at(day, 20000))
    PrepaidAccount.objects.filter(pk=prepaid.pk).update(balance=prepaid_balance)
    for card in cards:
        Card.objects.filter(pk=card.pk).update(balance=balance[card.pk])
    for code, amount, currency in (("G1", "25.50", "EUR"), ("G2", "0.00", "EUR"), ("G3", "10.00", "USD")):
        card = Giftcard.objects.create(code=code, kind="printed", currency=currency, status="active")
        Giftcard.objects.filter(pk=card.pk).update(balance=Decimal(amount))
    # Money entries of giftcards are anonymous: no customer becomes active through them.
    MoneyEntry.objects.create(
        giftcard=Giftcard.objects.get(code="G1"),
        amount=Decimal("25.50"),
        balance_after=Decimal("25.50"),
        cause="load",
    )

    silver = Tier.objects.create(name="Silver", threshold_points=100)
    gold = Tier.objects.create(name="Gold", threshold_points=500)
    Tier.objects.create(name="Platinum", threshold_points=2000)
    for customer, tier in zip(customers, (gold, silver, None, silver, gold), strict=False):
        CustomerTier.objects.create(customer=customer, tier=tier, recalculated_at=timezone.now())
    return History(today, {"point": points, "old": old_points, "stamp": stamps}, customers, rewards, balance)


def _local_date(instant: datetime | None) -> date | None:
    if instant is None:
        return None
    return timezone.localtime(instant, timezone.get_default_timezone()).date()


def _bucket(entry: LedgerEntry) -> str:
    if entry.cause in (Cause.EARN, Cause.ORDER, Cause.RETURN, Cause.ADJUST) or (
        entry.cause == Cause.REVERSAL and entry.delta < 0
    ):
        return "issued"
    if entry.cause in (Cause.REDEEM, Cause.REFUND, Cause.REWARD) or (
        entry.cause == Cause.REVERSAL and entry.delta > 0
    ):
        return "redeemed"
    assert entry.cause == Cause.EXPIRE, entry.cause
    return "expired"


def figures_from_rows(start: date, end: date, currency: str = "EUR") -> DashboardFigures:
    """Every dashboard figure from the rows themselves, one row at a time."""

    def within(instant) -> bool:
        local = _local_date(instant)
        return local is not None and start <= local <= end

    sums = {(kind, bucket): 0 for kind in ("point", "stamp") for bucket in ("issued", "redeemed", "expired")}
    daily = {start + timedelta(days=n): [0, 0] for n in range((end - start).days + 1)}
    active = set()
    for entry in LedgerEntry.objects.select_related("card__program"):
        if not within(entry.created_at):
            continue
        active.add(entry.card.customer_id)
        bucket = _bucket(entry)
        sign = 1 if bucket == "issued" else -1
        sums[(entry.card.program.kind, bucket)] += sign * entry.delta
        if entry.card.program.kind == "point" and bucket != "expired":
            daily[_local_date(entry.created_at)][0 if bucket == "issued" else 1] += sign * entry.delta
    for entry in MoneyEntry.objects.filter(prepaid_account__isnull=False).select_related("prepaid_account"):
        if within(entry.created_at):
            active.add(entry.prepaid_account.customer_id)
    vouchers = 0
    for use in VoucherRedemption.objects.all():
        if within(use.created_at):
            vouchers += 1
            if use.customer_id:
                active.add(use.customer_id)
        if within(use.reversed_at):
            vouchers -= 1
    coupons = 0
    for coupon in Coupon.objects.all():
        if within(coupon.redeemed_at):
            coupons += 1
            active.add(coupon.customer_id)

    net: dict[int, int] = {}
    for reception in RewardReception.objects.all():
        net[reception.reward_id] = net.get(reception.reward_id, 0) + within(reception.created_at)
        net[reception.reward_id] -= within(reception.reversed_at)
    names = dict(Reward.objects.values_list("pk", "name"))
    top = sorted(
        (RewardFigure(pk, names[pk], count) for pk, count in net.items() if count > 0),
        key=lambda figure: (-figure.receptions, figure.name),
    )[:5]

    members = [c for c in Customer.objects.all() if c.status != Customer.Status.DELETED]
    ledger_balance: dict[int, int] = {}
    for entry in LedgerEntry.objects.all():
        ledger_balance[entry.card_id] = ledger_balance.get(entry.card_id, 0) + entry.delta
    open_points = 0
    worth = Decimal(0)
    for card in Card.objects.select_related("program").filter(program__kind="point", program__is_active=True):
        assert card.balance == ledger_balance.get(card.pk, 0)
        if card.balance > 0:
            open_points += card.balance
            worth += Decimal(card.balance) / card.program.redeem_points_per_unit
    giftcards = sum((g.balance for g in Giftcard.objects.all() if g.currency == currency), Decimal(0))
    prepaid = sum((p.balance for p in PrepaidAccount.objects.all() if p.currency == currency), Decimal(0))

    tiers = {}
    for status in CustomerTier.objects.select_related("customer"):
        if status.customer.status != Customer.Status.DELETED and status.tier_id:
            tiers[status.tier_id] = tiers.get(status.tier_id, 0) + 1
    distribution = (
        TierFigure(None, "No tier", len(members) - sum(tiers.values())),
        *(TierFigure(t.pk, t.name, tiers.get(t.pk, 0)) for t in Tier.objects.order_by("threshold_points")),
    )
    issued, redeemed = sums[("point", "issued")], sums[("point", "redeemed")]
    return DashboardFigures(
        start=start,
        end=end,
        currency=currency,
        members_total=sum(1 for c in members if _local_date(c.created_at) <= end),
        members_new=sum(1 for c in members if start <= _local_date(c.created_at) <= end),
        active_customers=len(active),
        points_issued=issued,
        points_redeemed=redeemed,
        points_expired=sums[("point", "expired")],
        stamps_issued=sums[("stamp", "issued")],
        coupons_redeemed=coupons,
        vouchers_redeemed=vouchers,
        redemption_rate=(
            (Decimal(redeemed) / issued).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)
            if issued > 0
            else None
        ),
        open_points=open_points,
        points_liability=worth.quantize(Decimal("0.01")),
        giftcard_liability=giftcards.quantize(Decimal("0.01")),
        prepaid_liability=prepaid.quantize(Decimal("0.01")),
        top_rewards=tuple(top),
        tier_distribution=distribution,
        daily=tuple(DayFigure(day, *values) for day, values in daily.items()),
        rolled_days=0,
        live_days=0,
    )
