"""Redis killed (SIGKILL) and started again under a stream of earns against the real ASGI
server. The server has a Redis of its own; the suite's shared one is not touched."""

import logging
import time

import pytest
import requests

from tests.faults.conftest import ledger_by_external_id
from tests.faults.tools import DedicatedRedis, acceptable, earn_stream, wait_until
from tests.processes import live_server

pytestmark = pytest.mark.usefixtures("committed_db")

OUTAGE_SECONDS = 3.0
logger = logging.getLogger(__name__)


def _health(base: str, port: int) -> dict:
    return requests.get(f"{base}/healthz", headers={"Host": f"localhost:{port}"}, timeout=10).json()


def test_earns_keep_working_while_redis_is_down_and_caches_come_back_by_themselves(till):
    organization, customer, _ = till
    redis_server = DedicatedRedis()
    redis_server.start()
    try:
        with live_server(REDIS_URL=redis_server.url) as server:
            base = f"http://127.0.0.1:{server.port}"
            stream = earn_stream(server, till)
            with stream.running():
                stream.wait_for_answers(20, timeout=20)
                redis_server.kill()
                killed_at = time.monotonic()
                time.sleep(OUTAGE_SECONDS)
                health_down = _health(base, server.port)
                redis_server.start()
                restarted_at = time.monotonic()
                # The server caches a host look-up in the new, empty Redis on its own.
                recovered_after = wait_until(lambda: bool(redis_server.client().keys("*domain*")), timeout=20)
                stream.wait_for_answers(20, timeout=20)
            during = [answer for answer in stream.answers if killed_at <= answer.at < restarted_at]
            settled = stream.settle(timeout=20)
            health_after = _health(base, server.port)
        counts, total, balance = ledger_by_external_id(organization, customer)
    finally:
        redis_server.close()

    answers = stream.answers + settled
    external_ids = {answer.external_id for answer in stream.answers}
    logger.info(
        "redis outage: %d earns, %d while Redis was down, statuses %s, caches were written again "
        "%.2f s after its restart, %d external ids with one entry each",
        len(stream.answers),
        len(during),
        sorted({answer.status for answer in answers}),
        recovered_after,
        sum(1 for count in counts.values() if count == 1),
    )
    assert [answer for answer in answers if not acceptable(answer)] == []
    # Redis down is not a reason to refuse an earn: every one answered 200 at once.
    assert {answer.status for answer in answers} == {200}
    assert len(during) > 0
    assert (health_down["status"], health_down["redis"]["ok"], health_down["database"]) == (
        "degraded",
        False,
        {"ok": True},
    )
    assert recovered_after is not None
    assert health_after["redis"] == {"ok": True}
    assert counts == dict.fromkeys(external_ids, 1)
    assert total == balance == len(external_ids)
