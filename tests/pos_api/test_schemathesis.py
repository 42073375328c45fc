"""Schemathesis over the whole published OpenAPI schema, against the real ASGI server: every
answer must be a documented status, of the documented content type, matching its schema, and
never a server error. Bounded (a few examples per operation, a time budget, a fixed seed,
deterministic generation) so that it is repeatable.

Requests authenticate through the schema's own security scheme (`ApiKeyHeader`) with a real
key of an organization of its own, which has programs, two customers, a reward and three
vouchers; their codes and ids are offered for the parameters that name them, so valid calls
reach the services.
The CLI runs it (schemathesis' pytest plugin does not support pytest 9's node ids)."""

import json
import logging
import os
import subprocess
import sys

import pytest
from django_tenants.utils import tenant_context

from loyalty_platform.customers.models import Customer
from loyalty_platform.embedded import BASE_DIR
from loyalty_platform.rewards.models import Reward
from loyalty_platform.vouchers.models import Promotion
from loyalty_platform.vouchers.services import vouchers_import
from tests.pos_fixtures import committed_organization, create_customer, issue_key

logger = logging.getLogger(__name__)
SLUG = "test-fuzz"
CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"
CONFIG = """
seed = 20261201
request-timeout = 20
[headers]
X-Forwarded-Proto = "https"
[generation]
max-examples = 20
deterministic = true
database = "none"
[cache]
enabled = false
[phases.stateful]
enabled = false
[auth.openapi.ApiKeyHeader]
api_key = "${FUZZ_API_KEY}"
[dictionaries.customers]
values = [424242, 515151]
[dictionaries.vouchers]
values = ["FUZZ0001", "FUZZ0002", "FUZZ0003"]
[parameters]
customer_code = {dictionary = "customers", probability = 0.6}
"body.customer_code" = {dictionary = "customers", probability = 0.6}
"path.code" = {dictionary = "vouchers", probability = 0.5}
"body.code" = {dictionary = "vouchers", probability = 0.5}
"path.reward_id" = "REWARD_ID"
"body.currency" = "EUR"
"""
CUSTOMER_CODES = (424242, 515151)
VOUCHER_CODES = ["FUZZ0001", "FUZZ0002", "FUZZ0003"]


@pytest.fixture(scope="module")
def fuzzed(django_db_setup, django_db_blocker) -> tuple[str, int]:
    """A key of the fuzzed organization and the id of its reward."""
    with django_db_blocker.unblock():
        organization, created = committed_organization(SLUG, "Fuzzed Shop")
        if created:
            for code in CUSTOMER_CODES:
                customer = create_customer(organization, points=5000, stamps=4)
                with tenant_context(organization):
                    Customer.objects.filter(pk=customer.pk).update(customer_code=code)
            with tenant_context(organization):
                Reward.objects.create(name="Coffee", required_credits=100, allow_pre_redeem=True)
                vouchers_import(
                    promotion=Promotion.objects.create(title="10% off"), codes=VOUCHER_CODES, pool=""
                )
        with tenant_context(organization):
            reward_id = Reward.objects.get(name="Coffee").pk
        return issue_key(organization), reward_id


def test_every_operation_answers_as_documented(production_server, fuzzed, tmp_path):
    key, reward_id = fuzzed
    config = tmp_path / "schemathesis.toml"
    config.write_text(CONFIG.replace('"REWARD_ID"', str(reward_id)))
    report = tmp_path / "report.json"
    result = subprocess.run(
        [
            os.path.join(os.path.dirname(sys.executable), "schemathesis"),
            "--config-file",
            str(config),
            "--no-color",
            "run",
            production_server.url("localhost", "/api/schema/?format=json"),
            "--checks",
            CHECKS,
            "--workers",
            "1",
            "--report",
            "json",
            "--report-json-path",
            str(report),
        ],
        cwd=BASE_DIR,
        env={**os.environ, "FUZZ_API_KEY": key},
        capture_output=True,
        text=True,
        timeout=170,
    )

    summary = json.loads(report.read_text())
    logger.info(  # the figures the README's "Reliability" section quotes
        "schemathesis: %s operations, %s requests, %s failing",
        summary["operations"]["tested"],
        summary["test_cases"]["generated"],
        summary["test_cases"]["with_failures"],
    )
    assert result.returncode == 0, result.stdout[-20000:]
    assert summary["operations"]["tested"] == summary["operations"]["total"]
    assert (summary["failures"], summary["errors"], summary["test_cases"]["errored"]) == ([], [], 0)
