"""external_id idempotency inside the action's own transaction (docs/decisions/0017).

The first statement of the transaction takes a transaction-scoped advisory lock named after
the organization, endpoint and external_id, and reads the stored answer in the same round
trip. A duplicate that finds the lock taken answers 409 at once; one that finds a stored
answer replays it (or refuses a different body). The action's response is stored by the same
transaction, so money and record commit together, once, and a crash leaves neither behind.
"""

import hashlib
import json
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.utils import timezone

from loyalty_platform.core import errors
from loyalty_platform.customers.models import Customer
from loyalty_platform.customers.selectors import (
    CUSTOMER_BY_CODE_JOIN,
    CUSTOMER_JOIN_COLUMNS,
    customer_from_join,
    customer_join_parameters,
)
from loyalty_platform.pos_api.models import IdempotencyRecord

# Fields a PIN retry may add or change without making it a different request.
IGNORED_FIELDS = frozenset({"verification_pin", "manual_code", "challenge_id"})
TABLE = IdempotencyRecord._meta.db_table


def request_fingerprint(body: dict) -> str:
    relevant = {key: value for key, value in body.items() if key not in IGNORED_FIELDS}
    canonical = json.dumps(relevant, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class Replay:
    status: int
    body: bytes


@dataclass(frozen=True)
class OnceKey:
    """One call's identity: the endpoint, its external_id and what the call asked for."""

    endpoint: str
    external_id: str
    fingerprint: str

    @property
    def lock_id(self) -> int:
        # Advisory locks are database-wide, so the organization's schema is part of the name.
        name = f"{connection.schema_name}\x00{self.endpoint}\x00{self.external_id}".encode()
        return int.from_bytes(hashlib.blake2b(name, digest_size=8).digest(), "big", signed=True)


class AnsweredMeanwhile(Exception):
    """A duplicate committed between this transaction's snapshot and its lock: roll back."""


_BEGIN_SQL = (
    "SELECT pg_try_advisory_xact_lock(%s), r.request_hash, r.response_status, r.response_body "  # noqa: S608
    f"FROM (SELECT 1) AS one LEFT JOIN {TABLE} AS r ON r.endpoint = %s AND r.external_id = %s"
)
# The same, also finding the customer the body names: one round trip instead of two.
_BEGIN_WITH_CUSTOMER_SQL = (
    "SELECT pg_try_advisory_xact_lock(%s), r.request_hash, r.response_status, r.response_body, "  # noqa: S608
    f"{CUSTOMER_JOIN_COLUMNS} FROM (SELECT 1) AS one "
    f"LEFT JOIN {TABLE} AS r ON r.endpoint = %s AND r.external_id = %s {CUSTOMER_BY_CODE_JOIN}"
)
_STORED_SQL = (
    f"SELECT request_hash, response_status, response_body FROM {TABLE} "  # noqa: S608
    "WHERE endpoint = %s AND external_id = %s"
)
_RECORD_SQL = (
    f"INSERT INTO {TABLE} (endpoint, external_id, request_hash, response_status, response_body, "  # noqa: S608
    "api_key_lookup_id, created_at) VALUES (%s, %s, %s, %s, %s, %s, %s) "
    "ON CONFLICT (endpoint, external_id) DO NOTHING RETURNING 1"
)


def _answer(key: OnceKey, request_hash: str, status: int, body) -> Replay:
    if request_hash != key.fingerprint:
        raise errors.IDEMPOTENCY_KEY_REUSED()
    return Replay(status=status, body=bytes(body))


def once_stored_answer(key: OnceKey) -> Replay | None:
    """The stored answer to this call, if it ran before (a plain read, for calls that must
    replay before a PIN step)."""
    with connection.prepared_cursor() as cursor:
        cursor.execute(_STORED_SQL, [key.endpoint, key.external_id])
        row = cursor.fetchone()
    return None if row is None else _answer(key, *row)


def once_begin(key: OnceKey) -> Replay | None:
    """First statement of the action's transaction: lock the call's name for the rest of the
    transaction and return the stored answer, if any. Raises request_in_progress while
    another transaction runs the same call."""
    stored, _ = _begin(key, _BEGIN_SQL, [])
    return stored


def once_begin_finding_customer(key: OnceKey, customer_code: int) -> tuple[Replay | None, Customer | None]:
    """once_begin, and in the same statement the customer with this code (None if none):
    the action's own look-up, made by the round trip the transaction starts with anyway."""
    return _begin(key, _BEGIN_WITH_CUSTOMER_SQL, customer_join_parameters(customer_code))


def _begin(key: OnceKey, sql: str, more: list) -> tuple[Replay | None, Customer | None]:
    if not connection.in_atomic_block:
        raise RuntimeError("once_begin runs inside the action's transaction")
    with connection.prepared_cursor() as cursor:
        cursor.execute(sql, [key.lock_id, key.endpoint, key.external_id, *more])
        locked, request_hash, status, body, *customer = cursor.fetchone()
    if request_hash is not None:
        return _answer(key, request_hash, status, body), None
    if not locked:
        raise errors.REQUEST_IN_PROGRESS()
    return None, customer_from_join(customer) if customer else None


def once_record(key: OnceKey, *, status: int, body: bytes, api_key_lookup_id: str) -> None:
    """Store the action's response in its transaction. A duplicate that committed after this
    transaction's snapshot was taken wins: AnsweredMeanwhile rolls this one back."""
    with connection.prepared_cursor() as cursor:
        cursor.execute(
            _RECORD_SQL,
            [key.endpoint, key.external_id, key.fingerprint, status, body, api_key_lookup_id, timezone.now()],
        )
        if cursor.fetchone() is None:
            raise AnsweredMeanwhile


def idempotency_purge(*, older_than_days: int | None = None) -> int:
    days = settings.IDEMPOTENCY_KEEP_DAYS if older_than_days is None else older_than_days
    deleted, _ = IdempotencyRecord.objects.filter(
        created_at__lt=timezone.now() - timedelta(days=days)
    ).delete()
    return deleted
