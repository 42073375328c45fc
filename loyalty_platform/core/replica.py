"""Read-heavy pages read from a replica when the operator configures one
(DATABASE_REPLICA_URL; docs/decisions/0062-read-replica.md).

Code that may read a little behind the primary says so with `replica_reads()`: the merchant
dashboard, a segment's size and sample, the customer CSV export. Inside it, reads go to the
replica alias, in the schema the default connection is in at that moment; outside it, or
inside a transaction on the default connection (which must read its own writes), or with no
replica configured, everything stays on the default connection. Writes never go to it."""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.db import DEFAULT_DB_ALIAS, connection, connections

REPLICA = "replica"
_reading_from_replica: ContextVar[bool] = ContextVar("reading_from_replica", default=False)


@contextmanager
def replica_reads() -> Iterator[None]:
    token = _reading_from_replica.set(True)
    try:
        yield
    finally:
        _reading_from_replica.reset(token)


def replica_configured() -> bool:
    return REPLICA in connections.settings


def read_alias() -> str:
    """The alias a read should use now; the replica's search path is made the default
    connection's schema first, so an organization's read never runs in another's."""
    if not _reading_from_replica.get() or not replica_configured() or connection.in_atomic_block:
        return DEFAULT_DB_ALIAS
    replica = connections[REPLICA]
    if replica.schema_name != connection.schema_name:
        if replica.in_atomic_block:
            # A transaction of the replica began in one schema; it may not read another's.
            raise RuntimeError("the replica's transaction is in another schema")
        replica.set_tenant(connection.tenant)
    return REPLICA


class ReplicaRouter:
    """Routes the ORM's reads inside replica_reads(); never a write, never a migration."""

    def db_for_read(self, model, **hints) -> str | None:
        return read_alias() if _reading_from_replica.get() else None

    def db_for_write(self, model, **hints) -> str | None:
        return None

    def allow_relation(self, first, second, **hints) -> bool | None:
        # Both aliases hold the same rows: an object read from the replica may be assigned
        # to one saved on the primary.
        return True if {first._state.db, second._state.db} <= {DEFAULT_DB_ALIAS, REPLICA} else None

    def allow_migrate(self, db, app_label, **hints) -> bool | None:
        return False if db == REPLICA else None
