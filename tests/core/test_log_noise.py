"""A quiet log: the web process as `make run` starts it (uvicorn, DEBUG) writes exactly one
INFO line for a page's 4xx, nothing for a POS API refusal, no traceback for a 403, and
nothing for the favicon; the worker's heartbeat writes nothing; 5xx stay ERRORs."""

import logging
import re
import subprocess
import sys
import tempfile
import uuid

import pytest
import requests
from django_tenants.utils import tenant_context

from loyalty_platform.core.logs import ClientErrorsQuiet, HeartbeatQuiet
from tests.factories import StaffUserFactory
from tests.processes import free_port, helper_environment, helper_process, stop, wait_for_port

LOG_LINE = re.compile(
    r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ (?P<level>[A-Z]+) (?P<logger>\S+) (?P<message>.*)$"
)


@pytest.fixture
def debug_server_log(busy):
    """uvicorn as run_platform starts it (DEBUG on, log level info, no access log); yields
    (base url, read) where read() returns what it wrote after start-up."""
    port = free_port()
    with tempfile.TemporaryFile(mode="w+") as output:
        process = helper_process(
            [
                *(sys.executable, "-m", "uvicorn", "loyalty_platform.asgi:application"),
                *("--host", "127.0.0.1", "--port", str(port), "--no-access-log", "--lifespan", "off"),
            ],
            helper_environment(PLATFORM_HOST=f"localhost:{port}", DEBUG="true"),
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_for_port(port, process)
            # The first request loads the application (and its start-up lines); not counted.
            requests.get(f"http://127.0.0.1:{port}/healthz", headers={"Host": "localhost"}, timeout=30)
            output.flush()
            start = output.seek(0, 2)

            def read() -> list[str]:
                output.flush()
                output.seek(start)
                return output.read().splitlines()

            yield f"http://127.0.0.1:{port}", read
        finally:
            stop(process)


def test_a_few_requests_log_exactly_what_a_person_needs(busy, committed_db, debug_server_log):
    organization, key = busy
    base, read = debug_server_log
    host = {"Host": f"{organization.slug}.localhost"}
    email = f"no-perms-{uuid.uuid4().hex[:8]}@example.com"
    with tenant_context(organization):
        StaffUserFactory(email=email).groups.clear()  # staff with no role
    staff = requests.Session()
    staff.get(f"{base}/admin/login/", headers=host, timeout=10)
    login = staff.post(
        f"{base}/admin/login/?next=/admin/",
        data={
            "username": email,
            "password": "correct horse battery",
            "csrfmiddlewaretoken": staff.cookies["csrftoken"],
        },
        headers={**host, "Referer": f"http://{organization.slug}.localhost/admin/login/"},
        timeout=10,
        allow_redirects=False,
    )
    assert login.status_code == 302

    answers = [
        requests.get(f"{base}/no-such-page", headers=host, timeout=10).status_code,
        requests.post(
            f"{base}/me/login", data={"email": "a@example.com"}, headers=host, timeout=10
        ).status_code,
        staff.get(f"{base}/admin/tenants/apikey/", headers=host, timeout=10).status_code,
        requests.post(
            f"{base}/webhook/pos",
            json={"customer_code": 123456, "amount": -1, "external_id": "log-1"},
            headers={**host, "X-Api-Key": key},
            timeout=10,
        ).status_code,
        requests.get(
            f"{base}/webhook/customer?code=1", headers={**host, "X-Api-Key": "nope"}, timeout=10
        ).status_code,
        requests.get(f"{base}/favicon.ico", headers=host, timeout=10).status_code,
        requests.get(f"{base}/static/img/favicon.svg", headers=host, timeout=10).status_code,
    ]

    assert answers == [404, 403, 403, 422, 401, 200, 200]
    lines = read()
    records = [LOG_LINE.match(line).groupdict() for line in lines if LOG_LINE.match(line)]
    assert [(r["level"], r["logger"], r["message"]) for r in records] == [
        ("INFO", "django.request", "Not Found: /no-such-page"),
        ("INFO", "django.security.csrf", "Forbidden (CSRF cookie not set.): /me/login"),
        ("INFO", "django.request", "Forbidden (Permission denied): /admin/tenants/apikey/"),
    ]
    assert len(lines) == 3  # no other line: no traceback, no second copy


def record(name: str, level: int, message: str, args=(), **extra) -> logging.LogRecord:
    made = logging.LogRecord(name, level, __file__, 1, message, args, None)
    made.__dict__.update(extra)
    return made


def test_server_errors_stay_errors_with_their_traceback():
    try:
        raise RuntimeError("bug")
    except RuntimeError:
        error = record("django.request", logging.ERROR, "Internal Server Error: /x", status_code=500)
        error.exc_info = sys.exc_info()

    assert ClientErrorsQuiet().filter(error) is True
    assert (error.levelname, error.exc_info[0]) == ("ERROR", RuntimeError)


def test_the_heartbeat_lines_of_beat_and_worker_are_dropped_and_other_tasks_kept():
    task = "loyalty_platform.core.tasks.heartbeat"
    other = "loyalty_platform.tiers.tasks.recalculate_tiers"
    quiet = HeartbeatQuiet()
    lines = [
        record("celery.beat", logging.INFO, "Scheduler: Sending due task %s (%s)", ("heartbeat", task)),
        record("celery.worker.strategy", logging.INFO, "Task %s[%s] received", (task, "id")),
        record(
            "celery.app.trace", logging.INFO, "Task %(name)s[%(id)s] succeeded", ({"name": task, "id": "i"},)
        ),
        record("celery.worker.strategy", logging.INFO, "Task %s[%s] received", (other, "id")),
        record(
            "celery.app.trace", logging.ERROR, "Task %(name)s[%(id)s] raised", ({"name": task, "id": "i"},)
        ),
    ]

    assert [quiet.filter(line) for line in lines] == [False, False, False, True, True]


def test_the_webhook_run_after_each_change_logs_nothing_at_info_but_its_failure():
    task = "loyalty_platform.webhooks.tasks.send_webhooks"
    sweep = "loyalty_platform.webhooks.tasks.deliver_webhooks"
    quiet = HeartbeatQuiet()
    lines = [
        record("celery.worker.strategy", logging.INFO, "Task %s[%s] received", (task, "id")),
        record(
            "celery.app.trace", logging.INFO, "Task %(name)s[%(id)s] succeeded", ({"name": task, "id": "i"},)
        ),
        record(
            "celery.app.trace", logging.ERROR, "Task %(name)s[%(id)s] raised", ({"name": task, "id": "i"},)
        ),
        record("celery.worker.strategy", logging.INFO, "Task %s[%s] received", (sweep, "id")),
    ]

    assert [quiet.filter(line) for line in lines] == [False, False, True, True]
