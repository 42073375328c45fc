"""Point lots: what each positive entry of a point card added, and what is left of it
(docs/decisions/0043-point-expiry.md).

ledger_post keeps them, under the card's lock, so that the open lots' remaining points sum to
the card's balance (to 0 while a balance allowed below zero is negative: points earned then
first pay the debt). A positive entry opens a lot, or puts points back into the lots the entry
it undoes drew from; a negative entry draws from the open lots, those that expire first first
(the lot of the entry it undoes before any other), and records each draw. The expiry job
(programs.expiry) empties the lots whose date passed with one `expire` entry per card.
"""

from __future__ import annotations

import calendar
import logging
from datetime import UTC, datetime, timedelta

from django.db import connection

from loyalty_platform.programs.models import PointLot, PointLotDraw, Program

logger = logging.getLogger(__name__)

# Lots earned before a change of the expiry rule keep at least this long from the change.
EXPIRY_CHANGE_NOTICE_DAYS = 30

LOT_TABLE = PointLot._meta.db_table
DRAW_TABLE = PointLotDraw._meta.db_table


def add_months(moment: datetime, months: int) -> datetime:
    """`moment` plus calendar months in UTC, the day cut to the month's last (31 January plus
    one month is 28 or 29 February), as PostgreSQL adds an interval of months."""
    utc = moment.astimezone(UTC)
    month_index = utc.month - 1 + months
    year, month = utc.year + month_index // 12, month_index % 12 + 1
    day = min(utc.day, calendar.monthrange(year, month)[1])
    return utc.replace(year=year, month=month, day=day)


def lot_expires_at(program: Program, base: datetime) -> datetime | None:
    """When points dated `base` expire under the program's rule: `base` is the earn for a
    fixed lifetime, the card's last transaction for inactivity. None: never."""
    if program.points_expiry == Program.PointsExpiry.NEVER:
        return None
    expires_at = add_months(base, program.points_expiry_months)
    if program.points_expiry_since is not None:
        floor = program.points_expiry_since + timedelta(days=EXPIRY_CHANGE_NOTICE_DAYS)
        expires_at = max(expires_at, floor)
    return expires_at


def lot_points(old_balance: int, new_balance: int) -> int:
    """Points a change adds to (> 0) or takes from (< 0) the open lots: they hold the
    balance's positive part only."""
    return max(new_balance, 0) - max(old_balance, 0)


_OPEN_LOTS_SQL = (
    f"SELECT id, remaining FROM (SELECT id, remaining, SUM(remaining) OVER ("  # noqa: S608
    "ORDER BY COALESCE(entry_id = %s, false) DESC, expires_at ASC NULLS LAST, id) AS upto "
    f"FROM {LOT_TABLE} WHERE card_id = %s AND remaining > 0) AS open WHERE upto - remaining < %s "
    "ORDER BY upto"
)
_DRAW_SQL = (
    "WITH took (lot_id, points) AS (SELECT * FROM unnest(%s::bigint[], %s::bigint[])), "  # noqa: S608
    f"lots AS (UPDATE {LOT_TABLE} AS lot SET remaining = lot.remaining - took.points "
    "FROM took WHERE lot.id = took.lot_id) "
    f"INSERT INTO {DRAW_TABLE} (lot_id, entry_id, points, restored) SELECT lot_id, %s, points, 0 FROM took"
)
_DRAWN_SQL = (
    f"SELECT id, lot_id, points - restored FROM {DRAW_TABLE} "  # noqa: S608
    "WHERE entry_id = %s AND points > restored ORDER BY id"
)
_RESTORE_SQL = (
    "WITH put (draw_id, lot_id, points) AS (SELECT * FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[])), "  # noqa: S608
    f"draws AS (UPDATE {DRAW_TABLE} AS draw SET restored = draw.restored + put.points "
    "FROM put WHERE draw.id = put.draw_id) "
    f"UPDATE {LOT_TABLE} AS lot SET remaining = lot.remaining + put.points FROM put WHERE lot.id = put.lot_id"
)
_LOT_INSERT_SQL = (
    f"INSERT INTO {LOT_TABLE} (card_id, entry_id, points, remaining, expired, earned_at, expires_at) "  # noqa: S608
    "VALUES (%s, %s, %s, %s, 0, %s, %s)"
)
# Inactivity: every transaction on the card moves all its open lots' date.
_REDATE_OPEN_SQL = (
    f"UPDATE {LOT_TABLE} SET expires_at = %s WHERE card_id = %s AND remaining > 0 "  # noqa: S608
    "AND expires_at IS DISTINCT FROM %s"
)


def lots_take(*, card_id: int, entry_id: int, points: int, first_from_entry_id: int | None) -> None:
    """Draw `points` from the card's open lots for the negative entry `entry_id`: the lot of
    `first_from_entry_id` (the earn a return or reversal takes back) first, then the lots
    that expire first, the oldest among equals."""
    with connection.cursor() as cursor:
        cursor.execute(_OPEN_LOTS_SQL, [first_from_entry_id, card_id, points])
        lot_ids, takes = [], []
        left = points
        for lot_id, remaining in cursor.fetchall():
            take = min(remaining, left)
            lot_ids.append(lot_id)
            takes.append(take)
            left -= take
        if left:
            # Only balances written around ledger_post get here; the balance still moves.
            logger.warning(
                "card %s in %s: its lots held %s of the %s points taken",
                card_id,
                connection.schema_name,
                points - left,
                points,
            )
        if lot_ids:
            cursor.execute(_DRAW_SQL, [lot_ids, takes, entry_id])


def lots_restore(*, card_id: int, entry_id: int, points: int, drawn_by_entry_id: int | None) -> int:
    """Put `points` back into the lots that `drawn_by_entry_id` (the redeem being reversed or
    refunded) drew from, as far as they gave; returns what is left for a lot of its own."""
    if drawn_by_entry_id is None:
        return points
    with connection.cursor() as cursor:
        cursor.execute(_DRAWN_SQL, [drawn_by_entry_id])
        draw_ids, lot_ids, puts = [], [], []
        left = points
        for draw_id, lot_id, room in cursor.fetchall():
            if not left:
                break
            put = min(room, left)
            draw_ids.append(draw_id)
            lot_ids.append(lot_id)
            puts.append(put)
            left -= put
        if draw_ids:
            cursor.execute(_RESTORE_SQL, [draw_ids, lot_ids, puts])
    return left


def lot_open(*, card_id: int, entry_id: int, points: int, earned_at: datetime, expires_at) -> None:
    with connection.cursor() as cursor:
        cursor.execute(_LOT_INSERT_SQL, [card_id, entry_id, points, points, earned_at, expires_at])


def lots_redate_open(*, card_id: int, expires_at: datetime | None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(_REDATE_OPEN_SQL, [expires_at, card_id, expires_at])
