import time

from django.core.exceptions import ImproperlyConfigured
from django.db.backends.postgresql.base import TIMESTAMPTZ_OID, Cursor, ServerBindingCursor
from django.db.backends.postgresql.introspection import TableInfo
from django.db.backends.postgresql.operations import DatabaseOperations as PostgresOperations
from django.db.backends.postgresql.psycopg_any import register_tzloader
from django_tenants.postgresql_backend import base
from django_tenants.postgresql_backend.introspection import DatabaseSchemaIntrospection
from django_tenants.utils import get_limit_set_calls, quote_schema_name
from psycopg import errors, sql
from psycopg.pq import Format, TransactionStatus

# Not cursor names: create_cursor's signs for a server-binding cursor that prepares its
# statements, and for one that does not (see prepared_cursor).
_PREPARED = object()
_UNPREPARED = object()
# prepared_cursor() calls in a row in one schema before its statements are prepared there.
PREPARE_AFTER_CALLS_IN_SCHEMA = 8

# DATABASES["default"]["POOLER"]: how the connection reaches PostgreSQL (settings.services,
# DATABASE_POOLER). "transaction": through a pooler in transaction mode (PgBouncer's
# pool_mode=transaction), where consecutive transactions of one connection may run on
# different server sessions (docs/decisions/0060-search-path-behind-a-transaction-pooler.md).
TRANSACTION_POOLER = "transaction"
POOLERS = ("", TRANSACTION_POOLER)


class TransactionPooledCursor(Cursor):
    """Django's client-side binding cursor that gives every transaction its search path as
    its first statement: `SET LOCAL search_path`, sent in the same simple-protocol query as
    the statement it precedes (one round trip, one implicit transaction in autocommit).

    In autocommit every statement carries it; in a transaction only the first statement
    (and the first after the schema changed or a savepoint was rolled back to). A SET LOCAL
    ends with its transaction, so no server session keeps an organization's path for the
    next client of the pooler."""

    database: "DatabaseWrapper"

    def execute(self, query, params=None, **kwargs):
        prefix = self.database.search_path_prefix()
        if prefix is None:
            return super().execute(query, params, **kwargs)
        super().execute(_prefixed(prefix, query, params), params, **kwargs)
        # The SET's result comes first; the caller reads its own statement's.
        self.nextset()
        return self

    def executemany(self, query, params_seq, **kwargs):
        prefix = self.database.search_path_prefix()
        if prefix is None:
            return super().executemany(query, params_seq, **kwargs)
        if not self.connection.autocommit:
            super().execute(prefix)
            return super().executemany(query, params_seq, **kwargs)
        # One statement per parameter set, so the SET cannot ride along: a short transaction.
        with self.connection.transaction():
            super().execute(prefix)
            return super().executemany(query, params_seq, **kwargs)


def _prefixed(prefix: str, query, params):
    if isinstance(query, sql.Composable):
        return sql.Composed([sql.SQL(prefix.replace("{", "{{").replace("}", "}}")), query])
    if isinstance(query, bytes):
        query = query.decode()
    # With parameters, a literal % must be doubled to survive the interpolation.
    return (prefix.replace("%", "%%") if params is not None else prefix) + query


class SearchPathCarryingCursor(Cursor):
    """Django's client-side binding cursor for direct connections that sends the session's
    `SET search_path`, when the connection has moved to another schema, in the same
    simple-protocol query as its next statement in a transaction: one round trip instead of
    two at every change of organization (decision 64). The path is the one of the
    organization the connection served when the cursor was made, as django-tenants would
    have set it then. It counts as set on the server only once the query succeeded; a
    rollback forgets it (django-tenants' rollback), so the next cursor sends it again. In
    autocommit the SET goes ahead as a statement of its own."""

    database: "DatabaseWrapper"
    # Set by DatabaseWrapper._handle_search_path when the cursor is made.
    search_paths_to_set = None

    def execute(self, query, params=None, **kwargs):
        search_paths = self._search_paths_to_send()
        if search_paths is None:
            return super().execute(query, params, **kwargs)
        if self.connection.autocommit:
            # Two statements in one query would make an implicit transaction, which some
            # statements refuse (CREATE DATABASE, CREATE INDEX CONCURRENTLY, VACUUM).
            self._send_search_path()
            return super().execute(query, params, **kwargs)
        super().execute(_prefixed(search_path_statement(search_paths), query, params), params, **kwargs)
        self.database.search_path_sent(search_paths)
        # The SET's result comes first; the caller reads its own statement's.
        self.nextset()
        return self

    def executemany(self, query, params_seq, **kwargs):
        self._send_search_path()
        return super().executemany(query, params_seq, **kwargs)

    def copy(self, statement, params=None, **kwargs):
        self._send_search_path()
        return super().copy(statement, params, **kwargs)

    def stream(self, query, params=None, **kwargs):
        self._send_search_path()
        return super().stream(query, params, **kwargs)

    def _search_paths_to_send(self):
        search_paths = self.search_paths_to_set
        if search_paths is None or search_paths == self.database.search_path_set_schemas:
            return None  # none to set, or another cursor has set it meanwhile
        return search_paths

    def _send_search_path(self) -> None:
        search_paths = self._search_paths_to_send()
        if search_paths is not None:
            super().execute(search_path_statement(search_paths))
            self.database.search_path_sent(search_paths)


def search_path_statement(search_paths, *, local: bool = False) -> str:
    """`SET search_path` (for the session, or with local for the transaction), ending in ;."""
    scope = "LOCAL " if local else ""
    return f"SET {scope}search_path = {','.join(quote_schema_name(s) for s in search_paths)};"


class SchemaIntrospection(DatabaseSchemaIntrospection):
    """django-tenants' introspection, with the table list read by the schema's namespace.
    Django's asks pg_table_is_visible() of every relation of the database, which grows with
    the number of organizations: 448 ms at 1,000 (463,000 relations) against 23 ms by
    namespace, run for each schema a migration visits (bench/many_orgs.py)."""

    def get_table_list(self, cursor):
        cursor.execute(
            """
            SELECT c.relname,
                   CASE WHEN c.relispartition THEN 'p' WHEN c.relkind IN ('m', 'v') THEN 'v' ELSE 't' END,
                   obj_description(c.oid, 'pg_class')
              FROM pg_catalog.pg_class c
             WHERE c.relkind IN ('f', 'm', 'p', 'r', 'v') AND c.relnamespace = to_regnamespace(%s)
            """,
            [quote_schema_name(self.connection.schema_name)],
        )
        return [TableInfo(*row) for row in cursor.fetchall() if row[0] not in self.ignored_tables]


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
    # The search path the current transaction has set with SET LOCAL (transaction pooling).
    search_path_in_transaction = None
    # The schema the prepared statements last ran in, and the prepared_cursor() calls since
    # the connection moved to the schema it is in now.
    prepared_in_schema = None
    last_prepared_cursor_schema = None
    calls_in_schema = 0

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        pooler = self.settings_dict.get("POOLER") or ""
        if pooler not in POOLERS:
            raise ImproperlyConfigured(f"DATABASES POOLER must be one of {POOLERS}, not {pooler!r}")
        self.transaction_pooling = pooler == TRANSACTION_POOLER
        self.introspection = SchemaIntrospection(self)
        if self.transaction_pooling and not self.settings_dict.get("DISABLE_SERVER_SIDE_CURSORS"):
            # A server-side cursor lives in one server session across transactions.
            raise ImproperlyConfigured("POOLER 'transaction' needs DISABLE_SERVER_SIDE_CURSORS")

    def _handle_search_path(self, cursor=None):
        # Under transaction pooling every statement's cursor sets the path itself (search_path_prefix).
        if self.transaction_pooling or self._setting_search_path:
            return
        search_paths = self._get_cursor_search_paths()
        if get_limit_set_calls() and self.search_path_set_schemas == search_paths:
            return
        if cursor is not None and isinstance(cursor.cursor, SearchPathCarryingCursor):
            # Its next statement carries the SET (decision 64).
            cursor.cursor.search_paths_to_set = search_paths
            return
        # A server-binding or server-side cursor cannot: the SET is a statement of its own.
        super()._handle_search_path(cursor)

    def _cursor(self, name=None):
        if name is _UNPREPARED and not self.transaction_pooling:
            # Not a named cursor, despite the name: like an unnamed one, the cursor itself can
            # carry the SET (django-tenants would send it ahead on a cursor of its own).
            cursor = super(base.DatabaseWrapper, self)._cursor(name=name)
            self._handle_search_path(cursor)
            return cursor
        return super()._cursor(name=name)

    def search_path_sent(self, search_paths) -> None:
        """A SearchPathCarryingCursor's SET succeeded (in the transaction, if one is open: a
        rollback forgets it again). If the connection has moved to another organization since
        the cursor was made, the server's path is not that organization's: the next cursor
        sets it."""
        current = search_paths == self._get_cursor_search_paths()
        self.search_path_set_schemas = search_paths if current else None

    def search_path_prefix(self) -> str | None:
        """The `SET LOCAL search_path` to send before the next statement, or None when the
        transaction it will run in has set this path already."""
        connection = self.connection
        search_paths = self._get_cursor_search_paths()
        status = connection.info.transaction_status
        if connection.autocommit:
            # The statement is a transaction of its own.
            self.search_path_in_transaction = None
        elif status == TransactionStatus.INERROR:
            # Fails whatever it carries; the rollback that follows forgets the path.
            return None
        elif status == TransactionStatus.INTRANS and self.search_path_in_transaction == search_paths:
            return None
        else:
            # psycopg begins a transaction with this statement (IDLE), or the schema changed.
            self.search_path_in_transaction = search_paths
        return search_path_statement(search_paths, local=True)

    def _forget_transaction_search_path(self) -> None:
        self.search_path_in_transaction = None

    def _commit(self):
        self._forget_transaction_search_path()
        return super()._commit()

    def _rollback(self):
        self._forget_transaction_search_path()
        return super()._rollback()

    def _set_autocommit(self, autocommit):
        self._forget_transaction_search_path()
        return super()._set_autocommit(autocommit)

    def savepoint_rollback(self, sid):
        try:
            super().savepoint_rollback(sid)
        finally:
            # ROLLBACK TO SAVEPOINT undoes a SET LOCAL sent after the savepoint.
            self._forget_transaction_search_path()

    def close(self):
        self._forget_transaction_search_path()
        super().close()

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
            return self._cursor(name=_PREPARED if self._prepare_here() else _UNPREPARED)

    def _prepare_here(self) -> bool:
        """Whether this call's statements run prepared. PostgreSQL plans a prepared statement
        again whenever it runs under another search path than the last time; while a
        connection moves from organization to organization that costs more than planning an
        unprepared statement (bench/many_orgs.py: an earn spread over 20 organizations 1.36x
        one organization's with prepared statements, 1.06x without). So the statements are
        prepared, or kept, only in a schema the connection has stayed in for a few calls."""
        if self.settings_dict["OPTIONS"].get("prepare_threshold", 0) is None:
            # Nothing is prepared (DATABASE_PREPARED_STATEMENTS=false): binding on the client
            # lets the statement carry a change of search path (SearchPathCarryingCursor).
            return False
        schema = self.schema_name
        if schema == self.last_prepared_cursor_schema:
            self.calls_in_schema += 1
        else:
            self.last_prepared_cursor_schema = schema
            self.calls_in_schema = 1
        if schema == self.prepared_in_schema:
            return True
        if self.calls_in_schema >= PREPARE_AFTER_CALLS_IN_SCHEMA:
            self.prepared_in_schema = schema
            return True
        return False

    def create_cursor(self, name=None):
        if self.transaction_pooling and name in (None, _PREPARED, _UNPREPARED):
            # Prepared statements are off behind the pooler (settings.services), and a
            # server-binding cursor cannot carry the SET in its statement's query.
            cursor = TransactionPooledCursor(self.connection)
            cursor.database = self
            self._register_timezone(cursor)
            return cursor
        if name is _PREPARED:
            cursor = ServerBindingCursor(self.connection)
        elif name is _UNPREPARED or (name is None and not self._binds_on_server()):
            # Not prepared: bound on the client, as the ORM's statements, so that the SET of
            # a change of schema can ride along (SearchPathCarryingCursor).
            cursor = SearchPathCarryingCursor(self.connection)
            cursor.database = self
        else:
            return super().create_cursor(name)
        self._register_timezone(cursor)
        return cursor

    def _binds_on_server(self) -> bool:
        return bool(self.settings_dict["OPTIONS"].get("server_side_binding"))

    def _register_timezone(self, cursor) -> None:
        # As Django's create_cursor: timestamps load in the connection's time zone.
        if self.timezone != self.connection.adapters.get_loader(TIMESTAMPTZ_OID, Format.TEXT).timezone:
            register_tzloader(self.timezone, cursor)
