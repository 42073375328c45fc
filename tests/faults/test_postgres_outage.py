"""PostgreSQL stopped and started again under a stream of earns against the real ASGI server.

The server under test runs on a PostgreSQL cluster of the test's own (a copy of the test
database's public schema and one organization's), so the real stop and start leave the
server the rest of the suite uses alone (docs/decisions/0014-faults-and-fault-injection.md)."""

import logging
import time

import pytest
import requests
from django.conf import settings
from psycopg import sql

from loyalty_platform.programs.models import Card, LedgerEntry
from tests.faults.tools import DedicatedPostgres, acceptable, earn_stream, wait_until
from tests.processes import live_server

pytestmark = pytest.mark.usefixtures("committed_db")

OUTAGE_SECONDS = 3.0
logger = logging.getLogger(__name__)


def _ledger(cluster: DedicatedPostgres, schema: str, customer_id: int) -> tuple[dict[str, int], int, int]:
    """As conftest.ledger_by_external_id, read from the dedicated cluster."""
    entries = sql.Identifier(schema, LedgerEntry._meta.db_table)
    cards = sql.Identifier(schema, Card._meta.db_table)
    rows = cluster.query(
        sql.SQL(
            "SELECT e.external_id, e.cause, e.delta FROM {} e JOIN {} c ON c.id = e.card_id "
            "WHERE c.customer_id = %s"
        ).format(entries, cards),
        [customer_id],
    )
    counts: dict[str, int] = {}
    for external_id, cause, _ in rows:
        if cause == "earn":
            counts[external_id] = counts.get(external_id, 0) + 1
    ((balance,),) = cluster.query(
        sql.SQL("SELECT sum(balance) FROM {} WHERE customer_id = %s").format(cards), [customer_id]
    )
    return counts, sum(delta for _, _, delta in rows), balance


def test_earns_answer_503_while_postgres_restarts_and_none_is_lost_or_doubled(till):
    organization, customer, _ = till
    created_at = time.monotonic()
    cluster = DedicatedPostgres(settings.DATABASES["default"], [organization.schema_name])
    logger.info("dedicated PostgreSQL cluster with a copy of the data: %.1f s", time.monotonic() - created_at)
    try:
        with live_server(**cluster.environment()) as server:
            health = f"http://127.0.0.1:{server.port}/healthz"
            platform_host = {"Host": f"localhost:{server.port}"}
            stream = earn_stream(server, till)
            with stream.running():
                stream.wait_for_answers(20, timeout=20)
                stopping_at = time.monotonic()
                cluster.stop()
                time.sleep(OUTAGE_SECONDS)
                health_down = requests.get(health, headers=platform_host, timeout=10)
                cluster.start()
                started_at = time.monotonic()
                recovered_after = wait_until(
                    lambda: any(answer.status == 200 for answer in stream.answered_since(started_at)),
                    timeout=20,
                )
                stream.wait_for_answers(20, timeout=20)
            during = [answer for answer in stream.answers if stopping_at <= answer.at < started_at]
            settled = stream.settle(timeout=30)
        counts, total, balance = _ledger(cluster, organization.schema_name, customer.pk)
    finally:
        cluster.close()

    answers = stream.answers + settled
    external_ids = {answer.external_id for answer in stream.answers}
    refused = [answer for answer in stream.answers if answer.status != 200]
    logger.info(
        "postgres restart: %d earns, %d answered while it was down, %d not 200 (statuses %s), "
        "first 200 %.2f s after the start, %d retries to settle, %d external ids with one entry each",
        len(stream.answers),
        len(during),
        len(refused),
        sorted({answer.status for answer in answers}),
        recovered_after,
        len(settled),
        sum(1 for count in counts.values() if count == 1),
    )
    assert [answer for answer in answers if not acceptable(answer)] == []
    assert 503 in {answer.status for answer in during}
    assert recovered_after is not None
    assert health_down.status_code == 503
    assert health_down.headers["Retry-After"]
    assert health_down.json()["status"] == "down"
    assert health_down.json()["database"]["ok"] is False
    assert counts == dict.fromkeys(external_ids, 1)
    assert total == balance == len(external_ids)
