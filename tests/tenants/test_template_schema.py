"""A cloned organization's schema must equal the template, and the template a schema built by
migrations: same names and definitions of tables, columns, defaults, constraints, indexes and
sequences, read from pg_catalog with each schema's own name taken out."""

import pytest
from django.core.management import call_command
from django.db import connection
from django_tenants.clone import CloneSchema
from psycopg import sql

from tenants.schema_copy import (
    SchemaCopyError,
    schema_copy,
    schema_names_restore,
    schemas_without_template_names,
)
from tenants.services import organization_create

# Each query runs with the described schema alone on the search path, so definitions name
# its objects without a schema and two schemas compare as text.
CATALOG = {
    "tables": """
        SELECT relname, relkind, relpersistence, reloptions::text, relreplident, relowner::regrole::text,
               relacl::text
          FROM pg_class WHERE relnamespace = %(oid)s""",
    "columns": """
        SELECT c.relname, a.attname,
               row_number() OVER (PARTITION BY c.oid ORDER BY a.attnum),
               format_type(a.atttypid, a.atttypmod), a.attnotnull, a.attidentity, a.attgenerated,
               a.attstorage, a.attcompression, co.collname, pg_get_expr(d.adbin, d.adrelid)
          FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
          LEFT JOIN pg_collation co ON co.oid = a.attcollation
          LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
         WHERE c.relnamespace = %(oid)s AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped""",
    "constraints": """
        SELECT c.relname, k.conname, k.contype, pg_get_constraintdef(k.oid), i.relname
          FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
          LEFT JOIN pg_class i ON i.oid = k.conindid
         WHERE k.connamespace = %(oid)s""",
    "indexes": """
        SELECT c.relname, x.relname,
               replace(pg_get_indexdef(i.indexrelid), format(' ON %%I.', n.nspname), ' ON '),
               i.indisunique, i.indisprimary, i.indimmediate
          FROM pg_index i JOIN pg_class x ON x.oid = i.indexrelid JOIN pg_class c ON c.oid = i.indrelid
          JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE c.relnamespace = %(oid)s""",
    "sequences": """
        SELECT s.relname, format_type(q.seqtypid, NULL), q.seqstart, q.seqincrement, q.seqmin,
               q.seqmax, q.seqcache, q.seqcycle, d.deptype, t.relname, a.attname
          FROM pg_sequence q JOIN pg_class s ON s.oid = q.seqrelid
          LEFT JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = s.oid
               AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('i', 'a')
          LEFT JOIN pg_class t ON t.oid = d.refobjid
          LEFT JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
         WHERE s.relnamespace = %(oid)s""",
    "sequence values": """
        SELECT relname, pg_sequence_last_value(oid) FROM pg_class
         WHERE relnamespace = %(oid)s AND relkind = 'S'""",
    "triggers": """
        SELECT c.relname, t.tgname, t.tgisinternal, t.tgfoid::regproc::text
          FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
         WHERE c.relnamespace = %(oid)s AND NOT t.tgisinternal""",
}


def schema_catalog(schema: str) -> dict[str, list[tuple]]:
    described = {}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT oid, current_setting('search_path') FROM pg_namespace WHERE nspname = %s", [schema]
        )
        oid, search_path = cursor.fetchone()
        cursor.execute(
            "SELECT set_config('search_path', %s, false)",
            [sql.Identifier(schema).as_string(cursor.connection)],
        )
        try:
            for part, query in CATALOG.items():
                cursor.execute(query, {"oid": oid})
                described[part] = sorted(cursor.fetchall(), key=repr)
        finally:
            cursor.execute("SELECT set_config('search_path', %s, false)", [search_path])
    return described


def rows(schema: str, table: str) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(
            sql.SQL("SELECT * FROM {}.{} ORDER BY 1").format(sql.Identifier(schema), sql.Identifier(table))
        )
        return cursor.fetchall()


def assert_same_catalog(actual: dict, expected: dict) -> None:
    assert actual.keys() == expected.keys()
    for part in expected:
        missing = sorted(set(expected[part]) - set(actual[part]), key=repr)
        extra = sorted(set(actual[part]) - set(expected[part]), key=repr)
        assert (part, missing, extra) == (part, [], [])
        assert actual[part] == expected[part]


def test_the_template_holds_what_the_migrations_name(db):
    template = schema_catalog("template")
    assert (
        "programs_card",
        "one_card_per_program",
        "u",
        "UNIQUE (customer_id, program_id)",
        "one_card_per_program",
    ) in template["constraints"]
    assert any(row[1] == "idempotency_endpoint_external_id" for row in template["constraints"])
    assert any(row[1] == "customer_email_ci_unique" for row in template["indexes"])
    assert (
        "auth_group_id_seq",
        "integer",
        1,
        1,
        1,
        2147483647,
        1,
        False,
        "i",
        "auth_group",
        "id",
    ) in template["sequences"]
    assert len(template["columns"]) > 200
    assert {row[2] for row in template["constraints"]} >= {"p", "u", "c", "f"}


def test_a_new_organization_is_an_exact_copy_of_the_template(db):
    organization = organization_create(slug="clone-probe", name="Clone probe")

    assert_same_catalog(schema_catalog(organization.schema_name), schema_catalog("template"))
    for table in ("django_content_type", "auth_permission", "django_migrations"):
        assert rows(organization.schema_name, table) == rows("template", table)
        assert len(rows("template", table)) > 20
    assert schemas_without_template_names([organization.schema_name, "template"]) == ["template"]


# Committed, not in the test's transaction: some migrations build indexes CONCURRENTLY,
# which PostgreSQL refuses inside a transaction block.
def test_the_template_equals_a_schema_built_by_migrations(committed_db):
    with connection.cursor() as cursor:
        cursor.execute('DROP SCHEMA IF EXISTS "migrated_probe" CASCADE')
        cursor.execute('CREATE SCHEMA "migrated_probe"')
    try:
        call_command(
            "migrate_schemas", schema_name="migrated_probe", tenant=True, interactive=False, verbosity=0
        )
        connection.set_schema_to_public()
        migrated = schema_catalog("migrated_probe")
        template = schema_catalog("template")
    finally:
        connection.set_schema_to_public()
        with connection.cursor() as cursor:
            cursor.execute('DROP SCHEMA "migrated_probe" CASCADE')
    # Values depend on the rows each holds (content types, permissions): compared above for clones.
    del migrated["sequence values"], template["sequence values"]
    for part in migrated:
        assert (part, sorted(set(template[part]) - set(migrated[part]), key=repr)) == (part, [])
        assert (part, sorted(set(migrated[part]) - set(template[part]), key=repr)) == (part, [])


@pytest.mark.parametrize(
    ("statement", "refusal"),
    [
        ("CREATE VIEW item_view AS SELECT id FROM item", "relation of kind v item_view"),
        ("GRANT SELECT ON item TO public", "relation with privileges granted or another owner item"),
        ("CREATE FUNCTION one() RETURNS int LANGUAGE sql AS 'SELECT 1'", "function one"),
        ("CREATE TYPE mood AS ENUM ('happy')", "type mood"),
        ("COMMENT ON COLUMN item.id IS 'the key'", "comment item"),
    ],
)
def test_a_template_with_objects_the_copy_leaves_out_is_refused(db, statement, refusal):
    with connection.cursor() as cursor:
        cursor.execute('CREATE SCHEMA "copy_source_probe"')
        cursor.execute('SET LOCAL search_path = "copy_source_probe"')
        cursor.execute("CREATE TABLE item (id integer PRIMARY KEY)")
        cursor.execute(statement)
        cursor.execute("SET LOCAL search_path = public")

    with pytest.raises(SchemaCopyError, match=refusal):
        schema_copy(source="copy_source_probe", target="copy_target_probe")

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_namespace WHERE nspname = 'copy_target_probe'")
        assert cursor.fetchone() == (0,)


def test_the_copy_keeps_names_postgresql_would_not_choose(db):
    """What migrations leave behind: a renamed table whose identity sequence and not-null
    constraints keep the old names, a sequence of its own behind a default, named checks and
    uniques, expression and partial indexes, a generated column, a self reference, rows."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            CREATE SCHEMA "copy_source_probe";
            SET LOCAL search_path = "copy_source_probe";
            CREATE TABLE old_item (
                id integer GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
                code text NOT NULL,
                parent_id integer,
                price numeric(10, 2) DEFAULT 0 CONSTRAINT price_not_negative CHECK (price >= 0),
                doubled numeric GENERATED ALWAYS AS (price * 2) STORED
            );
            ALTER TABLE old_item RENAME TO item;
            CREATE SEQUENCE ticket_seq AS smallint INCREMENT BY 5 START WITH 100 MAXVALUE 30000;
            ALTER TABLE item ADD COLUMN ticket smallint DEFAULT nextval('ticket_seq');
            ALTER SEQUENCE ticket_seq OWNED BY item.ticket;
            ALTER TABLE item ADD CONSTRAINT item_code_per_parent UNIQUE (parent_id, code);
            ALTER TABLE item ADD CONSTRAINT item_parent FOREIGN KEY (parent_id) REFERENCES item (id)
                DEFERRABLE INITIALLY DEFERRED;
            CREATE UNIQUE INDEX item_code_ci ON item (upper(code)) WHERE parent_id IS NULL;
            INSERT INTO item (code, price) VALUES ('a', 1), ('b', 2);
            SET LOCAL search_path = public;
            """
        )
    source = schema_catalog("copy_source_probe")
    assert ("old_item_id_seq", "integer", 1, 1, 1, 2147483647, 1, False, "i", "item", "id") in source[
        "sequences"
    ]

    schema_copy(source="copy_source_probe", target="copy_target_probe")

    assert_same_catalog(schema_catalog("copy_target_probe"), source)
    assert rows("copy_target_probe", "item") == rows("copy_source_probe", "item")
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO copy_target_probe.item (code) VALUES ('c') RETURNING id, ticket")
        assert cursor.fetchone() == (3, 110)
        cursor.execute("SELECT count(*) FROM copy_source_probe.item")
        assert cursor.fetchone() == (2,)


def test_an_organization_cloned_the_old_way_gets_the_template_names_back(db):
    CloneSchema().clone_schema("template", "old_clone_probe")
    old = schema_catalog("old_clone_probe")
    assert ("programs_card", "programs_card_customer_id_program_id_key") in {
        row[:2] for row in old["constraints"]
    }

    # migrate_platform restores only the schemas not marked as having the template's names.
    assert schemas_without_template_names(["old_clone_probe"]) == ["old_clone_probe"]

    changes = schema_names_restore(schema="old_clone_probe", template="template")

    assert schemas_without_template_names(["old_clone_probe"]) == []
    # 1 of them is django-otp's sequence, 4 the unique constraints of the reports app's rollups,
    # 5 those of the campaigns app (run key, grant and message once per run, list member, run
    # audience), 1 the webhooks app's delivery once per event and endpoint.
    assert len(changes) == 25
    assert (
        "constraint programs_card.programs_card_customer_id_program_id_key -> one_card_per_program" in changes
    )
    assert "sequence auth_group_id_seq options" in changes
    restored, template = schema_catalog("old_clone_probe"), schema_catalog("template")
    # That clone also spelled the owner's privileges out as grants: the same rights, left as they are.
    assert "{postgres=arwdDxtm/postgres}" in {row[-1] for row in restored["tables"]}
    assert [row[:-1] for row in restored.pop("tables")] == [row[:-1] for row in template.pop("tables")]
    assert_same_catalog(restored, template)
    assert schema_names_restore(schema="old_clone_probe", template="template") == []
