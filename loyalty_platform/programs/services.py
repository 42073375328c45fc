import secrets
import uuid
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from loyalty_platform.audit.services import audit_record
from loyalty_platform.campaigns import events as campaign_events
from loyalty_platform.campaigns.boosts import (
    PER_VISIT,
    Boost,
    BoostEffect,
    CampaignShare,
    boosts_at,
    boosts_record,
    effect_shares,
)
from loyalty_platform.campaigns.models import CampaignAction
from loyalty_platform.core import errors
from loyalty_platform.coupons.selectors import coupons_waiting
from loyalty_platform.coupons.services import coupon_issue
from loyalty_platform.customers.blocks import (
    refuse_blocked,
    refuse_blocked_customer,
    refuse_blocked_now,
    usable_card_balance,
)
from loyalty_platform.customers.models import Customer
from loyalty_platform.programs import lots
from loyalty_platform.programs.models import Card, LedgerEntry, Program
from loyalty_platform.programs.selectors import active_programs, card_balance_and_status, card_balances
from loyalty_platform.realtime.publish import publish_to_customer_on_commit
from loyalty_platform.tiers.services import customer_tier_recalculate
from loyalty_platform.verification.services import pin_challenge_spend
from loyalty_platform.webhooks import outbox, payloads


def point_program_create(
    *,
    name: str,
    earn_points_per_unit: Decimal = Decimal("1"),
    redeem_points_per_unit: int = 100,
    min_redeem_points: int = 0,
) -> Program:
    return Program.objects.create(
        kind=Program.Kind.POINT,
        name=name,
        earn_points_per_unit=earn_points_per_unit,
        redeem_points_per_unit=redeem_points_per_unit,
        min_redeem_points=min_redeem_points,
    )


def stamp_program_create(*, name: str, stamps_per_card: int, reward_name: str) -> Program:
    return Program.objects.create(
        kind=Program.Kind.STAMP,
        name=name,
        stamps_per_card=stamps_per_card,
        reward_name=reward_name,
    )


_ROUNDING = {
    Program.Rounding.DOWN: ROUND_FLOOR,
    Program.Rounding.NEAREST: ROUND_HALF_UP,
    Program.Rounding.UP: ROUND_CEILING,
}
MAX_BALANCE = 2**53  # keeps balances exact in every JSON client


def luhn_check_digit(digits: str) -> str:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 0:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return str((10 - total % 10) % 10)


def card_number_candidate() -> str:
    body = "".join(str(secrets.randbelow(10)) for _ in range(11))
    return body + luhn_check_digit(body)


def card_get_or_create_locked(*, customer_id: int, program: Program) -> Card:
    """The customer's card in the program, row-locked for the current transaction, with
    `program` attached (ledger_post reads its rules).

    Simultaneous first calls for one customer make one card. The insert skips any conflict
    (ON CONFLICT DO NOTHING: a concurrent call's card, or a card number already taken) and the
    card is read again, so telling the two apart needs no constraint name and no savepoint.
    The read after a skipped insert sees the other call's committed card under READ COMMITTED."""
    for _ in range(10):
        card = Card.objects.select_for_update().filter(customer_id=customer_id, program=program).first()
        if card is not None:
            card.program = program
            return card
        Card.objects.bulk_create(
            [Card(customer_id=customer_id, program=program, card_number=card_number_candidate())],
            ignore_conflicts=True,
        )
    raise RuntimeError("could not draw a free card number")


_CARD_FIELDS = [field.attname for field in Card._meta.concrete_fields]
# The statements every earn and redeem runs, written once rather than compiled by the ORM.
_CARD_COLUMNS = ", ".join(f'"{field.column}"' for field in Card._meta.concrete_fields)
# Each row also carries the customer's status, read by the statement that takes the locks.
_LOCKED_CARDS_SQL = (
    f"SELECT {_CARD_COLUMNS}, (SELECT cu.status FROM {Customer._meta.db_table} AS cu WHERE cu.id = %s) "  # noqa: S608
    f"FROM {Card._meta.db_table} WHERE customer_id = %s AND program_id = ANY(%s) ORDER BY id FOR UPDATE"
)
# The card's new balance and the entry explaining it in one statement (one round trip).
# A visit (an earn or a redemption) also moves the card's last_visit_at, in the same UPDATE.
VISIT_CAUSES = (LedgerEntry.Cause.EARN, LedgerEntry.Cause.REDEEM)
_CARD_UPDATE_SQL = (
    f"UPDATE {Card._meta.db_table} SET balance = %s, updated_at = %s, "  # noqa: S608
    "last_visit_at = CASE WHEN %s THEN %s ELSE last_visit_at END WHERE id = %s"
)
_ENTRY_INSERT_SQL = (
    f"INSERT INTO {LedgerEntry._meta.db_table} (card_id, delta, balance_after, cause, external_id, "  # noqa: S608
    "api_key_lookup_id, staff_user_id, reversed_entry_id, note, created_at) "
    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id"
)
_LEDGER_POST_SQL = f"WITH card AS ({_CARD_UPDATE_SQL}) {_ENTRY_INSERT_SQL}"
# An earn on a point card also opens its lot, in the same round trip.
_LEDGER_POST_OPENING_LOT_SQL = (
    f"WITH card AS ({_CARD_UPDATE_SQL}), entry AS ({_ENTRY_INSERT_SQL}) "  # noqa: S608
    f"INSERT INTO {lots.LOT_TABLE} (card_id, entry_id, points, remaining, expired, earned_at, expires_at) "
    "SELECT %s, entry.id, %s, %s, 0, %s, %s FROM entry RETURNING entry_id"
)


def ledger_post(
    *,
    card: Card,
    delta: int,
    cause: str,
    external_id: str = "",
    api_key_lookup_id: str = "",
    staff_user=None,
    reversed_entry: LedgerEntry | None = None,
    note: str = "",
    undoes: LedgerEntry | None = None,
) -> LedgerEntry:
    """The one way a balance changes. The card must be row-locked by the caller's
    transaction (select_for_update); the new balance and its entry are written together.

    On a point card the lots follow (programs.lots): a positive entry opens a lot, or puts
    points back into the lots of the redeem it undoes; a negative one draws from the lots,
    first from the lot of the earn it undoes. What an entry undoes is its `reversed_entry`,
    or `undoes` where it is not a reversal (an order's return or refund)."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("ledger_post must run inside the transaction that locked the card")
    if cause == LedgerEntry.Cause.EXPIRE:
        raise ValueError("points expire through programs.expiry, which empties their lots")
    new_balance = card.balance + delta
    if new_balance < 0 and not card.program.allow_negative_balance:
        raise errors.INSUFFICIENT_BALANCE()
    if abs(new_balance) >= MAX_BALANCE:
        raise errors.BALANCE_LIMIT_EXCEEDED()
    now = timezone.now()
    entry = LedgerEntry(
        card=card,
        delta=delta,
        balance_after=new_balance,
        cause=cause,
        external_id=external_id,
        api_key_lookup_id=api_key_lookup_id,
        staff_user=staff_user,
        reversed_entry=reversed_entry,
        note=note,
        created_at=now,
    )
    params = [
        new_balance,
        now,
        cause in VISIT_CAUSES,
        now,
        card.pk,
        card.pk,
        delta,
        new_balance,
        cause,
        external_id,
        api_key_lookup_id,
        entry.staff_user_id,
        entry.reversed_entry_id,
        note,
        now,
    ]
    program = card.program
    has_lots = program.kind == Program.Kind.POINT
    moved = lots.lot_points(card.balance, new_balance) if has_lots else 0
    undone = reversed_entry or undoes
    expires_at = lots.lot_expires_at(program, now) if has_lots else None
    opens_lot_at_once = moved > 0 and (undone is None or undone.delta > 0)
    with connection.prepared_cursor() as cursor:
        if opens_lot_at_once:
            cursor.execute(_LEDGER_POST_OPENING_LOT_SQL, [*params, card.pk, moved, moved, now, expires_at])
        else:
            cursor.execute(_LEDGER_POST_SQL, params)
        (entry.pk,) = cursor.fetchone()
    if moved < 0:
        lots.lots_take(
            card_id=card.pk,
            entry_id=entry.pk,
            points=-moved,
            first_from_entry_id=undone.pk if undone is not None and undone.delta > 0 else None,
        )
    elif moved > 0 and not opens_lot_at_once:
        rest = lots.lots_restore(
            card_id=card.pk, entry_id=entry.pk, points=moved, drawn_by_entry_id=undone.pk
        )
        if rest:
            lots.lot_open(
                card_id=card.pk, entry_id=entry.pk, points=rest, earned_at=now, expires_at=expires_at
            )
    if has_lots and program.points_expiry == Program.PointsExpiry.INACTIVITY:
        lots.lots_redate_open(card_id=card.pk, expires_at=expires_at)
    entry._state.adding = False
    entry._state.db = connection.alias
    card.balance = new_balance
    card.updated_at = now
    if cause in VISIT_CAUSES:
        card.last_visit_at = now
    return entry


def round_points(exact: Decimal, rounding: str) -> int:
    return int(exact.quantize(Decimal("1"), rounding=_ROUNDING[rounding]))


def points_for_amount(*, program: Program, amount) -> int:
    return round_points(Decimal(amount) * program.earn_points_per_unit, program.earn_rounding)


def stamps_for_amount(*, program: Program, amount) -> int:
    """The amount rounded half up to whole stamps, which must make 1 to one card's worth:
    a rounded 0 is refused rather than counted as a stamp nobody paid for, and more than a
    card (a mistyped amount, as a rule) is refused rather than cut down without a word."""
    stamps = int(Decimal(amount).quantize(Decimal("1"), rounding=ROUND_HALF_UP))
    if not 1 <= stamps <= program.stamps_per_card:
        raise errors.AMOUNT_INVALID(field="amount", max=program.stamps_per_card)
    return stamps


@dataclass(frozen=True)
class BalanceChange:
    """Balances after the change, and what the change applied: `applied` points or stamps
    (of the call's card_type) added by an earn or taken by a redeem."""

    stamps: int
    points: int
    coupon: object | None = None  # coupons.models.Coupon when a stamp card filled
    applied: int = 0
    campaigns: tuple[CampaignShare, ...] = ()  # what each campaign's boosts added to an earn
    entry: LedgerEntry | None = None  # the earn's or redeem's own entry (None: nothing posted)
    coupons: tuple = ()  # every coupon the change issued (bonus stamps may fill two cards)
    card: Card | None = None  # the card of the call's card_type, as the change left it


def balance_updated_publish(*, customer_id: int, balances: dict[str, int] | None = None) -> None:
    """Tell the customer's profile their balances once the transaction commits. Call it once
    per change, after the change's last ledger entry; `balances` (by card kind) saves a read
    when the caller holds every card, else they are read in the transaction."""
    if balances is None:
        balances = card_balances(customer_id)
    publish_to_customer_on_commit(
        customer_id=customer_id,
        event="balance_updated",
        data={"stamps": balances.get(Program.Kind.STAMP, 0), "points": balances.get(Program.Kind.POINT, 0)},
    )


def balances_changed_publish(*, customer_ids: list[int]) -> None:
    """balance_updated for many customers at once (a job's chunk), their balances read in one
    query; call it when someone_listens()."""
    programs = {program.pk: kind for kind, program in active_programs().items()}
    balances = {customer_id: dict.fromkeys(programs.values(), 0) for customer_id in customer_ids}
    for customer_id, program_id, balance in Card.objects.filter(
        customer_id__in=customer_ids, program_id__in=list(programs)
    ).values_list("customer_id", "program_id", "balance"):
        balances[customer_id][programs[program_id]] = balance
    for customer_id, by_kind in balances.items():
        balance_updated_publish(customer_id=customer_id, balances=by_kind)


def _program_for(card_type: str, programs: dict[str, Program]) -> Program:
    program = programs.get(card_type)
    if program is None:
        raise errors.PROGRAM_NOT_FOUND(card_type=card_type)
    return program


def _locked_cards(customer: Customer, active: dict[str, Program]) -> dict[str, Card]:
    """Lock the customer's cards of the active programs, in primary-key order, and refuse a
    customer blocked by then (customer_blocked). Each card's program is the (cached) active
    one the caller already holds, not joined in again."""
    programs = {program.pk: program for program in active.values()}
    with connection.prepared_cursor() as cursor:
        cursor.execute(_LOCKED_CARDS_SQL, [customer.pk, customer.pk, list(programs)])
        rows = cursor.fetchall()
    if rows:
        refuse_blocked(customer_status=rows[0][-1])
    else:
        refuse_blocked_now(customer_id=customer.pk)
    locked = {}
    for row in rows:
        card = Card.from_db(connection.alias, _CARD_FIELDS, row[:-1])
        card.program = programs[card.program_id]
        locked[card.program.kind] = card
    return locked


def _balances(cards: dict[str, Card]) -> dict[str, int]:
    """Balances by card kind: a customer without a card of an active program has 0 there."""
    return {kind: card.balance for kind, card in cards.items()}


def _change(
    cards: dict[str, Card],
    *,
    applied: int,
    card: Card | None = None,
    coupons=(),
    campaigns=(),
    entry: LedgerEntry | None = None,
) -> BalanceChange:
    balances = _balances(cards)
    return BalanceChange(
        stamps=balances.get(Program.Kind.STAMP, 0),
        points=balances.get(Program.Kind.POINT, 0),
        coupon=coupons[0] if coupons else None,
        applied=applied,
        campaigns=campaigns,
        entry=entry,
        coupons=tuple(coupons),
        card=card,
    )


def customer_earn_check(*, customer: Customer, amount, card_type: str, read_card: bool = True) -> int:
    """The refusals of an earn that need no PIN (program_not_found, amount_invalid,
    customer_blocked, card_blocked), from the cached programs, the customer as found and a
    plain read of the card: call it before the PIN step. Without one (read_card=False: the
    earn follows in the same transaction) the card is not read, customer_earn refuses a
    blocked card under its lock anyway. Returns the points or stamps the amount is worth."""
    program = _program_for(card_type, active_programs())
    worth = _earn_worth(program, amount)
    if read_card:
        usable_card_balance(customer, program)
    else:
        refuse_blocked_customer(customer)
    return worth


def _earn_worth(program: Program, amount) -> int:
    if program.kind == Program.Kind.POINT:
        return points_for_amount(program=program, amount=amount)
    return stamps_for_amount(program=program, amount=amount)


def _earn_boost_effects(boosts: list[Boost], *, program: Program, amount) -> tuple[BoostEffect, ...]:
    """What campaign boosts add to a plain earn (no lines, so no category or SKU boosts):
    points get the best multiplier's extra points (rounded on their own, by the program's
    rule) and the per-visit bonuses whose minimum spend the amount reaches; stamps get the
    bonus stamps."""
    effects = []
    if program.kind == Program.Kind.POINT:
        multipliers = [
            boost
            for boost in boosts
            if boost.action.kind == CampaignAction.Kind.POINTS_MULTIPLIER
            and boost.action.applies_to in PER_VISIT
        ]
        best = max(multipliers, key=lambda boost: boost.action.multiplier, default=None)
        exact = Decimal(amount) * program.earn_points_per_unit
        for boost in boosts:
            action, points = boost.action, 0
            if boost is best:
                points = round_points(exact * (action.multiplier - 1), program.earn_rounding)
            elif (
                action.kind == CampaignAction.Kind.BONUS_POINTS
                and action.applies_to in PER_VISIT
                and (action.minimum_spend is None or Decimal(amount) >= action.minimum_spend)
            ):
                points = action.points
            if points > 0:
                effects.append(BoostEffect(boost=boost, points=points))
    else:
        for boost in boosts:
            action = boost.action
            if (
                action.kind == CampaignAction.Kind.BONUS_STAMPS
                and action.applies_to in PER_VISIT
                and action.stamps
            ):
                effects.append(BoostEffect(boost=boost, stamps=action.stamps))
    return tuple(effects)


def customer_earn(
    *,
    customer: Customer,
    amount=None,
    card_type: str,
    external_id: str,
    api_key_lookup_id: str = "",
    pin_challenge_id: uuid.UUID | None = None,
    shop_id: int | None = None,
    points: int | None = None,
    note: str = "",
) -> BalanceChange:
    """Add points (earn ratio times amount, rounded by the program's rule) or stamps (the amount,
    rounded, 1 to a card's worth, else amount_invalid). A stamp card that fills issues a coupon
    for the program's reward and starts again with the extra stamps. Campaign boosts on now
    for the customer add to the same ledger entry (bonus stamps fill the card as earned ones
    do; bonus stamps that fill it twice issue two coupons, the first is answered), with a
    CampaignBoost row each. `points` (point cards only) adds exactly that many instead of an
    amount's worth, without boosts. `note` is kept on the entry. Spends the verified PIN
    challenge; the customer's profile hears the new balances after commit."""
    active = active_programs()
    program = _program_for(card_type, active)
    if points is not None:
        if program.kind != Program.Kind.POINT or points < 0:
            raise ValueError("exact points are a non-negative number of points on a point card")
        worth, effects = points, ()
    else:
        worth = _earn_worth(program, amount)
        # Cached running campaigns: nothing is read while none is on.
        boosts = boosts_at(customer_id=customer.pk, at=timezone.now())
        effects = _earn_boost_effects(boosts, program=program, amount=amount) if boosts else ()
    applied = worth + sum(effect.points + effect.stamps for effect in effects)
    # No savepoint when nested: a refusal aborts the caller's whole transaction anyway.
    with transaction.atomic(savepoint=False):
        pin_challenge_spend(challenge_id=pin_challenge_id)
        cards = _locked_cards(customer, active)
        if card_type not in cards:
            cards[card_type] = card_get_or_create_locked(customer_id=customer.pk, program=program)
        card = cards[card_type]
        refuse_blocked(card_status=card.status)
        coupons = []
        entry = None
        if applied > 0:
            entry = ledger_post(
                card=card,
                delta=applied,
                cause=LedgerEntry.Cause.EARN,
                external_id=external_id,
                api_key_lookup_id=api_key_lookup_id,
                note=note,
            )
            if effects:
                boosts_record(
                    effects=effects,
                    customer_id=customer.pk,
                    external_id=external_id,
                    ledger_entry_id=entry.pk,
                )
        if card_type == Program.Kind.POINT:
            if applied > 0:
                customer_tier_recalculate(customer_id=customer.pk)
        else:
            # Earned stamps alone fill one card at most; bonus stamps may fill another.
            coupons = full_stamp_cards_issue(
                customer=customer, card=card, external_id=external_id, api_key_lookup_id=api_key_lookup_id
            )
        if entry is not None:
            earned_record(
                customer=customer,
                card=card,
                entry=entry,
                source="till",
                coupons_issued=(entry.balance_after - card.balance) // program.stamps_per_card
                if card_type == Program.Kind.STAMP
                else 0,
                shop_id=shop_id,
                campaigns=effect_shares(effects) if effects else (),
            )
        if applied > 0:
            balance_updated_publish(customer_id=customer.pk, balances=_balances(cards))
            campaign_events.purchase_recorded(customer_id=customer.pk, external_id=external_id)
        return _change(
            cards, applied=applied, card=card, coupons=coupons, campaigns=effect_shares(effects), entry=entry
        )


def full_stamp_cards_issue(
    *, customer: Customer, card: Card, external_id: str = "", api_key_lookup_id: str = ""
) -> list:
    """Turn every full card's worth of stamps on the locked stamp `card` (its program
    attached) into a coupon for the program's reward: a reward entry takes the stamps, the
    coupon names it. Returns the coupons issued, oldest first (none while the card is not
    full)."""
    program = card.program
    coupons = []
    while card.balance >= program.stamps_per_card:
        reward_entry = ledger_post(
            card=card,
            delta=-program.stamps_per_card,
            cause=LedgerEntry.Cause.REWARD,
            external_id=external_id,
            api_key_lookup_id=api_key_lookup_id,
            note=program.reward_name,
        )
        coupons.append(coupon_issue(customer=customer, program=program, issuing_entry=reward_entry))
    return coupons


def earned_record(
    *,
    customer: Customer,
    card: Card,
    entry: LedgerEntry,
    source: str,
    coupons_issued: int = 0,
    shop_id: int | None = None,
    campaigns=(),
    campaign=None,
) -> None:
    """points.earned or stamps.earned for an earn entry of `card`, whose balance is the one
    after the change (and after any full stamp card became a coupon)."""
    is_points = card.program.kind == Program.Kind.POINT
    event_type = "points.earned" if is_points else "stamps.earned"
    if not outbox.is_subscribed(event_type):
        return
    common = {
        "source": source,
        "customer_code": customer.customer_code,
        "card_number": card.card_number,
        "balance": card.balance,
        "entry_id": entry.pk,
        "external_id": entry.external_id,
        "shop_id": shop_id,
        "campaigns": campaigns,
        "campaign": campaign,
    }
    if is_points:
        data = payloads.points_earned(points=entry.delta, **common)
    else:
        data = payloads.stamps_earned(stamps=entry.delta, coupons_issued=coupons_issued, **common)
    outbox.event_record(event_type, customer_id=customer.pk, data=data)


def points_redeemed_record(
    *, customer: Customer, card: Card, entry: LedgerEntry, source: str, shop_id: int | None = None
) -> None:
    """points.redeemed for a redeem entry of a point card (a till's redeem, an order's points)."""
    if not outbox.is_subscribed("points.redeemed"):
        return
    data = payloads.points_redeemed(
        source=source,
        customer_code=customer.customer_code,
        card_number=card.card_number,
        points=-entry.delta,
        balance=entry.balance_after,
        entry_id=entry.pk,
        external_id=entry.external_id,
        shop_id=shop_id,
    )
    outbox.event_record("points.redeemed", customer_id=customer.pk, data=data)


def customer_redeem_check(*, customer: Customer, value: int, card_type: str) -> None:
    """The refusals of a redeem that need no PIN (program_not_found, below_minimum,
    customer_blocked, card_blocked, insufficient_balance), from a plain read without locks:
    call it before the PIN step. customer_redeem checks them again under its lock."""
    program = _program_for(card_type, active_programs())
    if card_type == Program.Kind.POINT and value < program.min_redeem_points:
        raise errors.BELOW_MINIMUM(min_points=program.min_redeem_points)
    balance = usable_card_balance(customer, program)
    if not program.allow_negative_balance and balance < value:
        raise errors.INSUFFICIENT_BALANCE()


def customer_redeem(
    *,
    customer: Customer,
    value: int,
    card_type: str,
    external_id: str,
    api_key_lookup_id: str = "",
    pin_challenge_id: uuid.UUID | None = None,
    shop_id: int | None = None,
    note: str = "",
) -> BalanceChange:
    """Take points or stamps. Refused below the program's minimum or beyond the balance;
    a refusal changes nothing. `note` is kept on the entry. Spends the verified PIN
    challenge; the customer's profile hears the new balances after commit."""
    active = active_programs()
    program = _program_for(card_type, active)
    if card_type == Program.Kind.POINT and value < program.min_redeem_points:
        raise errors.BELOW_MINIMUM(min_points=program.min_redeem_points)
    # No savepoint when nested: a refusal aborts the caller's whole transaction anyway.
    with transaction.atomic(savepoint=False):
        pin_challenge_spend(challenge_id=pin_challenge_id)
        cards = _locked_cards(customer, active)
        card = cards.get(card_type)
        if card is not None:
            refuse_blocked(card_status=card.status)
        if card is None or (card.balance < value and not program.allow_negative_balance):
            raise errors.INSUFFICIENT_BALANCE()
        entry = ledger_post(
            card=card,
            delta=-value,
            cause=LedgerEntry.Cause.REDEEM,
            external_id=external_id,
            api_key_lookup_id=api_key_lookup_id,
            note=note,
        )
        # Stamps taken have no event type of their own.
        if card_type == Program.Kind.POINT:
            points_redeemed_record(customer=customer, card=card, entry=entry, source="till", shop_id=shop_id)
        balance_updated_publish(customer_id=customer.pk, balances=_balances(cards))
        return _change(cards, applied=value, entry=entry)


@dataclass(frozen=True)
class Purchase:
    """What customer_purchase did: the points paid with and the points earned, each change
    with its entry (None: that part posted nothing), and the point balance after."""

    redeemed: BalanceChange | None
    earned: BalanceChange | None
    points: int

    @property
    def entries(self) -> tuple[LedgerEntry, ...]:
        return tuple(change.entry for change in (self.redeemed, self.earned) if change and change.entry)


def purchase_earning_amount(*, program: Program, amount: Decimal, points_redeemed: int) -> Decimal:
    """The part of a purchase paid with money, which earns: the amount less what the points
    paid with are worth by the program's redemption rule, never below zero (as an order's
    points paid with earn nothing: orders.earning)."""
    if not points_redeemed or not program.redeem_points_per_unit:
        return amount
    return max(Decimal(0), amount - Decimal(points_redeemed) / program.redeem_points_per_unit)


def customer_purchase_check(
    *, customer: Customer, amount: Decimal | None, points_redeemed: int = 0, read_card: bool = True
) -> None:
    """The refusals of customer_purchase that need no PIN (program_not_found, below_minimum,
    insufficient_balance, customer_blocked, card_blocked): call it before the PIN step; with
    read_card=False (no PIN step) a purchase paying no points does not read the card."""
    if points_redeemed:
        customer_redeem_check(customer=customer, value=points_redeemed, card_type=Program.Kind.POINT)
    else:
        customer_earn_check(
            customer=customer, amount=amount or 0, card_type=Program.Kind.POINT, read_card=read_card
        )


def customer_purchase(
    *,
    customer: Customer,
    amount: Decimal | None = None,
    points: int | None = None,
    points_redeemed: int = 0,
    external_id: str,
    api_key_lookup_id: str = "",
    pin_challenge_id: uuid.UUID | None = None,
    shop_id: int | None = None,
    note: str = "",
) -> Purchase:
    """A purchase on the customer's point card, paid partly with points, as one change: the
    points paid with are taken first (a redeem: the purchase's own points cannot pay for
    it), then the purchase earns as customer_earn does on the part paid with money
    (purchase_earning_amount), or exactly `points` when given. Both entries carry
    `external_id` and `note`. The verified PIN challenge is spent once, even when nothing is
    posted (an amount worth no points); a blocked customer or card is refused then too."""
    program = _program_for(Program.Kind.POINT, active_programs())
    with transaction.atomic(savepoint=False):
        common = {
            "customer": customer,
            "card_type": Program.Kind.POINT,
            "external_id": external_id,
            "api_key_lookup_id": api_key_lookup_id,
            "shop_id": shop_id,
            "note": note,
        }
        redeemed = earned = None
        if points_redeemed:
            redeemed = customer_redeem(value=points_redeemed, pin_challenge_id=pin_challenge_id, **common)
            pin_challenge_id = None
        if points is None and amount is not None:
            amount = purchase_earning_amount(program=program, amount=amount, points_redeemed=points_redeemed)
        if points or (points is None and amount):
            earned = customer_earn(amount=amount, points=points, pin_challenge_id=pin_challenge_id, **common)
        elif redeemed is None:
            pin_challenge_spend(challenge_id=pin_challenge_id)
            balance, status = card_balance_and_status(customer_id=customer.pk, program=program)
            refuse_blocked_now(customer_id=customer.pk)
            refuse_blocked(card_status=status)
            return Purchase(redeemed=None, earned=None, points=balance)
        return Purchase(redeemed=redeemed, earned=earned, points=(earned or redeemed).points)


def card_adjust_check(*, customer: Customer, card_type: str, delta: int, reason: str) -> None:
    """The refusals of a staff adjustment that need no PIN (reason_required, delta_invalid,
    program_not_found, stamps_exceed_card, insufficient_balance), from a plain read: call it
    before the PIN step. card_adjust checks again under its lock."""
    if not reason.strip():
        raise errors.REASON_REQUIRED()
    if delta == 0:
        raise errors.DELTA_INVALID()
    program = _program_for(card_type, active_programs())
    balance, _ = card_balance_and_status(customer_id=customer.pk, program=program)
    if card_type == Program.Kind.STAMP and balance + delta >= program.stamps_per_card:
        raise errors.STAMPS_EXCEED_CARD(stamps_per_card=program.stamps_per_card)
    if balance + delta < 0 and not program.allow_negative_balance:
        raise errors.INSUFFICIENT_BALANCE()


def card_adjust(
    *,
    customer: Customer,
    card_type: str,
    delta: int,
    reason: str,
    staff_user,
    pin_challenge_id: uuid.UUID | None = None,
) -> LedgerEntry:
    """A staff correction of points or stamps: needs a reason, goes through the ledger, lands
    in the audit log, and spends the customer's verified PIN challenge where the preset asks
    for one. A stamp correction may not fill the card (coupons come from stamps earned).
    The customer's profile hears the new balances after commit."""
    if not reason.strip():
        raise errors.REASON_REQUIRED()
    if delta == 0:
        raise errors.DELTA_INVALID()
    active = active_programs()
    program = _program_for(card_type, active)
    with transaction.atomic():
        pin_challenge_spend(challenge_id=pin_challenge_id)
        card = card_get_or_create_locked(customer_id=customer.pk, program=program)
        if card_type == Program.Kind.STAMP and card.balance + delta >= program.stamps_per_card:
            raise errors.STAMPS_EXCEED_CARD(stamps_per_card=program.stamps_per_card)
        entry = ledger_post(
            card=card,
            delta=delta,
            cause=LedgerEntry.Cause.ADJUST,
            staff_user=staff_user,
            note=reason.strip()[:255],
        )
        audit_record(
            actor=staff_user,
            action="programs.adjust",
            target=card,
            details={"delta": delta, "reason": reason.strip(), "entry": entry.pk, "balance": card.balance},
        )
        # A stamp correction has no event type of its own.
        if card_type == Program.Kind.POINT:
            outbox.event_record(
                "points.adjusted",
                customer_id=customer.pk,
                data=payloads.points_adjusted(
                    customer_code=customer.customer_code,
                    card_number=card.card_number,
                    points=delta,
                    balance=card.balance,
                    entry_id=entry.pk,
                    reason=reason.strip(),
                ),
            )
        balance_updated_publish(customer_id=customer.pk)
        return entry


def _stamp_card_locked(*, customer: Customer, program: Program) -> Card | None:
    """The customer's card of the stamp program, row-locked (None without one: never created
    here), its program attached, after refusing a blocked customer or card."""
    card = Card.objects.select_for_update().filter(customer_id=customer.pk, program=program).first()
    refuse_blocked_now(customer_id=customer.pk, card=card)
    if card is not None:
        card.program = program
    return card


@dataclass(frozen=True)
class StampCardCompletion:
    """A completed stamp card's reward: the coupons waiting to be used (oldest first), among
    them those `issued` by the completion itself."""

    card: Card | None
    issued: tuple
    waiting: tuple


def stamp_card_complete(
    *, customer: Customer, program: Program, api_key_lookup_id: str = ""
) -> StampCardCompletion:
    """The reward of the customer's full stamp card in `program` (an active stamp program).
    An earn turns a full card into a coupon at once, so this issues one only for stamps that
    fill a card without having done so (the program's stamps per card lowered since), as
    an earn would; otherwise it answers the coupons already waiting. Nothing is issued twice:
    the stamps that made a coupon are off the card, under its lock. game_not_completed when
    no coupon waits; customer_blocked, card_blocked."""
    with transaction.atomic(savepoint=False):
        card = _stamp_card_locked(customer=customer, program=program)
        issued = []
        if card is not None:
            issued = full_stamp_cards_issue(customer=customer, card=card, api_key_lookup_id=api_key_lookup_id)
        if issued:
            balance_updated_publish(customer_id=customer.pk)
        waiting = coupons_waiting(customer_id=customer.pk, program_id=program.pk)
        if not waiting:
            raise errors.GAME_NOT_COMPLETED()
        return StampCardCompletion(card=card, issued=tuple(issued), waiting=tuple(waiting))


STAMP_CARD_RESET_NOTE = "Stamp card restarted through the Shop API"


def stamp_card_reset_check(*, customer: Customer, program: Program) -> None:
    """The refusals of stamp_card_reset that need no PIN (customer_blocked, card_blocked,
    game_progress_empty), from a plain read: call it before the PIN step."""
    if usable_card_balance(customer, program) <= 0:
        raise errors.GAME_PROGRESS_EMPTY()


def stamp_card_reset(
    *,
    customer: Customer,
    program: Program,
    api_key_lookup_id: str = "",
    shop_id: int | None = None,
    pin_challenge_id: uuid.UUID | None = None,
) -> LedgerEntry:
    """Start the customer's stamp card in `program` again: an adjustment entry takes every
    stamp on it (the coupons of cards filled before stay), in the audit log with the key
    that asked. game_progress_empty when the card holds no stamps (nor a negative count,
    which a reset would make up); customer_blocked, card_blocked. Spends the verified PIN
    challenge; the customer's profile hears the new balances after commit."""
    with transaction.atomic(savepoint=False):
        pin_challenge_spend(challenge_id=pin_challenge_id)
        card = _stamp_card_locked(customer=customer, program=program)
        if card is None or card.balance <= 0:
            raise errors.GAME_PROGRESS_EMPTY()
        stamps = card.balance
        entry = ledger_post(
            card=card,
            delta=-stamps,
            cause=LedgerEntry.Cause.ADJUST,
            api_key_lookup_id=api_key_lookup_id,
            note=STAMP_CARD_RESET_NOTE,
        )
        audit_record(
            actor=None,
            action="programs.stamps_reset",
            target=card,
            details={
                "delta": -stamps,
                "reason": STAMP_CARD_RESET_NOTE,
                "entry": entry.pk,
                "balance": card.balance,
                "api_key": api_key_lookup_id,
                "shop_id": shop_id,
            },
        )
        # A stamp correction has no event type of its own (card_adjust).
        balance_updated_publish(customer_id=customer.pk)
        return entry


EXPIRY_RULE_FIELDS = ("points_expiry", "points_expiry_months")  # what program_expiry_rule_changed follows


def program_expiry_rule_changed(*, program: Program, staff_user=None, previous: dict | None = None) -> None:
    """Call in the transaction that saved a change of the program's expiry rule: the open
    lots are dated again by the new rule (programs.expiry, at once in the background, and by
    the hourly job at the latest), never sooner than EXPIRY_CHANGE_NOTICE_DAYS from now for
    points already earned. Audited."""
    from loyalty_platform.core.faults import task_send_on_commit
    from loyalty_platform.programs.tasks import expire_points

    now = timezone.now()
    Program.objects.filter(pk=program.pk).update(points_expiry_since=now)
    program.points_expiry_since = now
    audit_record(
        actor=staff_user,
        action="programs.expiry_rule",
        target=program,
        details={
            "previous": previous or {},
            "points_expiry": program.points_expiry,
            "points_expiry_months": program.points_expiry_months,
        },
    )
    # Once every process's cached program has the new rule (programs.expiry.rule_settled_at).
    task_send_on_commit(expire_points, countdown=int(3 * settings.LOCAL_CACHE_SECONDS) + 35)
