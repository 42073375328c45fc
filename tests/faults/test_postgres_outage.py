"""PostgreSQL unreachable, then back, under a stream of earns against the real ASGI server.

The server reaches PostgreSQL through a proxy on loopback; cutting it drops every session
and refuses new ones, which is what a restart looks like from the application, without
stopping the server the rest of the suite uses (docs/decisions/XXXX-fault-injection.md)."""

import logging
import time

import pytest
import requests
from django.conf import settings

from tests.faults.conftest import ledger_by_external_id
from tests.faults.tools import CuttableProxy, EarnStream, acceptable, socket_path, wait_until
from tests.processes import live_server

pytestmark = pytest.mark.usefixtures("committed_db")

OUTAGE_SECONDS = 3.0
logger = logging.getLogger(__name__)


def test_earns_answer_503_while_postgres_is_away_and_none_is_lost_or_doubled(till):
    organization, customer, key = till
    database = settings.DATABASES["default"]
    proxy = CuttableProxy(socket_path(database["HOST"], int(database["PORT"])))
    proxy.restore()
    try:
        with live_server(
            DATABASE_HOST="127.0.0.1",
            DATABASE_PORT=str(proxy.port),
            DJANGO_SETTINGS_MODULE="tests.faults.live_settings",
        ) as server:
            base = f"http://127.0.0.1:{server.port}"
            health = f"{base}/healthz"
            platform_host = {"Host": f"localhost:{server.port}"}
            stream = EarnStream(
                base_url=base,
                host=f"{organization.slug}.localhost",
                api_key=key,
                customer_code=customer.customer_code,
            )
            with stream.running():
                stream.wait_for_answers(20, timeout=20)
                proxy.cut()
                cut_at = time.monotonic()
                time.sleep(OUTAGE_SECONDS)
                health_down = requests.get(health, headers=platform_host, timeout=10)
                proxy.restore()
                restored_at = time.monotonic()
                recovered_after = wait_until(
                    lambda: any(answer.status == 200 for answer in stream.answered_since(restored_at)),
                    timeout=20,
                )
                stream.wait_for_answers(20, timeout=20)
            during = [answer for answer in stream.answers if cut_at <= answer.at < restored_at]
            settled = stream.settle(timeout=30)
        counts, total, balance = ledger_by_external_id(organization, customer)
    finally:
        proxy.close()

    answers = stream.answers + settled
    external_ids = {answer.external_id for answer in stream.answers}
    refused = [answer for answer in stream.answers if answer.status != 200]
    logger.info(
        "postgres outage: %d earns, %d answered during the cut, %d not 200 (statuses %s), "
        "first 200 %.2f s after the restore, %d retries to settle, %d external ids with one entry each",
        len(stream.answers),
        len(during),
        len(refused),
        sorted({answer.status for answer in answers}),
        recovered_after,
        len(settled),
        sum(1 for count in counts.values() if count == 1),
    )
    assert [answer for answer in answers if not acceptable(answer)] == []
    assert {answer.status for answer in during} == {503}
    assert recovered_after is not None
    assert health_down.status_code == 503
    assert health_down.headers["Retry-After"]
    assert health_down.json()["status"] == "down"
    assert health_down.json()["database"]["ok"] is False
    assert counts == dict.fromkeys(external_ids, 1)
    assert total == balance == len(external_ids)
