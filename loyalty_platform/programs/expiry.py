"""The expiry of points (docs/decisions/0043-point-expiry.md): the hourly job empties the
lots whose date passed, one `expire` entry per card and run, in chunks of cards that each
commit under the cards' locks, so that a second worker, a retry or a run after a crash finds
only what is left. Before it expires anything after a change of the program's rule, it dates
the open lots again by the new rule (`lots_redate`)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from loyalty_platform.customers.models import Customer
from loyalty_platform.programs import lots
from loyalty_platform.programs.models import Card, LedgerEntry, Program
from loyalty_platform.programs.services import balances_changed_publish
from loyalty_platform.realtime.publish import someone_listens
from loyalty_platform.webhooks import outbox, payloads

logger = logging.getLogger(__name__)


CARD_TABLE = Card._meta.db_table
ENTRY_TABLE = LedgerEntry._meta.db_table
CUSTOMER_TABLE = Customer._meta.db_table

# The chunk's cards locked in key order; a blocked card or customer keeps its points (nothing of
# theirs moves, decision 26) until it is unblocked.
_LOCK_CARDS_SQL = (
    f"SELECT card.id, card.status <> 'blocked' AND customer.status <> 'blocked' FROM {CARD_TABLE} AS card "  # noqa: S608
    f"JOIN {CUSTOMER_TABLE} AS customer ON customer.id = card.customer_id "
    "WHERE card.id = ANY(%s) ORDER BY card.id FOR UPDATE OF card"
)
_NEXT_CARDS_SQL = (
    f"SELECT id FROM {CARD_TABLE} WHERE program_id = %s AND id > %s ORDER BY id LIMIT %s FOR UPDATE"  # noqa: S608
)
_DUE_CARDS_SQL = (
    f"SELECT DISTINCT lot.card_id FROM {lots.LOT_TABLE} AS lot "  # noqa: S608
    f"JOIN {CARD_TABLE} AS card ON card.id = lot.card_id "
    f"JOIN {CUSTOMER_TABLE} AS customer ON customer.id = card.customer_id "
    "WHERE lot.remaining > 0 AND lot.expires_at <= %s AND card.program_id = %s "
    "AND card.status <> 'blocked' AND customer.status <> 'blocked' ORDER BY 1"
)
# Run after the cards' locks are held, so that its snapshot sees every committed change. The
# repeated `= ANY(cards)` lets each UPDATE find its rows by index rather than hash-join a scan
# of every lot and card.
_EXPIRE_CTES = (
    f"WITH due AS (SELECT id, card_id, remaining FROM {lots.LOT_TABLE} "  # noqa: S608
    "WHERE card_id = ANY(%(cards)s) AND remaining > 0 AND expires_at <= %(now)s), "
    f"emptied AS (UPDATE {lots.LOT_TABLE} AS lot SET remaining = 0, expired = lot.expired + due.remaining "
    "FROM due WHERE lot.id = due.id AND lot.card_id = ANY(%(cards)s) RETURNING due.card_id, due.remaining), "
    "sums AS (SELECT card_id, SUM(remaining)::bigint AS points, COUNT(*) AS lots FROM emptied "
    "GROUP BY card_id), "
    f"cards AS (UPDATE {CARD_TABLE} AS card SET balance = card.balance - sums.points, updated_at = %(now)s "
    "FROM sums WHERE card.id = sums.card_id AND card.id = ANY(%(cards)s) "
    "RETURNING card.id, card.customer_id, card.balance, sums.points, sums.lots, card.card_number), "
    f"inserted AS (INSERT INTO {ENTRY_TABLE} (card_id, delta, balance_after, cause, external_id, "
    "api_key_lookup_id, note, created_at) SELECT id, -points, balance, %(cause)s, '', '', "
    "%(note)s || lots, %(now)s FROM cards RETURNING id, card_id) "
)
_EXPIRE_SQL = _EXPIRE_CTES + "SELECT id, customer_id, points, balance FROM cards"  # noqa: S608
# The same when an endpoint receives points.expired: each card's row also carries what its
# event says (card number, customer code, the expire entry).
_EXPIRE_WITH_EVENTS_SQL = (
    f"{_EXPIRE_CTES}SELECT cards.id, cards.customer_id, cards.points, cards.balance, cards.card_number, "  # noqa: S608
    "customer.customer_code, inserted.id FROM cards JOIN inserted ON inserted.card_id = cards.id "
    f"JOIN {CUSTOMER_TABLE} AS customer ON customer.id = cards.customer_id"
)
_REDATE_SQL = {
    Program.PointsExpiry.LIFETIME: (
        f"UPDATE {lots.LOT_TABLE} SET expires_at = GREATEST(earned_at + make_interval(months => %(months)s), "  # noqa: S608
        "%(floor)s) WHERE card_id = ANY(%(cards)s)"
    ),
    Program.PointsExpiry.INACTIVITY: (
        f"UPDATE {lots.LOT_TABLE} AS lot SET expires_at = "  # noqa: S608
        "GREATEST(last.at + make_interval(months => %(months)s), %(floor)s) "
        f"FROM (SELECT card.id, (SELECT created_at FROM {ENTRY_TABLE} AS entry "
        "WHERE entry.card_id = card.id AND entry.cause <> 'expire' ORDER BY entry.id DESC LIMIT 1) AS at "
        "FROM unnest(%(cards)s::bigint[]) AS card (id)) AS last "
        "WHERE lot.card_id = last.id AND lot.remaining > 0"
    ),
    Program.PointsExpiry.NEVER: (
        f"UPDATE {lots.LOT_TABLE} SET expires_at = NULL "  # noqa: S608
        "WHERE card_id = ANY(%(cards)s) AND expires_at IS NOT NULL"
    ),
}


@dataclass
class ExpiryRun:
    cards: int = 0
    points: int = 0
    lots_redated_cards: int = 0
    stopped: str = ""

    def summary(self) -> dict:
        summary = {"cards": self.cards, "points": self.points, "redated_cards": self.lots_redated_cards}
        if self.stopped:
            summary["stopped"] = self.stopped
        return summary


_RULE_STATE_SQL = (
    f"SELECT points_expiry_since, lots_redated_for FROM {Program._meta.db_table} WHERE id = %s FOR SHARE"  # noqa: S608
)


def rule_settled_at(program: Program):
    """When every process has seen the program's rule change: tills read the program from a
    cache at most LOCAL_CACHE_SECONDS old, so a lot opened by the old rule may still arrive
    until then. Lots are dated again until this moment has passed."""
    return program.points_expiry_since + timedelta(seconds=3 * settings.LOCAL_CACHE_SECONDS + 30)


def lots_redate(program: Program, *, chunk_cards: int | None = None, now: datetime | None = None) -> int:
    """Date the program's lots by its rule as it is now (after a change), chunk by chunk under
    the cards' locks: every lot for a fixed lifetime (a spent lot's date counts again when a
    reversal puts points back into it), the open ones for inactivity (ledger_post dates a lot
    it puts points back into). Once the change has settled (rule_settled_at), record that the
    lots are dated for it. Running it again dates them the same way. Returns the cards looked
    at."""
    chunk_cards = chunk_cards or settings.EXPIRY_CHUNK_CARDS
    since = program.points_expiry_since
    params = {
        "months": program.points_expiry_months,
        "floor": None if since is None else since + timedelta(days=lots.EXPIRY_CHANGE_NOTICE_DAYS),
    }
    after, cards = 0, 0
    while True:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(_NEXT_CARDS_SQL, [program.pk, after, chunk_cards])
            chunk = [row[0] for row in cursor.fetchall()]
            if not chunk:
                break
            cursor.execute(_REDATE_SQL[program.points_expiry], {**params, "cards": chunk})
        after, cards = chunk[-1], cards + len(chunk)
    if since is None or (now or timezone.now()) >= rule_settled_at(program):
        Program.objects.filter(pk=program.pk, points_expiry_since=since).update(lots_redated_for=since)
    return cards


def points_expire(*, now: datetime | None = None, chunk_cards: int | None = None) -> ExpiryRun:
    """Expire what is left of the lots whose date passed by `now`, in every point program of
    the organization (the rule is the program's). Each chunk of cards commits on its own."""
    now = now or timezone.now()
    chunk_cards = chunk_cards or settings.EXPIRY_CHUNK_CARDS
    run = ExpiryRun()
    for program in Program.objects.filter(kind=Program.Kind.POINT).order_by("pk"):
        if program.points_expiry_since != program.lots_redated_for:
            run.lots_redated_cards += lots_redate(program, chunk_cards=chunk_cards, now=now)
            program.refresh_from_db()
            if program.points_expiry_since != program.lots_redated_for:
                run.stopped = "rule_settling"  # expired from the next run on
                continue
        if program.points_expiry == Program.PointsExpiry.NEVER:
            continue
        with connection.cursor() as cursor:
            cursor.execute(_DUE_CARDS_SQL, [now, program.pk])
            due = [row[0] for row in cursor.fetchall()]
        for start in range(0, len(due), chunk_cards):
            if not _expire_chunk(program, due[start : start + chunk_cards], now=now, run=run):
                run.stopped = "rule_changed"
                break
    return run


def _expire_chunk(program: Program, card_ids: list[int], *, now: datetime, run: ExpiryRun) -> bool:
    """One chunk's cards locked in key order, then their due lots emptied and one entry each.
    False (nothing done) when the program's rule changed since its lots were dated."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_LOCK_CARDS_SQL, [card_ids])
        card_ids = [card_id for card_id, usable in cursor.fetchall() if usable]
        # A change of the rule saved meanwhile waits for this chunk (the share lock).
        cursor.execute(_RULE_STATE_SQL, [program.pk])
        since, redated_for = cursor.fetchone()
        if since != redated_for or since != program.points_expiry_since:
            return False
        with_events = outbox.is_subscribed("points.expired")
        cursor.execute(
            _EXPIRE_WITH_EVENTS_SQL if with_events else _EXPIRE_SQL,
            {
                "cards": card_ids,
                "now": now,
                "cause": LedgerEntry.Cause.EXPIRE,
                "note": "points expired, lots: ",
            },
        )
        expired = cursor.fetchall()
        if with_events:
            outbox.events_record_many(
                "points.expired",
                [
                    (
                        customer_id,
                        payloads.points_expired(
                            customer_code=customer_code,
                            card_number=card_number,
                            points=points,
                            balance=balance,
                            entry_id=entry_id,
                        ),
                    )
                    for _card, customer_id, points, balance, card_number, customer_code, entry_id in expired
                ],
                occurred_at=now,
            )
    run.cards += len(expired)
    run.points += sum(row[2] for row in expired)
    if expired and someone_listens():
        balances_changed_publish(customer_ids=[row[1] for row in expired])
    return True
