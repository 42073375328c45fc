"""Every query of the calls bench/scale.py measures (earn, redeem, look-ups, wallet, the
member's history, the staff's history page, the portal's customer search) can use an index:
on an organization seeded as the bench seeds one (a few thousand customers, ten ledger
entries each, ANALYZE), each call runs once while its statements are recorded with their
parameters, and each is EXPLAINed with sequential scans switched off. PostgreSQL then picks
any index that can serve, so a Seq Scan still in the plan means none can: the test fails on
any Seq Scan of a table in the organization's schema, or an index walked whole, naming the call
and the statement. Tables whose size is the organization's set-up, not its customers (its
tiers, rewards, webhook endpoints, logo), may be read whole."""

import json

import pytest
from django.db import connection
from django_tenants.utils import tenant_context

from bench.scale import CALLS, prepare
from loyalty_platform.customers.models import Customer

CUSTOMERS = 3_000
EXPLAINED = ("SELECT", "UPDATE", "DELETE", "INSERT", "WITH")
# A few rows each, however many customers: read whole at the cost of a few pages.
SET_UP_TABLES = {
    "branding_logo",
    "programs_program",
    "rewards_reward",
    "tiers_tier",
    "webhooks_webhookendpoint",
}


def whole_table_scans(node: dict, schema: str, *, limited: bool = False):
    """The plan's scans of a table of `schema` that read it whole: a Seq Scan, or an index
    walked without an index condition (to count every row, or filtering row by row until a
    LIMIT is met, which may be never); walking an index for the first rows of a LIMIT with
    no filter (the newest 100) is not one."""
    kind = node["Node Type"]
    if (
        node.get("Schema") == schema
        and node["Relation Name"] not in SET_UP_TABLES
        and (
            kind == "Seq Scan"
            or (
                kind in ("Index Scan", "Index Only Scan")
                and "Index Cond" not in node
                and not (limited and "Filter" not in node)
            )
        )
    ):
        yield kind, node["Relation Name"]
    for child in node.get("Plans", []):
        yield from whole_table_scans(child, schema, limited=limited or kind == "Limit")


def sequential_scans(statements: list[tuple[str, object]], schema: str) -> list[tuple[str, str, str]]:
    """(scan, table, statement) for each whole-table scan in the statements' plans, made with
    sequential scans off: one still there means no index can serve the statement."""
    found = []
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        for sql, params in statements:
            cursor.execute(f"EXPLAIN (FORMAT JSON, VERBOSE) {sql}", params)
            (plan,) = cursor.fetchone()
            plan = json.loads(plan) if isinstance(plan, str) else plan
            found += [(kind, table, sql) for kind, table in whole_table_scans(plan[0]["Plan"], schema)]
    return found


def recorded(run) -> list[tuple[str, object]]:
    """The statements `run()` sends (with their parameters), of the kinds a plan shows scans in."""
    statements = []

    def record(execute, sql, params, many, context):
        if not many and sql.lstrip().upper().startswith(EXPLAINED):
            statements.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        run()
    return statements


@pytest.fixture
def seeded(db):
    """An organization of its own, seeded by the bench (rolled back with the test)."""
    organization = prepare("index-use", CUSTOMERS, vacuum=False, signed_in=1)
    connection.set_schema_to_public()
    return organization


def test_no_call_of_the_scale_bench_scans_a_tenant_table(seeded):
    scans = {}
    for name, call in CALLS.items():
        statements = recorded(lambda call=call: call(seeded))
        assert statements, name  # the call did reach the database
        with tenant_context(seeded.tenant):
            found = sequential_scans(statements, seeded.tenant.schema_name)
        if found:
            scans[name] = found

    assert scans == {}, "\n".join(
        f"{name}: {kind} of {table}: {sql}" for name, found in scans.items() for kind, table, sql in found
    )


def test_a_look_up_by_an_unindexed_column_is_reported(seeded):
    with tenant_context(seeded.tenant):
        statements = recorded(lambda: Customer.objects.filter(name="Member 7").first())
        found = sequential_scans(statements, seeded.tenant.schema_name)

    # Sequential scans off, PostgreSQL walks the primary key instead: the whole table still.
    assert [(table, sql) for _kind, table, sql in found] == [("customers_customer", statements[0][0])]
    assert '"customers_customer"."name" = %s' in statements[0][0]
