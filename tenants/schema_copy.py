"""Copy a schema (structure and rows) into a new schema with every name kept.

It replaces django-tenants' `clone_schema()`, which builds each table with
`CREATE TABLE ... (LIKE ... INCLUDING ALL)`: PostgreSQL then names unique constraints after
their columns (`programs_card_customer_id_program_id_key` instead of the migration's
`one_card_per_program`) and the copied integer identity sequences come out as bigint.

Here everything is read from pg_catalog and replayed under its original name: tables, column
defaults, identity and other sequences (options, ownership, current values), constraints
(primary key, unique, exclusion, check, foreign key, not-null) and indexes. Definitions are
printed with the source schema on the search path, so references to its own objects come out
unqualified, and run with the new schema on the search path, so they resolve there. A source
holding anything this module does not copy (views, functions, triggers, types, comments, ...)
is refused with SchemaCopyError instead of being copied incompletely.
"""

from dataclasses import dataclass

from django.db import connection, transaction
from django.db.backends.utils import CursorWrapper
from django_tenants.utils import schema_exists
from psycopg import sql


class SchemaCopyError(RuntimeError):
    """The source schema holds objects this copy does not reproduce."""


# Objects of the source schema that the copy would silently leave out.
_UNSUPPORTED = """
SELECT 'relation of kind ' || relkind::text, relname::text FROM pg_class
 WHERE relnamespace = %(src)s AND relkind NOT IN ('r', 'i', 'S')
UNION ALL SELECT 'unlogged or temporary table', relname FROM pg_class
 WHERE relnamespace = %(src)s AND relpersistence <> 'p'
UNION ALL SELECT 'table with storage options', relname FROM pg_class
 WHERE relnamespace = %(src)s AND relkind IN ('r', 'i') AND reloptions IS NOT NULL
UNION ALL SELECT 'relation with privileges granted or another owner', relname FROM pg_class
 WHERE relnamespace = %(src)s AND (relacl IS NOT NULL OR relowner <> current_user::regrole)
UNION ALL SELECT 'inheritance', c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
 WHERE c.relnamespace = %(src)s
UNION ALL SELECT 'function', proname FROM pg_proc WHERE pronamespace = %(src)s
UNION ALL SELECT 'type', t.typname FROM pg_type t
 WHERE t.typnamespace = %(src)s AND t.typrelid = 0
   AND NOT EXISTS (SELECT FROM pg_type e WHERE e.oid = t.typelem AND e.typrelid <> 0)
UNION ALL SELECT 'trigger', t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
 WHERE c.relnamespace = %(src)s AND NOT t.tgisinternal
UNION ALL SELECT 'rule', r.rulename FROM pg_rewrite r JOIN pg_class c ON c.oid = r.ev_class
 WHERE c.relnamespace = %(src)s
UNION ALL SELECT 'row security policy', p.polname FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid
 WHERE c.relnamespace = %(src)s
UNION ALL SELECT 'extended statistics', stxname FROM pg_statistic_ext WHERE stxnamespace = %(src)s
UNION ALL SELECT 'comment', c.relname FROM pg_description d JOIN pg_class c ON c.oid = d.objoid
 WHERE d.classoid = 'pg_class'::regclass AND c.relnamespace = %(src)s
UNION ALL SELECT 'constraint of kind ' || contype::text, conname FROM pg_constraint
 WHERE connamespace = %(src)s AND (contype NOT IN ('p', 'u', 'x', 'c', 'f', 'n') OR conrelid = 0)
UNION ALL SELECT 'clustered or replica identity index', c.relname FROM pg_index i
  JOIN pg_class c ON c.oid = i.indexrelid
 WHERE c.relnamespace = %(src)s AND (i.indisclustered OR i.indisreplident)
UNION ALL SELECT 'table with column statistics target', c.relname FROM pg_attribute a
  JOIN pg_class c ON c.oid = a.attrelid
 WHERE c.relnamespace = %(src)s AND a.attstattarget IS NOT NULL AND a.attstattarget >= 0
"""

_TABLES = """
SELECT c.relname,
       string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum)
         FILTER (WHERE a.attgenerated = '')
  FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
 WHERE c.relnamespace = %(src)s AND c.relkind = 'r'
 GROUP BY c.relname ORDER BY c.relname
"""

_DEFAULTS = """
SELECT c.relname, a.attname, pg_get_expr(d.adbin, d.adrelid)
  FROM pg_attrdef d
  JOIN pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum
  JOIN pg_class c ON c.oid = d.adrelid
 WHERE c.relnamespace = %(src)s AND a.attgenerated = ''
 ORDER BY c.relname, a.attnum
"""

# Sequences with the column they belong to (`deptype` 'i': identity, 'a': OWNED BY).
_SEQUENCES = """
SELECT s.relname, format_type(q.seqtypid, NULL), q.seqincrement, q.seqmin, q.seqmax,
       q.seqstart, q.seqcache, q.seqcycle, pg_sequence_last_value(s.oid),
       d.deptype, t.relname, a.attname
  FROM pg_sequence q JOIN pg_class s ON s.oid = q.seqrelid
  LEFT JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = s.oid
       AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('i', 'a')
  LEFT JOIN pg_class t ON t.oid = d.refobjid
  LEFT JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
 WHERE s.relnamespace = %(src)s
 ORDER BY s.relname
"""

_IDENTITY_SEQUENCES = """
SELECT t.relname, a.attname, s.relname
  FROM pg_depend d
  JOIN pg_class s ON s.oid = d.objid
  JOIN pg_class t ON t.oid = d.refobjid
  JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
 WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass
   AND d.deptype = 'i' AND s.relnamespace = %(src)s
"""

# PostgreSQL 18 records NOT NULL as a named constraint, which LIKE copies under a name of its own.
_NOT_NULL = """
SELECT c.relname, a.attname, k.conname
  FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
  JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = k.conkey[1]
 WHERE k.connamespace = %(src)s AND k.contype = 'n'
"""

# Index-backed constraints first, foreign keys (which need the referenced keys) last.
_CONSTRAINTS = """
SELECT c.relname, k.conname, k.contype, pg_get_constraintdef(k.oid)
  FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
 WHERE k.connamespace = %(src)s AND k.contype IN ('p', 'u', 'x', 'c', 'f', 'n')
 ORDER BY CASE k.contype WHEN 'f' THEN 1 ELSE 0 END, c.relname, k.conname
"""

# Indexes of their own: those behind a primary key, unique or exclusion constraint come with it.
_INDEXES = """
SELECT pg_get_indexdef(i.indexrelid), format(' ON %%I.%%I ', %(src_name)s::text, c.relname),
       format(' ON %%I.%%I ', %(dst_name)s::text, c.relname)
  FROM pg_index i JOIN pg_class x ON x.oid = i.indexrelid JOIN pg_class c ON c.oid = i.indrelid
 WHERE x.relnamespace = %(src)s
   AND NOT EXISTS (SELECT FROM pg_constraint k
                    WHERE k.conindid = i.indexrelid AND k.contype IN ('p', 'u', 'x'))
 ORDER BY x.relname
"""


@dataclass(frozen=True)
class _Catalog:
    """The source schema as read by the queries above, one list of rows each."""

    tables: list[tuple]
    defaults: list[tuple]
    sequences: list[tuple]
    identities: list[tuple]
    not_nulls: list[tuple]
    constraints: list[tuple]
    indexes: list[tuple]


def _fetch(cursor: CursorWrapper, query: str, source_oid: int, **names: str) -> list[tuple]:
    cursor.execute(query, {"src": source_oid, **names})
    return cursor.fetchall()


def _quoted(cursor: CursorWrapper, *names: str) -> str:
    """A (qualified) name quoted as PostgreSQL prints it."""
    return sql.Identifier(*names).as_string(cursor.connection)


def _set_search_path(cursor: CursorWrapper, path: str) -> None:
    cursor.execute("SELECT set_config('search_path', %s, false)", [path])


def _run(cursor: CursorWrapper, statements: list[sql.Composable]) -> None:
    if statements:
        # Without parameters PostgreSQL takes several statements in one round trip.
        cursor.execute(sql.SQL(";\n").join(statements).as_string(cursor.connection))


def schema_copy(*, source: str, target: str) -> None:
    """Create schema `target` as an exact copy of `source`: structure, names and rows."""
    if schema_exists(target, case_sensitive=False):
        raise SchemaCopyError(f"schema {target!r} already exists")
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT oid, current_setting('search_path') FROM pg_namespace WHERE nspname = %s", [source]
        )
        row = cursor.fetchone()
        if row is None:
            raise SchemaCopyError(f"schema {source!r} does not exist")
        source_oid, search_path_before = row
        unsupported = _fetch(cursor, _UNSUPPORTED, source_oid)
        if unsupported:
            listed = ", ".join(f"{kind} {name}" for kind, name in unsupported[:10])
            raise SchemaCopyError(f"schema {source!r} holds objects the copy does not reproduce: {listed}")
        # Definitions printed from here name the source's own objects without a schema. On an
        # error the rollback undoes the search_path too (a SET is transactional); resetting it
        # in the aborted transaction would only hide the error behind InFailedSqlTransaction.
        _set_search_path(cursor, _quoted(cursor, source))
        catalog = _Catalog(
            tables=_fetch(cursor, _TABLES, source_oid),
            defaults=_fetch(cursor, _DEFAULTS, source_oid),
            sequences=_fetch(cursor, _SEQUENCES, source_oid),
            identities=_fetch(cursor, _IDENTITY_SEQUENCES, source_oid),
            not_nulls=_fetch(cursor, _NOT_NULL, source_oid),
            constraints=_fetch(cursor, _CONSTRAINTS, source_oid),
            indexes=_fetch(cursor, _INDEXES, source_oid, src_name=source, dst_name=target),
        )
        _set_search_path(cursor, _quoted(cursor, target))
        _copy(cursor, source, target, catalog)
        _set_search_path(cursor, search_path_before)


def _sequence_alter(
    schema: sql.Identifier, name: str, type_name, increment, minimum, maximum, start, cache, cycle
) -> sql.Composable:
    numbers = (sql.SQL(str(int(number))) for number in (increment, minimum, maximum, start, cache))
    return sql.SQL(
        "ALTER SEQUENCE {}.{} AS {} INCREMENT BY {} MINVALUE {} MAXVALUE {} START WITH {} CACHE {} {}"
    ).format(
        schema, sql.Identifier(name), sql.SQL(type_name), *numbers, sql.SQL("CYCLE" if cycle else "NO CYCLE")
    )


# The schema's comment once its names are the template's (a copy, or an old clone restored),
# so that migrate_platform restores only the schemas that lack it: the restore reads the
# catalogs by namespace, which no catalog index serves, and 1,000 organizations made that pass
# take 0.9 s each (bench/many_orgs.py).
TEMPLATE_NAMES_MARK = "loyalty-platform: names as the template's"


def _mark_template_names(schema: sql.Identifier) -> sql.Composable:
    return sql.SQL("COMMENT ON SCHEMA {} IS {}").format(schema, sql.Literal(TEMPLATE_NAMES_MARK))


def schemas_without_template_names(schemas: list[str]) -> list[str]:
    """Those of `schemas` (in their order) whose names may differ from the template's."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nspname FROM pg_namespace WHERE nspname = ANY(%s)"
            " AND obj_description(oid, 'pg_namespace') IS NOT DISTINCT FROM %s",
            [schemas, TEMPLATE_NAMES_MARK],
        )
        marked = {name for (name,) in cursor.fetchall()}
    return [schema for schema in schemas if schema not in marked]


def _copy(cursor: CursorWrapper, source: str, target: str, catalog: _Catalog) -> None:
    src, dst = sql.Identifier(source), sql.Identifier(target)
    statements: list[sql.Composable] = [sql.SQL("CREATE SCHEMA {}").format(dst), _mark_template_names(dst)]
    for name, *_, deptype, _, _ in catalog.sequences:
        if deptype != "i":  # an identity sequence comes with its table
            statements.append(sql.SQL("CREATE SEQUENCE {}.{}").format(dst, sql.Identifier(name)))
    # Identity, generated expressions, storage and compression come with LIKE; defaults are
    # set below so that a nextval() names the new schema's sequence, not the source's.
    for table, _ in catalog.tables:
        statements.append(
            sql.SQL(
                "CREATE TABLE {}.{} (LIKE {}.{} INCLUDING IDENTITY INCLUDING GENERATED"
                " INCLUDING STORAGE INCLUDING COMPRESSION)"
            ).format(dst, sql.Identifier(table), src, sql.Identifier(table))
        )
    _run(cursor, statements)

    # LIKE names identity sequences after the new table; give them the source's names.
    cursor.execute("SELECT oid FROM pg_namespace WHERE nspname = %s", [target])
    (target_oid,) = cursor.fetchone()
    created = {
        (table, column): name for table, column, name in _fetch(cursor, _IDENTITY_SEQUENCES, target_oid)
    }
    statements = [
        sql.SQL("ALTER SEQUENCE {}.{} RENAME TO {}").format(
            dst, sql.Identifier(created[table, column]), sql.Identifier(name)
        )
        for table, column, name in catalog.identities
        if created[table, column] != name
    ]
    # Options for all, including identity sequences, whose type LIKE does not copy.
    for name, *options, _, _, _, _ in catalog.sequences:
        statements.append(_sequence_alter(dst, name, *options))
    copied = {(table, column): name for table, column, name in _fetch(cursor, _NOT_NULL, target_oid)}
    statements += [
        sql.SQL("ALTER TABLE {}.{} RENAME CONSTRAINT {} TO {}").format(
            dst, sql.Identifier(table), sql.Identifier(copied[table, column]), sql.Identifier(name)
        )
        for table, column, name in catalog.not_nulls
        if copied[table, column] != name
    ]
    for table, column, expression in catalog.defaults:
        statements.append(
            sql.SQL("ALTER TABLE {}.{} ALTER COLUMN {} SET DEFAULT {}").format(
                dst, sql.Identifier(table), sql.Identifier(column), sql.SQL(expression)
            )
        )
    for table, columns in catalog.tables:
        statements.append(
            sql.SQL("INSERT INTO {}.{} ({}) OVERRIDING SYSTEM VALUE SELECT {} FROM {}.{}").format(
                dst, sql.Identifier(table), sql.SQL(columns), sql.SQL(columns), src, sql.Identifier(table)
            )
        )
    for name, *_, last_value, deptype, table, column in catalog.sequences:
        if deptype == "a":
            statements.append(
                sql.SQL("ALTER SEQUENCE {}.{} OWNED BY {}.{}.{}").format(
                    dst, sql.Identifier(name), dst, sql.Identifier(table), sql.Identifier(column)
                )
            )
        if last_value is not None:
            statements.append(
                sql.SQL("SELECT setval({}, {}, true)").format(
                    sql.Literal(_quoted(cursor, target, name)), sql.SQL(str(int(last_value)))
                )
            )
    for table, name, contype, definition in catalog.constraints:
        if contype == "n":
            continue  # LIKE copied it, renamed above
        statements.append(
            sql.SQL("ALTER TABLE {}.{} ADD CONSTRAINT {} {}").format(
                dst, sql.Identifier(table), sql.Identifier(name), sql.SQL(definition)
            )
        )
    for definition, on_source, on_target in catalog.indexes:
        statements.append(sql.SQL(definition.replace(on_source, on_target, 1)))
    _run(cursor, statements)


# Constraints and indexes by what they are, for matching two schemas' names. Printed with the
# described schema on the search path, so its name is not in the definitions.
_NAMED_CONSTRAINTS = """
SELECT c.relname, k.contype, pg_get_constraintdef(k.oid), k.conname
  FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
 WHERE k.connamespace = %(src)s
"""

_NAMED_INDEXES = """
SELECT c.relname, replace(pg_get_indexdef(i.indexrelid), format('INDEX %%I ON %%I.', x.relname, n.nspname),
                          'INDEX ON '), x.relname
  FROM pg_index i JOIN pg_class x ON x.oid = i.indexrelid JOIN pg_class c ON c.oid = i.indrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE x.relnamespace = %(src)s
   AND NOT EXISTS (SELECT FROM pg_constraint k
                    WHERE k.conindid = i.indexrelid AND k.contype IN ('p', 'u', 'x'))
"""


def _names_by_definition(cursor: CursorWrapper, schema: str) -> tuple[dict, dict, dict]:
    cursor.execute("SELECT oid FROM pg_namespace WHERE nspname = %s", [schema])
    (oid,) = cursor.fetchone()
    _set_search_path(cursor, _quoted(cursor, schema))
    constraints: dict[tuple, list[str]] = {}
    for table, contype, definition, name in _fetch(cursor, _NAMED_CONSTRAINTS, oid):
        constraints.setdefault((table, contype, definition), []).append(name)
    indexes: dict[tuple, list[str]] = {}
    for table, definition, name in _fetch(cursor, _NAMED_INDEXES, oid):
        indexes.setdefault((table, definition), []).append(name)
    sequences = {row[0]: row[1:8] for row in _fetch(cursor, _SEQUENCES, oid)}
    return constraints, indexes, sequences


def schema_names_restore(*, schema: str, template: str) -> list[str]:
    """Give `schema`'s constraints, indexes and sequences the template's names and sequence
    options wherever the definitions match one to one. For organizations cloned before
    schema_copy existed; a no-op on one that already matches. Returns what it changed."""
    changes: list[str] = []
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('search_path')")
        (search_path_before,) = cursor.fetchone()
        try:
            wanted_constraints, wanted_indexes, wanted_sequences = _names_by_definition(cursor, template)
            constraints, indexes, sequences = _names_by_definition(cursor, schema)
        finally:
            _set_search_path(cursor, search_path_before)
        dst = sql.Identifier(schema)
        statements: list[sql.Composable] = []
        for key, names in constraints.items():
            wanted = wanted_constraints.get(key, [])
            if len(names) == len(wanted) == 1 and names != wanted:
                statements.append(
                    sql.SQL("ALTER TABLE {}.{} RENAME CONSTRAINT {} TO {}").format(
                        dst, sql.Identifier(key[0]), sql.Identifier(names[0]), sql.Identifier(wanted[0])
                    )
                )
                changes.append(f"constraint {key[0]}.{names[0]} -> {wanted[0]}")
        for key, names in indexes.items():
            wanted = wanted_indexes.get(key, [])
            if len(names) == len(wanted) == 1 and names != wanted:
                statements.append(
                    sql.SQL("ALTER INDEX {}.{} RENAME TO {}").format(
                        dst, sql.Identifier(names[0]), sql.Identifier(wanted[0])
                    )
                )
                changes.append(f"index {names[0]} -> {wanted[0]}")
        for name, options in sequences.items():
            wanted = wanted_sequences.get(name)
            if wanted is not None and wanted != options:
                statements.append(_sequence_alter(dst, name, *wanted))
                changes.append(f"sequence {name} options")
        _run(cursor, [*statements, _mark_template_names(dst)])
    return changes
