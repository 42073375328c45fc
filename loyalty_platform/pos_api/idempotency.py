"""external_id idempotency: the first successful response is stored and replayed byte for
byte; a unique constraint decides which of several concurrent duplicates runs, and an owner
token checked under a row lock decides which execution may commit (docs/decisions/0006)."""

import hashlib
import json
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, OperationalError, connection, transaction
from django.db.models import F
from django.utils import timezone
from psycopg.errors import LockNotAvailable

from loyalty_platform.core import errors
from loyalty_platform.pos_api.models import IdempotencyRecord

# Fields a PIN retry may add or change without making it a different request.
IGNORED_FIELDS = frozenset({"verification_pin", "manual_code", "challenge_id"})


def request_fingerprint(body: dict) -> str:
    relevant = {key: value for key, value in body.items() if key not in IGNORED_FIELDS}
    canonical = json.dumps(relevant, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class Replay:
    status: int
    body: bytes


_HOLD_SQL = (
    f"SELECT 1 FROM {IdempotencyRecord._meta.db_table} "  # noqa: S608 - no input in the name
    "WHERE id = %s AND attempt = %s AND status = %s FOR UPDATE"
)


@dataclass(frozen=True)
class Claim:
    """The right to execute one external_id, as long as `attempt` is still the record's."""

    record_id: int
    attempt: int

    def hold(self) -> None:
        """Call first inside the action's transaction: locks the claim until that transaction
        ends, so nobody can take it over while the action runs, and refuses if somebody already
        did (this execution then must not commit: the taker owns the call)."""
        # Written out: on every mutating call, and the ORM costs more than the query here.
        with connection.cursor() as cursor:
            cursor.execute(_HOLD_SQL, [self.record_id, self.attempt, IdempotencyRecord.Status.IN_PROGRESS])
            if cursor.fetchone() is None:
                raise errors.REQUEST_IN_PROGRESS()

    def complete(self, *, status: int, body: bytes) -> None:
        """Store the response, in the transaction of the action it answers (after hold())."""
        stored = IdempotencyRecord.objects.filter(pk=self.record_id, attempt=self.attempt).update(
            status=IdempotencyRecord.Status.COMPLETED,
            response_status=status,
            response_body=body,
            completed_at=timezone.now(),
        )
        if stored != 1:
            raise errors.REQUEST_IN_PROGRESS()

    def release(self) -> None:
        """Forget a claim whose call failed (validation, PIN prompt), so a retry runs anew;
        a claim somebody took over is theirs and stays."""
        IdempotencyRecord.objects.filter(
            pk=self.record_id, attempt=self.attempt, status=IdempotencyRecord.Status.IN_PROGRESS
        ).delete()


class Unclaimed:
    """Stands in for a claim when a call carries no external_id."""

    def hold(self) -> None:
        pass

    def complete(self, *, status: int, body: bytes) -> None:
        pass

    def release(self) -> None:
        pass


def _insert_claim(**fields) -> IdempotencyRecord:
    # Committed on its own so that duplicates see it at once. In autocommit mode a single
    # INSERT is its own transaction (one round trip, no BEGIN/COMMIT); inside a caller's
    # transaction a savepoint keeps a unique violation from aborting it.
    if transaction.get_connection().in_atomic_block:
        with transaction.atomic():
            return IdempotencyRecord.objects.create(**fields)
    return IdempotencyRecord.objects.create(**fields)


def _answer_from(existing: IdempotencyRecord, fingerprint: str) -> Replay:
    if existing.request_hash != fingerprint:
        raise errors.IDEMPOTENCY_KEY_REUSED()
    return Replay(status=existing.response_status, body=bytes(existing.response_body))


def _take_over_or_answer(*, record_id: int, fingerprint: str) -> Claim | Replay | None:
    """For a claim that was in progress when read: take it over if no transaction holds it
    and it is older than IDEMPOTENCY_TAKEOVER_SECONDS, else refuse or replay what finished
    meanwhile. None: it is gone."""
    with transaction.atomic():
        try:
            existing = IdempotencyRecord.objects.select_for_update(nowait=True).filter(pk=record_id).first()
        except OperationalError as error:
            if isinstance(error.__cause__, LockNotAvailable):
                # The first execution holds it: it is inside its transaction right now.
                raise errors.REQUEST_IN_PROGRESS() from None
            raise
        if existing is None:
            return None
        if existing.status == IdempotencyRecord.Status.COMPLETED:
            return _answer_from(existing, fingerprint)
        # Not held, so its execution is before its transaction, or gone (the process died, or
        # its release failed). Taking over is safe either way: hold() makes the first one stop.
        stale_before = timezone.now() - timedelta(seconds=settings.IDEMPOTENCY_TAKEOVER_SECONDS)
        if existing.created_at >= stale_before:
            raise errors.REQUEST_IN_PROGRESS()
        IdempotencyRecord.objects.filter(pk=record_id).update(
            attempt=F("attempt") + 1, created_at=timezone.now()
        )
        return Claim(record_id=record_id, attempt=existing.attempt + 1)


def idempotency_claim(
    *, endpoint: str, external_id: str, fingerprint: str, api_key_lookup_id: str = ""
) -> Claim | Replay:
    """Claim an external_id for this call (committed at once, so duplicates see it), or
    return the stored response to replay. Raises idempotency_key_reused for a different
    body and request_in_progress while the first call is still running."""
    for _ in range(3):
        try:
            record = _insert_claim(
                endpoint=endpoint,
                external_id=external_id,
                request_hash=fingerprint,
                api_key_lookup_id=api_key_lookup_id,
            )
            return Claim(record_id=record.pk, attempt=record.attempt)
        except IntegrityError:
            existing = IdempotencyRecord.objects.filter(endpoint=endpoint, external_id=external_id).first()
            if existing is None:
                continue  # released between our insert and this read: try again
            if existing.request_hash != fingerprint or existing.status == IdempotencyRecord.Status.COMPLETED:
                return _answer_from(existing, fingerprint)
            outcome = _take_over_or_answer(record_id=existing.pk, fingerprint=fingerprint)
            if outcome is not None:
                return outcome
    raise errors.REQUEST_IN_PROGRESS()


def idempotency_purge(*, older_than_days: int | None = None) -> int:
    days = older_than_days or settings.IDEMPOTENCY_KEEP_DAYS
    deleted, _ = IdempotencyRecord.objects.filter(
        created_at__lt=timezone.now() - timedelta(days=days)
    ).delete()
    return deleted
