"""Round trips of a warm earn: the host, key, subscription, programs and tiers come from this
process's memory, so the rate limit's one Redis call is the only one and no statement reads
those tables (docs/decisions/0021-in-process-caches.md)."""

import pytest
import redis
from django.db import connection
from django.test.utils import CaptureQueriesContext

from loyalty_platform.core import local_cache
from tests.conftest import _delete_namespace_keys
from tests.pos_fixtures import PosClient, balances, create_customer, create_programs

# Tables whose rows the in-process caches hold (or that the key's use record writes).
CACHED_TABLES = (
    "tenants_",
    "programs_program",
    "tiers_tier",
    "orders_earningrule",
    "campaigns_campaign",
)


# What redis-py sends when it opens a connection: not the call's own round trips.
HANDSHAKE = frozenset({"CLIENT", "SELECT", "HELLO", "AUTH"})


def _command_names(packed) -> str:
    """The command names in what redis-py packed for one write (RESP arrays of bulk strings):
    one name, or several joined by commas for a pipeline."""
    data = b"".join(bytes(chunk) for chunk in packed) if isinstance(packed, list) else bytes(packed)
    names = []
    for array in data.split(b"\r\n*"):
        lines = array.split(b"\r\n")
        names.append(lines[2].decode())
    return ",".join(names)


@pytest.fixture
def redis_commands(monkeypatch):
    """Every write this process sends to Redis on any connection (one per round trip), by
    the command names it holds: counted where every client, pool or not, sends."""
    sent: list[str] = []
    send_packed_command = redis.connection.AbstractConnection.send_packed_command

    def counted(self, command, *args, **options):
        if (names := _command_names(command)) not in HANDSHAKE:
            sent.append(names)
        return send_packed_command(self, command, *args, **options)

    def start():
        monkeypatch.setattr(redis.connection.AbstractConnection, "send_packed_command", counted)
        return sent

    return start


def _earn(client: PosClient, customer, external_id: str):
    return client.post(
        "/webhook/pos", {"customer_code": customer.customer_code, "amount": 10, "external_id": external_id}
    )


def _statements_on_cached_tables(queries) -> list[str]:
    return [q["sql"] for q in queries.captured_queries if any(table in q["sql"] for table in CACHED_TABLES)]


@pytest.mark.parametrize("preset", ["standard", "balanced"])  # earn asks no PIN in either
@pytest.mark.parametrize("host", ["test-a.localhost", "localhost"])  # by host, or by the key
def test_warm_earn_makes_one_redis_call_and_no_look_up_statement(
    organization, programs, key_a, redis_commands, preset, host
):
    organization.verification_preset = preset
    organization.save()
    customer = create_customer(organization, points=1, stamps=1)
    client = PosClient(host, key_a)
    assert _earn(client, customer, "warm-up").status_code == 200

    sent = redis_commands()
    with CaptureQueriesContext(connection) as queries:
        response = _earn(client, customer, "measured")

    assert (response.status_code, response.json()) == (200, {"data": {"stamps": 1, "points": 21}})
    # The rate-limit counter, which also reads the cache invalidation value.
    assert sent == ["EVALSHA"]
    assert _statements_on_cached_tables(queries) == []


def test_a_cold_process_looks_each_thing_up_once(organization, programs, key_a, redis_commands):
    """The first earn reads the shared copies; the next ones nothing but the rate limit."""
    customer = create_customer(organization)
    client = PosClient("test-a.localhost", key_a)
    # Issuing the key read the plan's limit through the subscription cache: start cold again.
    _delete_namespace_keys()
    local_cache.clear_all()
    sent = redis_commands()

    statuses = [_earn(client, customer, f"e-{index}").status_code for index in range(3)]

    assert statuses == [200, 200, 200]
    assert sorted(sent) == sorted(
        # The first earn: host, key, subscription, programs, running campaigns, tiers, the
        # event types webhook endpoints receive (each missed, then stored), ...
        ["GET", "SET"] * 7
        + ["EVALSHA"]
        # ... then the rate limit alone, twice.
        + ["EVALSHA", "EVALSHA"]
    )


def test_warm_earn_sends_four_statements(organization, programs, key_a):
    """The call's lock, stored answer and customer in one statement; the card lock; the
    card's balance and its ledger entry in one; the stored answer."""
    customer = create_customer(organization, points=1, stamps=1)
    client = PosClient("test-a.localhost", key_a)
    assert _earn(client, customer, "warm-up").status_code == 200

    with CaptureQueriesContext(connection) as queries:
        response = _earn(client, customer, "measured")

    assert (response.status_code, response.json()) == (200, {"data": {"stamps": 1, "points": 21}})
    # The test's own transaction turns the call's into savepoints: not statements of the call.
    statements = [q["sql"] for q in queries.captured_queries if "SAVEPOINT" not in q["sql"]]
    assert [sql.split(maxsplit=1)[0] for sql in statements] == ["SELECT", "SELECT", "WITH", "INSERT"]
    assert "pg_try_advisory_xact_lock" in statements[0] and "customers_customer" in statements[0]


def _prepared_statements() -> list[tuple]:
    """(name, when prepared, text) of this connection's prepared statements."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT name, prepare_time, statement FROM pg_prepared_statements ORDER BY 2")
        return cursor.fetchall()


def test_the_four_statements_are_prepared_once_per_connection(organization, programs, key_a):
    """PostgreSQL parses and plans them once, by the connection's second earn in the same
    organization (docs/decisions/0024-prepared-hot-statements.md; the rule for a connection
    that moves between organizations: tests/core/test_prepared_cursor.py)."""
    customer = create_customer(organization, points=1)
    client = PosClient("test-a.localhost", key_a)
    for index in range(2):
        assert _earn(client, customer, f"warm-up-{index}").status_code == 200
    prepared = _prepared_statements()

    for index in range(3):
        assert _earn(client, customer, f"e-{index}").status_code == 200

    assert _prepared_statements() == prepared
    beginnings = (
        "SELECT pg_try_advisory_xact_lock($1), ",
        'SELECT "id", "customer_id", "program_id", ',
        "WITH card AS (UPDATE programs_card SET balance = $1, ",
        "INSERT INTO pos_api_idempotencyrecord (",
    )
    counts = [sum(statement.startswith(start) for _, _, statement in prepared) for start in beginnings]
    assert counts == [1, 1, 1, 1]


def test_a_prepared_statement_follows_the_connection_to_another_organization(
    organization, other_organization, programs, key_a, key_b
):
    """The same prepared statements, run after the connection moved to another schema, read
    and write that schema's tables (PostgreSQL plans them again for the new search_path)."""
    create_programs(other_organization)
    customer_a = create_customer(organization, points=1)
    customer_b = create_customer(other_organization, points=5)

    for index in range(2):
        assert _earn(PosClient("test-a.localhost", key_a), customer_a, f"a-{index}").status_code == 200
    assert len(_prepared_statements()) == 4
    before_a = balances(organization, customer_a)
    responses = [_earn(PosClient("test-b.localhost", key_b), customer_b, f"a-{index}") for index in range(3)]

    assert [(response.status_code, response.json()) for response in responses] == [
        (200, {"data": {"stamps": 0, "points": points}}) for points in (15, 25, 35)
    ]
    assert balances(other_organization, customer_b) == {"point": (35, 35, 4), "stamp": (0, 0, 0)}
    assert balances(organization, customer_a) == before_a
    # The statements prepared in A ran prepared in B from its second earn on.
    assert len(_prepared_statements()) == 4
