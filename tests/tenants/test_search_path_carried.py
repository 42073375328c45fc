"""On a direct connection, the `SET search_path` of a change of organization rides along
with the next statement (core.postgresql_backend: SearchPathCarryingCursor). Each test runs
on a connection of its own, outside the test's transaction, and reads which schema the
server used, so a path counted as set that the server had undone would show as the other
organization's schema."""

import contextlib

import pytest
from django.db import DatabaseError, connections
from django.test.utils import CaptureQueriesContext


@pytest.fixture
def own_connection(organization):
    wrapper = connections.create_connection("default")
    wrapper.set_tenant(organization)
    with wrapper.cursor() as cursor:
        cursor.execute("SELECT 1")  # the path of organization A is set on the server
    yield wrapper
    wrapper.close()


@contextlib.contextmanager
def in_transaction(wrapper, *, commit: bool = False):
    """What transaction.atomic() does, on a connection that is not the thread's own."""
    wrapper.set_autocommit(False)
    try:
        yield
        if commit:
            wrapper.commit()
    finally:
        if not commit:
            wrapper.rollback()
        wrapper.set_autocommit(True)


@contextlib.contextmanager
def in_savepoint(wrapper):
    """A nested atomic() block that raises: its savepoint is rolled back."""
    savepoint = wrapper.savepoint()
    try:
        yield
    finally:
        wrapper.savepoint_rollback(savepoint)


def _statements(captured) -> list[str]:
    """The queries sent, without the transaction's BEGIN and ROLLBACK."""
    return [query["sql"] for query in captured.captured_queries if query["sql"] not in ("BEGIN", "ROLLBACK")]


def _set(organization) -> str:
    return f'SET search_path = "{organization.schema_name}","public";'


def _server_schema(wrapper) -> str:
    """current_schema() read on the raw connection, which no cursor of ours prefixes."""
    return wrapper.connection.execute("SELECT current_schema()").fetchone()[0]


def _schema(wrapper) -> str:
    with wrapper.cursor() as cursor:
        cursor.execute("SELECT current_schema()")
        return cursor.fetchone()[0]


def test_a_change_of_organization_in_a_transaction_costs_no_statement_of_its_own(
    own_connection, other_organization
):
    own_connection.set_tenant(other_organization)
    with CaptureQueriesContext(own_connection) as captured, in_transaction(own_connection):
        schema = _schema(own_connection)
        again = _schema(own_connection)

    assert (schema, again) == (other_organization.schema_name,) * 2
    # django-tenants sent `SET search_path` on the cursor first, a round trip of its own.
    assert _statements(captured) == [
        f"{_set(other_organization)}SELECT current_schema()",
        "SELECT current_schema()",
    ]


def test_a_prepared_cursor_in_a_new_organization_carries_the_path_too(own_connection, other_organization):
    own_connection.set_tenant(other_organization)
    with (
        CaptureQueriesContext(own_connection) as captured,
        in_transaction(own_connection),
        own_connection.prepared_cursor() as cursor,
    ):
        cursor.execute("SELECT current_schema()")
        schema = cursor.fetchone()[0]

    assert schema == other_organization.schema_name
    assert _statements(captured) == [f"{_set(other_organization)}SELECT current_schema()"]


def test_in_autocommit_the_set_goes_ahead_on_its_own(own_connection, other_organization):
    """Two statements in one query would run in an implicit transaction, which CREATE
    DATABASE, CREATE INDEX CONCURRENTLY or VACUUM refuse."""
    own_connection.set_tenant(other_organization)
    with own_connection.cursor() as cursor:
        cursor.execute("VACUUM programs_card")
        cursor.execute("SELECT current_schema()")
        schema = cursor.fetchone()[0]

    assert schema == other_organization.schema_name


def test_a_cursor_that_runs_nothing_leaves_the_path_to_the_next_statement(
    own_connection, organization, other_organization
):
    own_connection.set_tenant(other_organization)
    own_connection.cursor().close()

    assert _server_schema(own_connection) == organization.schema_name  # nothing sent yet
    assert _schema(own_connection) == other_organization.schema_name


def test_a_cursor_made_before_a_change_of_organization_leaves_the_next_one_to_set_the_new(
    own_connection, organization, other_organization
):
    """As with django-tenants' SET at the cursor's making, a cursor runs in the organization
    the connection served when it was made; what it sets is then not taken for the path of
    the organization the connection has moved to."""
    own_connection.set_tenant(other_organization)
    made_in_b = own_connection.cursor()
    own_connection.set_tenant(organization)
    with in_transaction(own_connection, commit=True):
        made_in_b.execute("SELECT current_schema()")
        old_cursor = made_in_b.fetchone()[0]
        new_cursor = _schema(own_connection)

    assert (old_cursor, new_cursor) == (other_organization.schema_name, organization.schema_name)
    assert _server_schema(own_connection) == organization.schema_name


def test_a_failed_statement_takes_its_set_with_it(own_connection, organization, other_organization):
    own_connection.set_tenant(other_organization)
    with pytest.raises(DatabaseError), in_transaction(own_connection), own_connection.cursor() as cursor:
        cursor.execute("SELECT 1 / 0")

    assert _server_schema(own_connection) == organization.schema_name  # undone by the rollback
    assert own_connection.search_path_set_schemas is None
    assert _schema(own_connection) == other_organization.schema_name


def test_a_rolled_back_transaction_takes_its_set_with_it(own_connection, organization, other_organization):
    own_connection.set_tenant(other_organization)
    with pytest.raises(ZeroDivisionError), in_transaction(own_connection):
        inside = _schema(own_connection)
        raise ZeroDivisionError

    assert inside == other_organization.schema_name
    assert _server_schema(own_connection) == organization.schema_name
    assert _schema(own_connection) == other_organization.schema_name


def test_a_rolled_back_savepoint_takes_its_set_with_it(own_connection, organization, other_organization):
    with in_transaction(own_connection, commit=True):
        before = _schema(own_connection)
        own_connection.set_tenant(other_organization)
        with pytest.raises(ZeroDivisionError), in_savepoint(own_connection):
            inside = _schema(own_connection)
            raise ZeroDivisionError
        after = _schema(own_connection)

    assert (before, inside, after) == (
        organization.schema_name,
        other_organization.schema_name,
        other_organization.schema_name,
    )


def test_a_committed_transaction_keeps_its_set(own_connection, other_organization):
    own_connection.set_tenant(other_organization)
    with in_transaction(own_connection, commit=True):
        _schema(own_connection)

    assert _server_schema(own_connection) == other_organization.schema_name
    assert own_connection.search_path_set_schemas == [other_organization.schema_name, "public"]


@pytest.mark.parametrize("statement", ["executemany", "copy", "stream"])
def test_statements_that_cannot_carry_it_send_the_set_first(own_connection, other_organization, statement):
    own_connection.set_tenant(other_organization)
    with in_transaction(own_connection), own_connection.cursor() as cursor:
        if statement == "executemany":
            cursor.executemany("SELECT %s", [(1,), (2,)])
        elif statement == "copy":
            with cursor.copy("COPY (SELECT current_schema()) TO STDOUT") as copy:
                rows = list(copy.rows())
            assert rows == [(other_organization.schema_name,)]
        else:
            assert list(cursor.stream("SELECT current_schema()")) == [(other_organization.schema_name,)]
        assert _server_schema(own_connection) == other_organization.schema_name


def test_a_server_side_cursor_after_a_pending_set_reads_the_new_organization(
    own_connection, other_organization
):
    own_connection.set_tenant(other_organization)
    own_connection.cursor().close()  # leaves the SET pending
    with in_transaction(own_connection):
        cursor = own_connection.chunked_cursor()
        cursor.execute("SELECT current_schema()")
        schema = cursor.fetchone()[0]
        cursor.close()

    assert schema == other_organization.schema_name
