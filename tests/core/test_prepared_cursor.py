"""connection.prepared_cursor() (core.postgresql_backend) on a connection of the test's own,
outside the test's transaction."""

import pytest
from django.db import OperationalError, connections
from django.db.backends.postgresql.base import ServerBindingCursor

from loyalty_platform.core.postgresql_backend.base import PREPARE_AFTER_CALLS_IN_SCHEMA


@pytest.fixture
def own_connection():
    wrapper = connections.create_connection("default")
    yield wrapper
    wrapper.close()


def test_a_lost_connection_while_the_search_path_is_set_raises_djangos_operational_error(
    own_connection, organization, other_organization
):
    own_connection.set_tenant(organization)
    with own_connection.prepared_cursor() as cursor:
        cursor.execute("SELECT current_schema()")
        assert cursor.fetchone() == (organization.schema_name,)
    own_connection.connection.close()  # the server went away
    own_connection.set_tenant(other_organization)  # the next cursor sets the search path first

    with pytest.raises(OperationalError), own_connection.prepared_cursor() as cursor:
        cursor.execute("SELECT 1")

    assert own_connection.errors_occurred is True


def test_a_prepared_cursor_reads_the_schema_of_the_organization_set_last(
    own_connection, organization, other_organization
):
    schemas = []
    for tenant in (organization, other_organization, organization):
        own_connection.set_tenant(tenant)
        with own_connection.prepared_cursor() as cursor:
            cursor.execute("SELECT current_schema()")
            schemas.append(cursor.fetchone()[0])

    assert schemas == [organization.schema_name, other_organization.schema_name, organization.schema_name]


def _prepares(wrapper) -> bool:
    with wrapper.prepared_cursor() as cursor:
        cursor.execute("SELECT current_schema()")
        return isinstance(cursor.cursor, ServerBindingCursor)


def test_statements_are_prepared_only_where_the_connection_stays(
    own_connection, organization, other_organization
):
    """A prepared statement run under another search path is planned again, so a connection
    that moves between organizations at every call never prepares; one that stays prepares
    after PREPARE_AFTER_CALLS_IN_SCHEMA calls, and keeps its plans for when it comes back."""
    alternating = []
    for index in range(2 * PREPARE_AFTER_CALLS_IN_SCHEMA):
        own_connection.set_tenant(organization if index % 2 == 0 else other_organization)
        alternating.append(_prepares(own_connection))
    own_connection.set_tenant(organization)
    staying = [_prepares(own_connection) for _ in range(PREPARE_AFTER_CALLS_IN_SCHEMA)]
    own_connection.set_tenant(other_organization)
    elsewhere = _prepares(own_connection)
    own_connection.set_tenant(organization)
    back = _prepares(own_connection)

    assert alternating == [False] * (2 * PREPARE_AFTER_CALLS_IN_SCHEMA)
    assert staying == [False] * (PREPARE_AFTER_CALLS_IN_SCHEMA - 1) + [True]
    assert (elsewhere, back) == (False, True)
