"""Organizations stay apart when PostgreSQL is reached through PgBouncer in transaction mode,
where a client's consecutive transactions may run on different server sessions
(docs/decisions/0060-search-path-behind-a-transaction-pooler.md).

The probe schemas stand in for organizations: the same table and primary keys in each, with
rows that name their schema. A read answered from another schema, or failing because no
schema with the table was on the path, is a cross-organization read."""

import copy
import os
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError, connection, connections, transaction

from loyalty_platform.core.postgresql_backend.base import DatabaseWrapper, TransactionPooledCursor
from tests.processes import PGBOUNCER, pgbouncer

SCHEMAS = [f"pooler_probe_{number}" for number in range(8)]
ROWS = 5
THREADS = 16
ROUNDS = 12
# Reads per round in reader(): 2 in autocommit, 1 prepared, 6 in the atomic block.
READS_PER_ROUND = 9

if not os.path.exists(PGBOUNCER):
    if os.environ.get("CI"):
        raise RuntimeError(f"CI needs pgbouncer at {PGBOUNCER} (.ci/run installs it)")
    pytest.skip("pgbouncer is not installed", allow_module_level=True)


@pytest.fixture
def probe_schemas(committed_db) -> Iterator[None]:
    with connection.cursor() as cursor:
        for schema in SCHEMAS:
            cursor.execute(f'CREATE SCHEMA "{schema}"')
            cursor.execute(
                f'CREATE TABLE "{schema}".probe (id integer PRIMARY KEY, schema_name text NOT NULL)'
            )
            cursor.execute(
                f'INSERT INTO "{schema}".probe SELECT n, %s FROM generate_series(1, %s) AS n',  # noqa: S608 - fixed names
                [schema, ROWS],
            )
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            for schema in SCHEMAS:
                cursor.execute(f'DROP SCHEMA "{schema}" CASCADE')


@contextmanager
def pooled_database(*, pool_size: int, pooler: str) -> Iterator[str]:
    """A database alias on the test database through a fresh PgBouncer; `pooler` is the
    alias's POOLER setting ("" is the per-connection search path)."""
    with pgbouncer(pool_size=pool_size) as port:
        alias = f"pooled-{port}"
        database = copy.deepcopy(connections["default"].settings_dict)
        database.update(
            HOST="127.0.0.1",
            PORT=str(port),
            POOLER=pooler,
            DISABLE_SERVER_SIDE_CURSORS=True,
            CONN_MAX_AGE=60,
            CONN_HEALTH_CHECKS=False,
        )
        database["OPTIONS"]["prepare_threshold"] = None
        connections.settings[alias] = database
        try:
            yield alias
        finally:
            connections[alias].close()
            del connections.settings[alias]


def read(alias: str, row: int, *, prepared: bool = False) -> str:
    database = connections[alias]
    with database.prepared_cursor() if prepared else database.cursor() as cursor:
        cursor.execute("SELECT schema_name FROM probe WHERE id = %s", [row])
        return cursor.fetchone()[0]


class Rollback(Exception):
    pass


def test_many_threads_on_many_organizations_read_only_their_own_rows(probe_schemas):
    wrong: list[tuple[str, str]] = []
    failed: list[tuple[str, str]] = []
    reads = []
    start = threading.Barrier(THREADS)

    with pooled_database(pool_size=3, pooler="transaction") as alias:

        def check(expected: str, row: int, **kwargs) -> None:
            try:
                answer = read(alias, row, **kwargs)
            except DatabaseError as error:
                failed.append((expected, str(error).splitlines()[0]))
                connections[alias].needs_rollback = False
                return
            reads.append(answer)
            if answer != expected:
                wrong.append((expected, answer))

        def reader(number: int) -> None:
            database = connections[alias]
            try:
                start.wait(timeout=30)
                for round_number in range(ROUNDS):
                    schema = SCHEMAS[(number + round_number) % len(SCHEMAS)]
                    other = SCHEMAS[(number + round_number + 1) % len(SCHEMAS)]
                    row = 1 + (number + round_number) % ROWS
                    database.set_schema(schema)
                    check(schema, row)
                    check(schema, row)
                    check(schema, row, prepared=True)
                    with transaction.atomic(using=alias):
                        check(schema, row)
                        with transaction.atomic(using=alias):
                            check(schema, row)
                        try:
                            with transaction.atomic(using=alias):
                                database.set_schema(other)
                                check(other, row)
                                raise Rollback
                        except Rollback:
                            pass
                        check(other, row)
                        database.set_schema(schema)
                        check(schema, row)
                        with transaction.atomic(using=alias):
                            check(schema, row)
            finally:
                database.close()

        with ThreadPoolExecutor(max_workers=THREADS) as pool:
            list(pool.map(reader, range(THREADS)))

    assert wrong == []
    assert failed == []
    assert len(reads) == THREADS * ROUNDS * READS_PER_ROUND


def test_two_clients_on_one_server_session_keep_their_own_organization(probe_schemas):
    """One server session for two clients, taking turns: each statement must carry its own
    client's path, whoever used the session last."""
    with pooled_database(pool_size=1, pooler="transaction") as alias:
        answers = _take_turns(alias)
    assert answers == [SCHEMAS[0], SCHEMAS[1], SCHEMAS[0], SCHEMAS[1], SCHEMAS[0]]


def test_the_per_connection_search_path_leaks_through_the_pooler(probe_schemas):
    """The harness sees the leak the POOLER setting prevents: with the path set once per
    Django connection, the first client reads the second one's rows."""
    with pooled_database(pool_size=1, pooler="") as alias:
        answers = _take_turns(alias)
    assert answers == [SCHEMAS[0], SCHEMAS[1], SCHEMAS[1], SCHEMAS[1], SCHEMAS[1]]


def _take_turns(alias: str) -> list[str]:
    """Client A on the first schema and client B on the second read in turns A, B, A, B, A
    (each client a thread of its own, so a Django connection of its own)."""
    answers = []
    turns = [threading.Event() for _ in range(5)]
    turns[0].set()

    def client(schema: str, my_turns: list[int]) -> None:
        database = connections[alias]
        try:
            database.set_schema(schema)
            for turn in my_turns:
                assert turns[turn].wait(timeout=30)
                answers.append(read(alias, 1))
                if turn + 1 < len(turns):
                    turns[turn + 1].set()
        finally:
            database.close()

    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = [pool.submit(client, SCHEMAS[0], [0, 2, 4]), pool.submit(client, SCHEMAS[1], [1, 3])]
        for future in futures:
            future.result()
    return answers


def test_transaction_pooling_needs_server_side_cursors_off():
    settings_dict = {**connections["default"].settings_dict, "POOLER": "transaction"}
    settings_dict["DISABLE_SERVER_SIDE_CURSORS"] = False
    with pytest.raises(ImproperlyConfigured, match="DISABLE_SERVER_SIDE_CURSORS"):
        DatabaseWrapper(settings_dict, alias="pooled-misconfigured")


def test_an_unknown_pooler_is_refused():
    settings_dict = {**connections["default"].settings_dict, "POOLER": "session"}
    with pytest.raises(ImproperlyConfigured, match="POOLER must be one of"):
        DatabaseWrapper(settings_dict, alias="pooled-misconfigured")


def test_every_statement_in_autocommit_and_the_first_of_a_transaction_carry_the_path(probe_schemas):
    with pooled_database(pool_size=2, pooler="transaction") as alias:
        database = connections[alias]
        database.set_schema(SCHEMAS[2])
        try:
            database.ensure_connection()
            assert database.search_path_prefix() == f'SET LOCAL search_path = "{SCHEMAS[2]}","public";'
            assert database.search_path_prefix() is not None
            with transaction.atomic(using=alias):
                with database.cursor() as cursor:
                    assert isinstance(cursor.cursor, TransactionPooledCursor)
                    cursor.execute(
                        "SELECT schema_name, current_setting('search_path') FROM probe WHERE id = 1"
                    )
                    assert cursor.fetchall() == [(SCHEMAS[2], f"{SCHEMAS[2]}, public")]
                assert database.search_path_prefix() is None
                database.set_schema(SCHEMAS[3])
                assert database.search_path_prefix() == f'SET LOCAL search_path = "{SCHEMAS[3]}","public";'
                assert database.search_path_prefix() is None
            with database.cursor() as cursor:
                cursor.execute("SELECT current_setting('search_path')")
                assert cursor.fetchall() == [(f"{SCHEMAS[3]}, public",)]
        finally:
            database.close()
