"""Round trips of a warm earn: the host, key, subscription, programs and tiers come from this
process's memory, so the rate limit's one Redis call is the only one and no statement reads
those tables (docs/decisions/0021-in-process-caches.md)."""

import pytest
import redis
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.pos_fixtures import PosClient, create_customer

# Tables whose rows the in-process caches hold (or that the key's use record writes).
CACHED_TABLES = (
    "tenants_",
    "programs_program",
    "tiers_tier",
    "orders_earningrule",
)


@pytest.fixture
def redis_commands(monkeypatch):
    """Every command sent to Redis by any client of this process, by name (a counter around
    the real client, which still runs each command)."""
    sent: list[str] = []
    execute_command = redis.Redis.execute_command
    execute_pipeline = redis.client.Pipeline.execute

    def counted(self, *args, **options):
        sent.append(str(args[0]))
        return execute_command(self, *args, **options)

    def counted_pipeline(self, *args, **options):
        sent.append("pipeline:" + ",".join(str(command[0][0]) for command in self.command_stack))
        return execute_pipeline(self, *args, **options)

    def start():
        monkeypatch.setattr(redis.Redis, "execute_command", counted)
        monkeypatch.setattr(redis.client.Pipeline, "execute", counted_pipeline)
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
    sent = redis_commands()

    statuses = [_earn(client, customer, f"e-{index}").status_code for index in range(3)]

    assert statuses == [200, 200, 200]
    assert sorted(sent) == sorted(
        # The first earn: host, key, subscription, programs, tiers (each missed, then stored), ...
        ["GET", "SET"] * 5
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
