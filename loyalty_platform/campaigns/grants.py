"""Handing out what a campaign grants: each customer at most once per run and action.

One call is one transaction over a chunk of customers (the runner passes up to
GRANT_CHUNK_SIZE, a trigger one or a few). The claim rows are inserted first, with one
INSERT ... SELECT ... ON CONFLICT DO NOTHING: a second worker on the same chunk waits on the
unique index until the first commits, then finds every row taken and does nothing; a retried
task finds the committed rows and skips them. The effects follow in the same transaction, set
by set: cards locked in primary-key order, one ledger entry per card with its exact
balance_after, vouchers taken with FOR UPDATE SKIP LOCKED, receptions in one insert.

Blocked and deleted customers get nothing (and no claim row, so they are not counted)."""

import uuid

from django.db import connection, transaction
from django.utils import timezone

from loyalty_platform.campaigns.models import Campaign, CampaignAction, CampaignGrant, CampaignRun
from loyalty_platform.coupons.services import coupon_issue
from loyalty_platform.customers.models import Customer
from loyalty_platform.programs import lots
from loyalty_platform.programs.models import Card, LedgerEntry, Program
from loyalty_platform.programs.selectors import active_program
from loyalty_platform.programs.services import (
    MAX_BALANCE,
    balance_updated_publish,
    card_number_candidate,
    ledger_post,
)
from loyalty_platform.rewards.models import Reward, RewardReception
from loyalty_platform.vouchers.models import Promotion, Voucher
from loyalty_platform.vouchers.services import voucher_code_generate
from loyalty_platform.webhooks import outbox, payloads

GRANT_CHUNK_SIZE = 1000

_GRANT = CampaignGrant._meta.db_table
_CUSTOMER = Customer._meta.db_table
_CARD = Card._meta.db_table
_LEDGER = LedgerEntry._meta.db_table
_LOT = lots.LOT_TABLE
_VOUCHER = Voucher._meta.db_table

# Active customers of the list who have not had this action from this run: their claim rows.
_CLAIM_SQL = (
    f"INSERT INTO {_GRANT} (run_id, action_id, customer_id, points, stamps, created_at) "  # noqa: S608
    f"SELECT %s, %s, cu.id, 0, 0, now() FROM {_CUSTOMER} AS cu "
    "WHERE cu.id = ANY(%s) AND cu.status = 'active' ORDER BY cu.id "
    "ON CONFLICT (run_id, action_id, customer_id) DO NOTHING RETURNING customer_id, id"
)
# The claimed customers' cards of a program, locked in primary-key order, with the customer's
# status read by the same statement (a customer blocked since the claim gets nothing), and
# what the webhook events name them by.
_LOCK_CARDS_SQL = (
    f"SELECT ca.id, ca.customer_id, ca.balance, ca.status, cu.status, ca.card_number, cu.customer_code "  # noqa: S608
    f"FROM {_CARD} AS ca "
    f"JOIN {_CUSTOMER} AS cu ON cu.id = ca.customer_id "
    "WHERE ca.program_id = %s AND ca.customer_id = ANY(%s) ORDER BY ca.id FOR UPDATE OF ca"
)
# Missing cards in one insert; a card number already taken (or a concurrent card) is skipped
# and drawn again.
_CREATE_CARDS_SQL = (
    f"INSERT INTO {_CARD} (customer_id, program_id, card_number, status, balance, created_at, updated_at) "  # noqa: S608
    "SELECT c, %s, n, 'active', 0, now(), now() FROM unnest(%s::bigint[], %s::varchar[]) AS x(c, n) "
    "ON CONFLICT DO NOTHING"
)
# Every locked card's new balance, its entry and its lot in one statement: the cards are locked
# by this transaction, so balance_after is exact. As ledger_post does for one card, the lot
# holds what the grant added to the balance's positive part (a card below zero first pays its
# debt), and the inactivity rule moves the card's open lots' date.
_POST_POINTS_WITH_LOTS_SQL = (
    f"WITH moved AS (UPDATE {_CARD} SET balance = balance + %(points)s, updated_at = %(now)s "  # noqa: S608
    "WHERE id = ANY(%(cards)s) RETURNING id, customer_id, balance), "
    f"entries AS (INSERT INTO {_LEDGER} (card_id, delta, balance_after, cause, external_id, "
    "api_key_lookup_id, staff_user_id, reversed_entry_id, note, created_at) "
    "SELECT id, %(points)s, balance, %(cause)s, %(external_id)s, '', NULL, NULL, %(note)s, %(now)s "
    "FROM moved ORDER BY id RETURNING id, card_id, balance_after), "
    f"redated AS (UPDATE {_LOT} SET expires_at = %(expires_at)s WHERE %(moves_open_lots)s "
    "AND card_id = ANY(%(cards)s) AND remaining > 0), "
    f"opened AS (INSERT INTO {_LOT} (card_id, entry_id, points, remaining, expired, earned_at, expires_at) "
    "SELECT card_id, id, gain, gain, 0, %(now)s, %(expires_at)s FROM (SELECT card_id, id, "
    "GREATEST(balance_after, 0) - GREATEST(balance_after - %(points)s, 0) AS gain FROM entries) AS g "
    "WHERE gain > 0) "
    "SELECT id, card_id, balance_after FROM entries"
)
# Free vouchers of the promotion, oldest first, locked; vouchers another transaction holds are
# skipped, not waited for. One reserved at a till (locked_until) or already used is not free.
_FREE_VOUCHERS_SQL = (
    f"SELECT id FROM {_VOUCHER} WHERE promotion_id = %s AND customer_id IS NULL "  # noqa: S608
    "AND status = 'active' AND uses = 0 AND (locked_until IS NULL OR locked_until <= %s) "
    "ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED"
)
# The claim rows of a voucher grant carry the voucher paired with each customer (NULL when the
# pool ran short): one statement claims and records. Vouchers of customers who had theirs
# stay free when this transaction ends.
_CLAIM_WITH_VOUCHER_SQL = (
    f"INSERT INTO {_GRANT} (run_id, action_id, customer_id, voucher_id, points, stamps, created_at) "  # noqa: S608
    "SELECT %s, %s, pairs.customer_id, pairs.voucher_id, 0, 0, now() "
    "FROM unnest(%s::bigint[], %s::bigint[]) AS pairs(customer_id, voucher_id) "
    f"JOIN {_CUSTOMER} AS cu ON cu.id = pairs.customer_id AND cu.status = 'active' "
    "ORDER BY pairs.customer_id "
    "ON CONFLICT (run_id, action_id, customer_id) DO NOTHING RETURNING customer_id, id, voucher_id"
)
_ASSIGN_VOUCHERS_SQL = (
    f"UPDATE {_VOUCHER} AS v SET customer_id = pairs.customer_id "  # noqa: S608
    "FROM unnest(%s::bigint[], %s::bigint[]) AS pairs(voucher_id, customer_id) WHERE v.id = pairs.voucher_id"
)
_NEW_VOUCHERS_SQL = (
    f"INSERT INTO {_VOUCHER} (promotion_id, code, customer_id, status, uses, pool, release_key_hash, "  # noqa: S608
    "locked_until, created_at) "
    "SELECT %s, code, customer_id, 'active', 0, %s, '', NULL, %s "
    "FROM unnest(%s::varchar[], %s::bigint[]) AS x(code, customer_id) "
    "ON CONFLICT (code) DO NOTHING RETURNING customer_id, id"
)
_RECORD_SQL = (
    f"UPDATE {_GRANT} AS g SET points = x.points, stamps = x.stamps, ledger_entry_id = x.entry, "  # noqa: S608
    "voucher_id = x.voucher, reward_reception_id = x.reception FROM unnest("
    "%s::bigint[], %s::bigint[], %s::bigint[], %s::bigint[], %s::bigint[], %s::uuid[]"
    ") AS x(id, points, stamps, entry, voucher, reception) WHERE g.id = x.id"
)
_UNCLAIM_SQL = f"DELETE FROM {_GRANT} WHERE id = ANY(%s)"  # noqa: S608
# Every card of the customers, whatever its program, locked in one primary-key order.
_LOCK_ALL_CARDS_SQL = f"SELECT id FROM {_CARD} WHERE customer_id = ANY(%s) ORDER BY id FOR UPDATE"  # noqa: S608


def _external_id(run: CampaignRun) -> str:
    return f"campaign-{run.campaign_id}-{run.key}"[:128]


def _source(run: CampaignRun) -> str:
    """What points.earned and stamps.earned name as their source."""
    return "referral" if run.campaign.trigger == Campaign.Trigger.REFERRAL else "campaign"


def _note(run: CampaignRun) -> str:
    return f"campaign: {run.campaign.name}"[:255]


def _claim(run: CampaignRun, action: CampaignAction, customer_ids: list[int]) -> dict[int, int]:
    """Claim rows for the customers who have not had the grant: {customer id: grant id}."""
    with connection.cursor() as cursor:
        cursor.execute(_CLAIM_SQL, [run.pk, action.pk, sorted(set(customer_ids))])
        return dict(cursor.fetchall())


def _unclaim(grant_ids: list[int]) -> None:
    """Drop the claims of customers who got nothing after all (a blocked card, a full balance,
    an empty pool), so the report counts what was handed out."""
    if grant_ids:
        with connection.cursor() as cursor:
            cursor.execute(_UNCLAIM_SQL, [grant_ids])


def _record(rows: list[tuple[int, int, int, int | None, int | None, uuid.UUID | None]]) -> None:
    """Write what each grant handed out: (grant id, points, stamps, entry, voucher, reception)."""
    if not rows:
        return
    columns = list(zip(*rows, strict=True))
    with connection.cursor() as cursor:
        cursor.execute(_RECORD_SQL, [list(column) for column in columns])


LockedCard = tuple[int, int, str, str, str, int]


def _locked_cards(program: Program, customer_ids: list[int]) -> dict[int, LockedCard]:
    """Each customer's card in the program, created when missing, row-locked in primary-key
    order: {customer id: (card id, balance, card status, customer status, card number,
    customer code)}."""
    with connection.cursor() as cursor:
        for _ in range(10):
            cursor.execute(_LOCK_CARDS_SQL, [program.pk, customer_ids])
            cards = {row[1]: (row[0], row[2], row[3], row[4], row[5], row[6]) for row in cursor.fetchall()}
            missing = [customer_id for customer_id in customer_ids if customer_id not in cards]
            if not missing:
                return cards
            # The new cards are locked by the next round's select (they are this transaction's).
            cursor.execute(
                _CREATE_CARDS_SQL, [program.pk, missing, [card_number_candidate() for _ in missing]]
            )
    raise RuntimeError("could not draw free card numbers")


def _usable(cards: dict[int, LockedCard], delta: int) -> list[int]:
    return [
        customer_id
        for customer_id, (_, balance, card_status, customer_status, _, _) in cards.items()
        if card_status == Card.Status.ACTIVE
        and customer_status == Customer.Status.ACTIVE
        and abs(balance + delta) < MAX_BALANCE
    ]


def _grant_points(run: CampaignRun, action: CampaignAction, claims: dict[int, int]) -> int:
    program = active_program(Program.Kind.POINT)
    if program is None or action.points <= 0:
        _unclaim(list(claims.values()))
        return 0
    cards = _locked_cards(program, sorted(claims))
    usable = _usable(cards, action.points)
    _unclaim([claims[customer_id] for customer_id in claims if customer_id not in set(usable)])
    if not usable:
        return 0
    customer_of_card = {cards[customer_id][0]: customer_id for customer_id in usable}
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            _POST_POINTS_WITH_LOTS_SQL,
            {
                "points": action.points,
                "now": now,
                "cards": sorted(customer_of_card),
                "cause": LedgerEntry.Cause.CAMPAIGN,
                "external_id": _external_id(run),
                "note": _note(run),
                "expires_at": lots.lot_expires_at(program, now),
                "moves_open_lots": program.points_expiry == Program.PointsExpiry.INACTIVITY,
            },
        )
        entries = cursor.fetchall()
    rows = []
    events = []
    subscribed = outbox.is_subscribed("points.earned")
    for entry_id, card_id, balance in entries:
        customer_id = customer_of_card[card_id]
        rows.append((claims[customer_id], action.points, 0, entry_id, None, None))
        balance_updated_publish(customer_id=customer_id, balances={Program.Kind.POINT: balance})
        if subscribed:
            _, _, _, _, card_number, customer_code = cards[customer_id]
            data = payloads.points_earned(
                source=_source(run),
                customer_code=customer_code,
                card_number=card_number,
                points=action.points,
                balance=balance,
                entry_id=entry_id,
                external_id=_external_id(run),
                campaign=run.campaign,
            )
            events.append((customer_id, data))
    _record(rows)
    outbox.events_record_many("points.earned", events)
    return len(rows)


def _grant_stamps(run: CampaignRun, action: CampaignAction, claims: dict[int, int]) -> int:
    """Stamps as an earn adds them: each card's worth that fills posts the reward entry and
    issues its coupon (one entry per change, on the card locked above)."""
    program = active_program(Program.Kind.STAMP)
    if program is None or action.stamps <= 0:
        _unclaim(list(claims.values()))
        return 0
    cards = _locked_cards(program, sorted(claims))
    usable = set(_usable(cards, action.stamps))
    _unclaim([claims[customer_id] for customer_id in claims if customer_id not in usable])
    customers = Customer.objects.in_bulk(list(usable))
    rows = []
    events = []
    subscribed = outbox.is_subscribed("stamps.earned")
    for customer_id in sorted(usable, key=lambda customer: cards[customer][0]):
        card_id, balance, _, _, card_number, customer_code = cards[customer_id]
        card = Card(
            pk=card_id, customer_id=customer_id, program=program, balance=balance, card_number=card_number
        )
        card._state.adding = False
        entry = ledger_post(
            card=card,
            delta=action.stamps,
            cause=LedgerEntry.Cause.CAMPAIGN,
            external_id=_external_id(run),
            note=_note(run),
        )
        while card.balance >= program.stamps_per_card:
            reward_entry = ledger_post(
                card=card,
                delta=-program.stamps_per_card,
                cause=LedgerEntry.Cause.REWARD,
                external_id=_external_id(run),
                note=program.reward_name,
            )
            coupon_issue(customer=customers[customer_id], program=program, issuing_entry=reward_entry)
        rows.append((claims[customer_id], 0, action.stamps, entry.pk, None, None))
        balance_updated_publish(customer_id=customer_id)
        if subscribed:
            data = payloads.stamps_earned(
                source=_source(run),
                customer_code=customer_code,
                card_number=card_number,
                stamps=action.stamps,
                balance=card.balance,
                entry_id=entry.pk,
                coupons_issued=(entry.balance_after - card.balance) // program.stamps_per_card,
                external_id=_external_id(run),
                campaign=run.campaign,
            )
            events.append((customer_id, data))
    _record(rows)
    outbox.events_record_many("stamps.earned", events)
    return len(rows)


def _voucher_promotion(action: CampaignAction, now) -> Promotion | None:
    promotion = Promotion.objects.filter(pk=action.promotion_id).first()
    if promotion is None or not promotion.is_active:
        return None  # gone, or withdrawn (vouchers.services.promotion_delete)
    if promotion.valid_until is not None and promotion.valid_until <= now:
        return None
    return promotion


def _grant_voucher(run: CampaignRun, action: CampaignAction, customer_ids: list[int]) -> int:
    """A free voucher of the promotion's pool for each customer, claimed and recorded in one
    insert; when the pool runs short, new codes are generated for the rest (the platform
    checks every code, so a generated one works at any till; see
    docs/decisions/0041-campaign-runner.md)."""
    now = timezone.now()
    promotion = _voucher_promotion(action, now)
    if promotion is None:
        return 0
    wanted = sorted(set(customer_ids))
    with connection.cursor() as cursor:
        cursor.execute(_FREE_VOUCHERS_SQL, [promotion.pk, now, len(wanted)])
        free = [row[0] for row in cursor.fetchall()]
        paired = free + [None] * (len(wanted) - len(free))
        cursor.execute(_CLAIM_WITH_VOUCHER_SQL, [run.pk, action.pk, wanted, paired])
        claimed = cursor.fetchall()
        from_pool = [(voucher_id, customer_id) for customer_id, _, voucher_id in claimed if voucher_id]
        if from_pool:
            cursor.execute(_ASSIGN_VOUCHERS_SQL, [list(column) for column in zip(*from_pool, strict=True)])
        short = {customer_id: grant_id for customer_id, grant_id, voucher_id in claimed if voucher_id is None}
        generated: dict[int, int] = {}
        for _ in range(10):
            missing = [customer_id for customer_id in sorted(short) if customer_id not in generated]
            if not missing:
                break
            codes = [voucher_code_generate() for _ in missing]
            cursor.execute(
                _NEW_VOUCHERS_SQL, [promotion.pk, f"campaign {run.campaign_id}", now, codes, missing]
            )
            generated.update(cursor.fetchall())  # a code that collided is drawn again
    _unclaim([grant_id for customer_id, grant_id in short.items() if customer_id not in generated])
    _record(
        [(short[customer_id], 0, 0, None, voucher_id, None) for customer_id, voucher_id in generated.items()]
    )
    given = {customer_id: voucher_id for voucher_id, customer_id in from_pool} | generated
    _vouchers_granted_record(run, promotion, given)
    return len(from_pool) + len(generated)


def _vouchers_granted_record(run: CampaignRun, promotion: Promotion, given: dict[int, int]) -> None:
    """coupon.issued for each voucher handed out ({customer id: voucher id}): their codes and
    the customers' codes in one read, only while an endpoint receives the type."""
    if not given or not outbox.is_subscribed("coupon.issued"):
        return
    codes = dict(Voucher.objects.filter(pk__in=list(given.values())).values_list("pk", "code"))
    customer_codes = dict(Customer.objects.filter(pk__in=list(given)).values_list("pk", "customer_code"))
    outbox.events_record_many(
        "coupon.issued",
        [
            (
                customer_id,
                payloads.voucher_granted(
                    customer_code=customer_codes[customer_id],
                    code=codes[voucher_id],
                    promotion=promotion,
                    campaign=run.campaign,
                ),
            )
            for customer_id, voucher_id in sorted(given.items())
        ],
    )


def _grant_reward(run: CampaignRun, action: CampaignAction, claims: dict[int, int]) -> int:
    """A reward to collect at a till, paid by the campaign: 0 points and no ledger entry."""
    reward = Reward.objects.filter(pk=action.reward_id, is_active=True).first()
    if reward is None:
        _unclaim(list(claims.values()))
        return 0
    receptions = [
        RewardReception(
            id=uuid.uuid4(),
            reward=reward,
            customer_id=customer_id,
            points=0,
            status=RewardReception.Status.COLLECTABLE,
            external_id=_external_id(run),
            ledger_entry=None,
        )
        for customer_id in sorted(claims)
    ]
    RewardReception.objects.bulk_create(receptions)
    _record([(claims[reception.customer_id], 0, 0, None, None, reception.pk) for reception in receptions])
    if outbox.is_subscribed("reward.received"):
        customer_codes = dict(Customer.objects.filter(pk__in=list(claims)).values_list("pk", "customer_code"))
        outbox.events_record_many(
            "reward.received",
            [
                (
                    reception.customer_id,
                    payloads.reward_received(
                        customer_code=customer_codes[reception.customer_id],
                        reception_id=reception.pk,
                        reward=reward,
                        points=0,
                        status=reception.status,
                        balance=None,
                        entry_id=None,
                        external_id=reception.external_id,
                        campaign=run.campaign,
                    ),
                )
                for reception in receptions
            ],
        )
    return len(receptions)


_GRANTERS = {
    CampaignAction.Kind.GRANT_POINTS: _grant_points,
    CampaignAction.Kind.GRANT_STAMPS: _grant_stamps,
    CampaignAction.Kind.GRANT_REWARD: _grant_reward,
}


def grant_to_customers(*, run: CampaignRun, action: CampaignAction, customer_ids: list[int]) -> int:
    """Grant `action` to each active customer of `customer_ids` who has not had it from `run`,
    in one transaction (nested in the caller's when there is one); returns how many got it."""
    granter = _GRANTERS.get(action.kind)
    if granter is None and action.kind != CampaignAction.Kind.GRANT_VOUCHER:
        raise ValueError(f"not a grant: {action.kind}")
    if not customer_ids:
        return 0
    with transaction.atomic():
        if action.kind == CampaignAction.Kind.GRANT_VOUCHER:
            return _grant_voucher(run, action, customer_ids)
        claims = _claim(run, action, customer_ids)
        if not claims:
            return 0
        return granter(run, action, claims)


_CARD_GRANTS = (CampaignAction.Kind.GRANT_POINTS, CampaignAction.Kind.GRANT_STAMPS)


def grant_actions(*, run: CampaignRun, actions: list[CampaignAction], customer_ids: list[int]) -> int:
    """Every grant among `actions` to the customers, in one transaction; returns how many
    grants were made. When points or stamps are among them, all the customers' cards are
    locked first in one primary-key order (the order a till's earn locks a customer's
    cards in), so a point grant never holds a point card while it waits for the stamp card
    an earn holds as it waits for that point card."""
    grants = [action for action in actions if action.kind in CampaignAction.GRANTS]
    if not grants or not customer_ids:
        return 0
    with transaction.atomic():
        if any(action.kind in _CARD_GRANTS for action in grants):
            with connection.cursor() as cursor:
                cursor.execute(_LOCK_ALL_CARDS_SQL, [sorted(set(customer_ids))])
        return sum(grant_to_customers(run=run, action=action, customer_ids=customer_ids) for action in grants)
