"""external_id idempotency: the first successful response is stored and replayed byte for
byte; a unique constraint decides which of several concurrent duplicates runs."""

import hashlib
import json
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from loyalty_platform.core.errors import DomainError
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


def _insert_claim(**fields) -> IdempotencyRecord:
    # Committed on its own so that duplicates see it at once. In autocommit mode a single
    # INSERT is its own transaction (one round trip, no BEGIN/COMMIT); inside a caller's
    # transaction a savepoint keeps a unique violation from aborting it.
    if transaction.get_connection().in_atomic_block:
        with transaction.atomic():
            return IdempotencyRecord.objects.create(**fields)
    return IdempotencyRecord.objects.create(**fields)


def idempotency_claim(
    *, endpoint: str, external_id: str, fingerprint: str, api_key_lookup_id: str = ""
) -> IdempotencyRecord | Replay:
    """Claim an external_id for this call (committed at once, so duplicates see it), or
    return the stored response to replay. Raises idempotency_key_reused for a different
    body and request_in_progress while the first call is still running."""
    for _ in range(3):
        try:
            return _insert_claim(
                endpoint=endpoint,
                external_id=external_id,
                request_hash=fingerprint,
                api_key_lookup_id=api_key_lookup_id,
            )
        except IntegrityError:
            existing = IdempotencyRecord.objects.filter(endpoint=endpoint, external_id=external_id).first()
            if existing is None:
                continue  # released between our insert and this read: try again
            if existing.request_hash != fingerprint:
                raise DomainError("idempotency_key_reused") from None
            if existing.status == IdempotencyRecord.Status.COMPLETED:
                return Replay(status=existing.response_status, body=bytes(existing.response_body))
            # A claim whose process died is taken over after a while.
            stale_before = timezone.now() - timedelta(seconds=settings.IDEMPOTENCY_TAKEOVER_SECONDS)
            taken = IdempotencyRecord.objects.filter(
                pk=existing.pk, status=IdempotencyRecord.Status.IN_PROGRESS, created_at__lt=stale_before
            ).update(created_at=timezone.now())
            if taken:
                return existing
            raise DomainError("request_in_progress") from None
    raise DomainError("request_in_progress")


def idempotency_complete(*, record: IdempotencyRecord, status: int, body: bytes) -> None:
    """Store the response; call inside the transaction of the action it answers, so the two
    commit together."""
    IdempotencyRecord.objects.filter(pk=record.pk).update(
        status=IdempotencyRecord.Status.COMPLETED,
        response_status=status,
        response_body=body,
        completed_at=timezone.now(),
    )


def idempotency_release(*, record: IdempotencyRecord) -> None:
    """Forget a claim whose call failed (validation, PIN prompt): a retry is processed anew."""
    IdempotencyRecord.objects.filter(pk=record.pk, status=IdempotencyRecord.Status.IN_PROGRESS).delete()


def idempotency_purge(*, older_than_days: int | None = None) -> int:
    days = older_than_days or settings.IDEMPOTENCY_KEEP_DAYS
    deleted, _ = IdempotencyRecord.objects.filter(
        created_at__lt=timezone.now() - timedelta(days=days)
    ).delete()
    return deleted
