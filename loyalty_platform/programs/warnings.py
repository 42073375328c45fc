"""Warnings before points expire (docs/decisions/0048-expiry-warnings.md): the hourly job
emails each customer whose open lots expire within their program's `expiry_warning_days`,
once per batch: the lots of one card found in one run make one email.

A chunk of cards is locked in key order (as the expiry job and ledger_post lock them) and
its due lots are claimed with one conditional UPDATE that sets `warned_at`, in a transaction
of its own; the emails go after it commits. A second worker, a retry or a run after a crash
finds those lots claimed and sends nothing again. The price is at most once: a worker that
dies between the commit and the send loses that chunk's warnings. An email the mail server
could not take is released for the next run (unless the server refused the address itself).

A lot counts as warned while its `warned_at` is inside the window of its current date: when
the date moves later (inactivity: the customer came back; a change of the rule re-dated the
lots), the old warning no longer covers it and the lot is warned again when it next comes
close. Customers who turned warnings off, erased customers and customers without an address
get no email, but their lots count as handled; blocked customers and cards are left for a
later run. Every email counts against the organization's per-minute budget of customer
emails, which campaign emails use too (CAMPAIGN_MESSAGES_PER_MINUTE)."""

from __future__ import annotations

import logging
import smtplib
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.core.mail import EmailMultiAlternatives
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import ngettext

from loyalty_platform.campaigns.messages import rate_release, rate_reserve
from loyalty_platform.campaigns.selectors import organization_zone
from loyalty_platform.core.formats import day_display, number_display
from loyalty_platform.core.mail import email_build
from loyalty_platform.customers.mail import customer_email_language
from loyalty_platform.customers.models import Customer
from loyalty_platform.identification.services import organization_base_url
from loyalty_platform.programs import lots
from loyalty_platform.programs.models import Card, Program

logger = logging.getLogger(__name__)

WARN_CHUNK_CARDS = 100
# Dates listed one by one in an email; what expires later is summed up in one line.
LISTED_DATES = 5

CARD_TABLE = Card._meta.db_table
CUSTOMER_TABLE = Customer._meta.db_table
PROGRAM_TABLE = Program._meta.db_table

# The lots a run warns: open, expiring after now and within the window, and not warned since
# their window opened (never warned, or warned for an earlier date). Cards or customers that
# are blocked wait: their points cannot be used until staff unblock them.
_DUE_LOTS = (
    "lot.remaining > 0 AND lot.expires_at > %(now)s AND lot.expires_at <= %(until)s "
    "AND (lot.warned_at IS NULL OR lot.warned_at < lot.expires_at - %(days)s * interval '1 day') "
    "AND card.status <> 'blocked' AND customer.status <> 'blocked'"
)
_DUE_CARDS_SQL = (
    f"SELECT DISTINCT lot.card_id FROM {lots.LOT_TABLE} AS lot "  # noqa: S608
    f"JOIN {CARD_TABLE} AS card ON card.id = lot.card_id "
    f"JOIN {CUSTOMER_TABLE} AS customer ON customer.id = card.customer_id "
    f"WHERE card.program_id = %(program)s AND {_DUE_LOTS} ORDER BY 1"
)
_LOCK_CARDS_SQL = f"SELECT id FROM {CARD_TABLE} WHERE id = ANY(%s) ORDER BY id FOR UPDATE"  # noqa: S608
# Read under the cards' locks; a change of the rule saved meanwhile waits for the chunk.
_RULE_STATE_SQL = (
    f"SELECT points_expiry, points_expiry_since, lots_redated_for, expiry_warning_days "  # noqa: S608
    f"FROM {PROGRAM_TABLE} WHERE id = %s FOR SHARE"
)
# Run after the cards' locks are held, so that its snapshot sees every committed claim.
_CLAIM_SQL = (
    f"UPDATE {lots.LOT_TABLE} AS lot SET warned_at = %(now)s FROM {CARD_TABLE} AS card "  # noqa: S608
    f"JOIN {CUSTOMER_TABLE} AS customer ON customer.id = card.customer_id "
    f"WHERE lot.card_id = card.id AND card.id = ANY(%(cards)s) AND {_DUE_LOTS} "
    "RETURNING lot.id, lot.card_id, lot.remaining, lot.expires_at, card.customer_id, card.balance"
)
# An email that failed gives its lots back to the next run, unless a later claim took them.
_RELEASE_SQL = f"UPDATE {lots.LOT_TABLE} SET warned_at = NULL WHERE id = ANY(%s) AND warned_at = %s"  # noqa: S608


@dataclass(frozen=True)
class WarningBatch:
    """The lots of one card claimed in one run: what one email tells."""

    card_id: int
    customer_id: int
    balance: int
    claimed_at: datetime
    lot_ids: tuple[int, ...]
    lots: tuple[tuple[datetime, int], ...]  # (expires_at, remaining), earliest first

    @property
    def points(self) -> int:
        return sum(points for _at, points in self.lots)


@dataclass
class WarningRun:
    cards: int = 0  # cards whose lots were claimed (warned) by this run
    emails: int = 0  # emails sent
    not_emailed: int = 0  # warnings turned off, erased, or no address: handled without email
    failed: int = 0  # emails the mail server did not take
    released: int = 0  # of those, claims given back to the next run
    stopped: str = ""
    retry_in: int | None = None  # seconds until the next minute's budget, when it ran out
    first_error: str = ""

    def summary(self) -> dict:
        summary = {
            "cards": self.cards,
            "emails": self.emails,
            "not_emailed": self.not_emailed,
            "failed": self.failed,
        }
        if self.stopped:
            summary["stopped"] = self.stopped
        return summary


def _window(program: Program, now: datetime) -> dict:
    days = program.expiry_warning_days
    return {"now": now, "until": now + timedelta(days=days), "days": days}


def warning_programs() -> list[Program]:
    """Point programs whose points expire and whose customers are warned, whose lots are
    dated by their rule as it is now (after a change, the expiry job dates them first)."""
    programs = (
        Program.objects.filter(kind=Program.Kind.POINT, expiry_warning_days__gt=0)
        .exclude(points_expiry=Program.PointsExpiry.NEVER)
        .order_by("pk")
    )
    return [program for program in programs if program.points_expiry_since == program.lots_redated_for]


def due_cards(program: Program, *, now: datetime) -> list[int]:
    """The program's cards with lots to warn about at `now`, by id (a plain read: the claim
    decides under the cards' locks)."""
    with connection.cursor() as cursor:
        cursor.execute(_DUE_CARDS_SQL, {**_window(program, now), "program": program.pk})
        return [row[0] for row in cursor.fetchall()]


def warnings_claim(program: Program, card_ids: list[int], *, now: datetime) -> list[WarningBatch] | None:
    """Claim the due lots of these cards (set `warned_at`), in a transaction of its own and
    under the cards' locks; returns one batch per card that had any. None (nothing claimed)
    when the program's rule or window changed since `program` was read."""
    with transaction.atomic(durable=True), connection.cursor() as cursor:
        cursor.execute(_LOCK_CARDS_SQL, [card_ids])
        cursor.execute(_RULE_STATE_SQL, [program.pk])
        state = cursor.fetchone()
        read = (program.points_expiry, program.points_expiry_since, program.points_expiry_since)
        if state != (*read, program.expiry_warning_days):
            return None  # a new rule or window (or lots not dated by it yet): the next run
        cursor.execute(_CLAIM_SQL, {**_window(program, now), "cards": card_ids})
        claimed = cursor.fetchall()
    by_card: dict[int, list[tuple]] = defaultdict(list)
    for row in claimed:
        by_card[row[1]].append(row)
    batches = []
    for card_id in sorted(by_card):
        rows = sorted(by_card[card_id], key=lambda row: (row[3], row[0]))
        batches.append(
            WarningBatch(
                card_id=card_id,
                customer_id=rows[0][4],
                balance=rows[0][5],
                claimed_at=now,
                lot_ids=tuple(row[0] for row in rows),
                lots=tuple((row[3], row[2]) for row in rows),
            )
        )
    return batches


def _emailable(customer: Customer | None) -> bool:
    return (
        customer is not None
        and customer.status == Customer.Status.ACTIVE
        and customer.points_expiry_warnings
        and bool(customer.email)
    )


def _address_refused(error: OSError) -> bool:
    """The mail server refused the address itself for good (5xx for every recipient): trying
    again every hour until the date would not help. Everything else (unreachable, timeouts,
    authentication, temporary refusals) may pass on the next run."""
    if not isinstance(error, smtplib.SMTPRecipientsRefused) or not error.recipients:
        return False
    return all(code >= 500 for code, _message in error.recipients.values())


def warnings_send(program: Program, batches: list[WarningBatch], *, run: WarningRun) -> int:
    """Email each claimed batch whose customer can still be emailed (read again now); returns
    how many emails were tried. Call it after the claim committed."""
    tried = 0
    for batch in batches:
        customer = (
            Customer.objects.filter(pk=batch.customer_id)
            .only("email", "name", "language", "status", "points_expiry_warnings")
            .first()
        )
        if not _emailable(customer):
            run.not_emailed += 1
            continue
        tried += 1
        try:
            warning_email(program=program, batch=batch, customer=customer).send()
        except OSError as error:  # SMTP refused or unreachable
            run.failed += 1
            run.first_error = run.first_error or type(error).__name__
            if not _address_refused(error):
                with connection.cursor() as cursor:
                    cursor.execute(_RELEASE_SQL, [list(batch.lot_ids), batch.claimed_at])
                run.released += 1
            continue
        run.emails += 1
    return tried


def warn_cards(program: Program, card_ids: list[int], *, now: datetime, run: WarningRun) -> bool:
    """One chunk: budget, claim, commit, send. False when the run must stop here (the minute's
    budget is used up, or the program's rule changed); what is left waits for the next run."""
    reservation = rate_reserve(len(card_ids))
    granted = card_ids[: reservation.granted]
    tried = 0
    try:
        batches = warnings_claim(program, granted, now=now) if granted else []
        if batches is None:
            run.stopped = "rule_changed"
            return False
        run.cards += len(batches)
        tried = warnings_send(program, batches, run=run)
    finally:
        rate_release(reservation, len(granted) - tried)
    if len(granted) < len(card_ids):
        run.stopped = "rate_limited"
        run.retry_in = reservation.retry_in
        return False
    return True


def points_expiry_warn(*, now: datetime | None = None, chunk_cards: int = WARN_CHUNK_CARDS) -> WarningRun:
    """Warn every customer of the organization whose points expire within their program's
    warning days, chunk by chunk (each claim commits on its own, then its emails go). Call it
    outside a transaction."""
    now = now or timezone.now()
    run = WarningRun()
    for program in warning_programs():
        due = due_cards(program, now=now)
        for start in range(0, len(due), chunk_cards):
            if not warn_cards(program, due[start : start + chunk_cards], now=now, run=run):
                break
        if run.stopped == "rate_limited":
            break
    if run.failed:
        logger.warning(
            "points expiry warnings in %s: %s not sent (%s), %s left for the next run",
            connection.schema_name,
            run.failed,
            run.first_error,
            run.released,
        )
    return run


def _points_text(points: int) -> str:
    return ngettext("%(points)s point", "%(points)s points", points) % {"points": number_display(points)}


def _by_day(batch: WarningBatch) -> list[tuple[date, int]]:
    """The batch's points by the day they expire in the organization's time zone."""
    zone = organization_zone()
    days: dict[date, int] = defaultdict(int)
    for expires_at, points in batch.lots:
        days[timezone.localtime(expires_at, zone).date()] += points
    return sorted(days.items())


def warning_email(*, program: Program, batch: WarningBatch, customer: Customer) -> EmailMultiAlternatives:
    """The email of one batch, in the customer's language (its counts and days too): the
    points that expire, the first date and the next ones, in the organization's branding and
    time zone, with the profile link that turns them off."""
    organization = connection.tenant
    days = _by_day(batch)
    listed, later = days[:LISTED_DATES], days[LISTED_DATES:]

    # Called under the email's language: the counts and days are written its way.
    def context() -> dict:
        return {
            "customer_name": customer.name,
            "total": batch.points,
            "total_text": number_display(batch.points),
            "rows": [{"date": day_display(day), "points": _points_text(points)} for day, points in listed],
            "later_text": _points_text(sum(points for _day, points in later)) if later else "",
            "balance_text": _points_text(batch.balance),
            "inactivity": program.points_expiry == Program.PointsExpiry.INACTIVITY,
            "expiry_months": program.points_expiry_months,
            "profile_url": organization_base_url() + reverse("profile"),
        }

    def subject() -> str:
        return ngettext(
            "%(points)s point at %(organization)s expires on %(date)s",
            "%(points)s points at %(organization)s expire on %(date)s",
            batch.points,
        ) % {
            "points": number_display(batch.points),
            "organization": organization.name,
            "date": day_display(days[0][0]),
        }

    return email_build(
        language=customer_email_language(customer),
        template="emails/points_expiry_warning",
        subject=subject,
        context=context,
        to=[customer.email],
        organization=organization,
    )
