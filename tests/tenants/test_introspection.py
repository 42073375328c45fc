"""The backend's table list reads the schema's namespace (core.postgresql_backend
SchemaIntrospection) and lists exactly what django-tenants' search-path version lists."""

from django.db import connection
from django_tenants.postgresql_backend.introspection import DatabaseSchemaIntrospection

from loyalty_platform.core.postgresql_backend.base import SchemaIntrospection


def _both(schema_name: str) -> tuple[list, list]:
    connection.set_schema(schema_name)
    with connection.cursor() as cursor:
        ours = sorted(SchemaIntrospection(connection).get_table_list(cursor))
        theirs = sorted(DatabaseSchemaIntrospection(connection).get_table_list(cursor))
    return ours, theirs


def test_the_table_list_of_an_organization_and_of_public_is_the_search_paths(db, organization):
    assert isinstance(connection.introspection, SchemaIntrospection)
    for schema_name in (organization.schema_name, "public"):
        ours, theirs = _both(schema_name)
        assert ours == theirs
        assert len(ours) > 20
    assert ("customers_customer", "t", None) in _both(organization.schema_name)[0]
    assert "customers_customer" not in {table.name for table in _both("public")[0]}


def test_a_schema_that_does_not_exist_has_no_tables(db):
    assert _both("no_such_schema") == ([], [])
