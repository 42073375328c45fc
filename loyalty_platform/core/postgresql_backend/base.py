import time

from django.db.backends.postgresql.base import TIMESTAMPTZ_OID, ServerBindingCursor
from django.db.backends.postgresql.operations import DatabaseOperations as PostgresOperations
from django.db.backends.postgresql.psycopg_any import register_tzloader
from django_tenants.postgresql_backend import base
from psycopg import errors
from psycopg.pq import Format

# Not a cursor name: create_cursor's sign for a server-binding cursor (see prepared_cursor).
_PREPARED = object()


class DatabaseOperations(PostgresOperations):
    def last_executed_query(self, cursor, sql, params):
        # What a prepared_cursor() ran, spelled out for the debug log and captured queries
        # (Django's default reads the client-side binding cursor's query).
        if isinstance(cursor, ServerBindingCursor):
            try:
                return self.compose_sql(sql, params)
            except errors.DataError:
                return None
        return super().last_executed_query(cursor, sql, params)


class DatabaseWrapper(base.DatabaseWrapper):
    """Skips the health check while `fresh_until` (set by the package's
    mark_clean_connections_fresh) has not passed, and offers prepared_cursor() for the
    statements every POS call runs."""

    ops_class = DatabaseOperations
    fresh_until = 0.0

    def close_if_health_check_failed(self) -> None:
        if self.connection is not None and time.monotonic() < self.fresh_until:
            self.health_check_done = True
        super().close_if_health_check_failed()

    def prepared_cursor(self):
        """A cursor whose statements PostgreSQL parses and plans once per connection (with
        OPTIONS prepare_threshold 0; docs/decisions/0024-prepared-hot-statements.md).
        Parameters are bound by the server, so the SQL must type them by its context
        (a column, a function's argument). The search path is set as for any cursor."""
        # django-tenants sets the search path for a named cursor on a cursor of its own,
        # outside Django's error wrapping: a lost server must still surface as Django's
        # OperationalError (a 503, and the connection marked as failed).
        with self.wrap_database_errors:
            return self._cursor(name=_PREPARED)

    def create_cursor(self, name=None):
        if name is not _PREPARED:
            return super().create_cursor(name)
        cursor = ServerBindingCursor(self.connection)
        # As Django's create_cursor: timestamps load in the connection's time zone.
        if self.timezone != self.connection.adapters.get_loader(TIMESTAMPTZ_OID, Format.TEXT).timezone:
            register_tzloader(self.timezone, cursor)
        return cursor
