"""The template that organizations are cloned from must equal a schema built by migrations."""

from django.core.management import call_command
from django.db import connection

from tenants.models import Organization


def _columns(schema: str) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT table_name, column_name, data_type, is_nullable, column_default IS NOT NULL
            FROM information_schema.columns WHERE table_schema = %s
            ORDER BY table_name, column_name
            """,
            [schema],
        )
        return cursor.fetchall()


def _index_definitions(schema: str) -> list[str]:
    """Index definitions without their names, which may differ after a clone."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT replace(indexdef, %s, '') FROM pg_indexes WHERE schemaname = %s", [f"{schema}.", schema]
        )
        return sorted(definition.split(" ON ", 1)[1] for (definition,) in cursor.fetchall())


def _constraint_definitions(schema: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT c.relname, replace(pg_get_constraintdef(k.oid), %s, '')
            FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
            JOIN pg_namespace n ON n.oid = k.connamespace WHERE n.nspname = %s
            """,
            [f"{schema}.", schema],
        )
        return sorted(f"{table}: {definition}" for table, definition in cursor.fetchall())


def test_cloned_schema_matches_a_migrated_one(organization: Organization):
    with connection.cursor() as cursor:
        cursor.execute('CREATE SCHEMA "migrated_probe"')
    call_command("migrate_schemas", schema_name="migrated_probe", tenant=True, interactive=False, verbosity=0)
    connection.set_schema_to_public()

    assert _columns(organization.schema_name) == _columns("migrated_probe")
    assert len(_columns("migrated_probe")) > 40
    assert _index_definitions(organization.schema_name) == _index_definitions("migrated_probe")
    assert _constraint_definitions(organization.schema_name) == _constraint_definitions("migrated_probe")
    assert any("FOREIGN KEY" in row for row in _constraint_definitions("migrated_probe"))
