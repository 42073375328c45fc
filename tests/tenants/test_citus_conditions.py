"""The conditions Citus schema-based sharding needs (issue 19): each organization's schema can
become a distributed schema living on one node only if no foreign key leaves it and no statement
run for an organization mixes its tables with public tables that exist only on the coordinator."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.conftest import host_of
from tests.pos_fixtures import PosClient, create_customer, issue_key

CROSS_SCHEMA_FOREIGN_KEYS = """
    SELECT source_schema.nspname || '.' || source.relname || ' ' || foreign_key.conname
           || ' -> ' || target_schema.nspname || '.' || target.relname
    FROM pg_constraint foreign_key
    JOIN pg_class source ON source.oid = foreign_key.conrelid
    JOIN pg_namespace source_schema ON source_schema.oid = source.relnamespace
    JOIN pg_class target ON target.oid = foreign_key.confrelid
    JOIN pg_namespace target_schema ON target_schema.oid = target.relnamespace
    WHERE foreign_key.contype = 'f' AND source_schema.nspname <> target_schema.nspname
    ORDER BY 1
"""

TABLES_OF_SCHEMA = """
    SELECT table_name FROM information_schema.tables
    WHERE table_schema = %s AND table_type = 'BASE TABLE'
"""

IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]*")


def _tables(schema: str) -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(TABLES_OF_SCHEMA, [schema])
        return {name for (name,) in cursor.fetchall()}


def test_no_foreign_key_leaves_a_schema(organization, other_organization):
    with connection.cursor() as cursor:
        cursor.execute(CROSS_SCHEMA_FOREIGN_KEYS)
        assert cursor.fetchall() == []


def test_the_check_sees_a_foreign_key_that_leaves_a_schema(organization):
    """The query above would name such a key: made here, in the test's own transaction."""
    schema = organization.schema_name
    with connection.cursor() as cursor:
        cursor.execute(
            f'CREATE TABLE "{schema}".citus_probe '
            "(organization_id bigint REFERENCES public.tenants_organization (id))"
        )
        cursor.execute(CROSS_SCHEMA_FOREIGN_KEYS)
        found = [row for (row,) in cursor.fetchall()]
    assert len(found) == 1 and found[0].startswith(f"{schema}.citus_probe ")
    assert found[0].endswith(" -> public.tenants_organization")


def _mixed_statements(statements: list[str], tenant_tables: set[str], public_only: set[str]) -> list[str]:
    mixed = []
    for sql in statements:
        names = set(IDENTIFIER.findall(sql.lower()))
        if names & tenant_tables and names & public_only:
            mixed.append(sql)
    return mixed


def test_no_statement_for_an_organization_joins_a_coordinator_only_table(organization, programs):
    """An earn, a look-up and a redeem through the POS API, and the customer's profile page:
    every statement touches either the organization's tables or public ones, never both."""
    tenant_tables = _tables(organization.schema_name)
    public_only = _tables("public") - tenant_tables
    assert "customers_customer" in tenant_tables and "tenants_organization" in public_only
    customer = create_customer(organization, points=500)
    pos = PosClient(host_of(organization), issue_key(organization))

    with CaptureQueriesContext(connection) as queries:
        earned = pos.post(
            "/webhook/pos", {"customer_code": customer.customer_code, "amount": 10, "external_id": "citus-1"}
        )
        looked_up = pos.get("/webhook/customer", {"code": customer.customer_code})
    assert earned.status_code == 200 and looked_up.status_code == 200
    statements = [query["sql"] for query in queries.captured_queries]
    assert any("customers_customer" in sql for sql in statements)
    assert _mixed_statements(statements, tenant_tables, public_only) == []


@pytest.mark.parametrize(
    "sql, mixed",
    [
        ('SELECT 1 FROM "customers_customer" JOIN "tenants_organization" ON true', True),
        ('SELECT 1 FROM "customers_customer"', False),
        ('SELECT 1 FROM "tenants_domain" JOIN "tenants_organization" ON true', False),
    ],
)
def test_a_statement_is_mixed_only_when_it_names_both_kinds_of_table(sql, mixed):
    found = _mixed_statements([sql], {"customers_customer"}, {"tenants_organization", "tenants_domain"})
    assert bool(found) is mixed
