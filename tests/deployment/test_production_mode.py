"""The production layout of docs/deployment.md, run on this machine: production settings
(DEBUG=false, every secret from the environment), uvicorn with two worker processes, two Celery
workers and one beat, PostgreSQL reached through PgBouncer in transaction mode
(DATABASE_POOLER=transaction), Redis. Every process is started once for the module, on the test
database, and stopped at its end.

The layout uses a Redis namespace of its own under this run's (`<namespace>-production`): the
suite empties its namespace before every test (tests/conftest.py), which would remove the
Celery queue bindings that the long-running workers declared at start-up."""

import contextlib
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

import pytest
import requests
from celery import Celery
from django.conf import settings
from django.core.cache import caches
from django.db import connection, connections
from django_tenants.utils import tenant_context
from websockets.sync.client import ClientConnection
from websockets.sync.client import connect as websocket_connect

from loyalty_platform.customers.login import login_link_create
from loyalty_platform.customers.models import Customer, LoginLink
from loyalty_platform.embedded import BASE_DIR
from loyalty_platform.programs.models import LedgerEntry
from tenants.models import Organization
from tests.pos_fixtures import committed_organization, issue_key
from tests.processes import HELPER_APPLICATION_NAME, PGBOUNCER, free_port, pgbouncer, wait_for_port

if not os.path.exists(PGBOUNCER):
    if os.environ.get("CI"):
        raise RuntimeError(f"CI needs pgbouncer at {PGBOUNCER} (.ci/run installs it)")
    pytest.skip("pgbouncer is not installed", allow_module_level=True)

# Seconds any one wait of this module may take before it fails, saying what it waited for.
WAIT_SECONDS = 60
# Beat sends the heartbeat every 30 s, the first one 30 s after it started.
BEAT_WAIT_SECONDS = 90
APPLICATION_NAME = f"{HELPER_APPLICATION_NAME}-production"
ORGANIZATION_A = ("prod-a", "Production Bakery")
ORGANIZATION_B = ("prod-b", "Production Books")

T = TypeVar("T")


def wait_until(what: str, probe: Callable[[], T | None], timeout: float = WAIT_SECONDS) -> T:
    """Calls `probe` until it returns something other than None; fails naming `what`."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value is not None:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"waited {timeout} s for {what}")
        time.sleep(0.2)


@dataclass
class Layout:
    environment: dict[str, str]
    port: int
    namespace: str
    mail_dir: Path
    celery: Celery
    organization_a: Organization
    organization_b: Organization
    key_a: str
    key_b: str
    worker_names: tuple[str, str]
    processes: "Processes"

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def get(self, host: str, path: str, **kwargs) -> requests.Response:
        return requests.get(self.url(path), headers=self._headers(host, kwargs), timeout=30, **kwargs)

    def post(self, host: str, path: str, body: dict, **kwargs) -> requests.Response:
        return requests.post(
            self.url(path), json=body, headers=self._headers(host, kwargs), timeout=30, **kwargs
        )

    @staticmethod
    def _headers(host: str, kwargs: dict) -> dict:
        # As the TLS proxy in front of the web processes sends them (docs/deployment.md).
        return {"Host": host, "X-Forwarded-Proto": "https", **kwargs.pop("headers", {})}

    def pos_get(self, host: str, key: str, path: str, **params) -> requests.Response:
        return self.get(host, path, params=params, headers={"X-Api-Key": key})

    def pos_post(self, host: str, key: str, path: str, body: dict) -> requests.Response:
        return self.post(host, path, body, headers={"X-Api-Key": key})


def production_environment(*, pooler_port: int, namespace: str, mail_dir: Path) -> dict[str, str]:
    """The variables docs/deployment.md lists, as an operator sets them; nothing else of the
    test run's environment (its settings module, its database overrides) is passed on."""
    database = settings.DATABASES["default"]
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "PYTHONPATH")
    return {
        **{name: os.environ[name] for name in keep if name in os.environ},
        "DJANGO_SETTINGS_MODULE": "loyalty_platform.settings",
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "REALTIME_APP_KEY": "lp" + secrets.token_hex(9),
        "REALTIME_APP_SECRET": secrets.token_hex(23),
        "PLATFORM_HOST": "localhost",
        # PgBouncer on loopback; the application name lets the test wait for its sessions.
        "DATABASE_URL": (
            f"postgres://{database['USER']}@127.0.0.1:{pooler_port}/{database['NAME']}"
            f"?application_name={APPLICATION_NAME}"
        ),
        "DATABASE_POOLER": "transaction",
        "REDIS_URL": settings.REDIS_URL,
        "REDIS_NAMESPACE": namespace,
        "EMAIL_URL": f"filemail:///{mail_dir}",
        "DEFAULT_FROM_EMAIL": "loyalty@prod.example",
        "TRUSTED_PROXY_HOPS": "1",
        "LOG_LEVEL": "WARNING",
    }


class Processes:
    """Started in their own process groups, so that stopping one also finds its children
    (uvicorn's workers, Celery's pool) and a leftover fails the module."""

    def __init__(self, environment: dict[str, str], directory: str):
        self.environment = environment
        self.directory = directory
        self.running: list[tuple[str, subprocess.Popen]] = []

    def start(self, name: str, args: list[str]) -> subprocess.Popen:
        log = open(os.path.join(self.directory, f"{name}.log"), "wb")  # noqa: SIM115 - closed in stop_all
        process = subprocess.Popen(
            [sys.executable, "-m", *args],
            cwd=BASE_DIR,
            env=self.environment,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        process.log = log
        self.running.append((name, process))
        return process

    def log_of(self, name: str) -> str:
        return Path(self.directory, f"{name}.log").read_text(errors="replace")[-3000:]

    def assert_alive(self) -> None:
        for name, process in self.running:
            if process.poll() is not None:
                pytest.fail(f"{name} exited with {process.returncode}:\n{self.log_of(name)}")

    def stop_all(self) -> list[str]:
        """SIGTERM to every group, then wait for every process of it; returns the names of
        those that had to be killed."""
        for _name, process in self.running:
            _signal_group(process.pid, signal.SIGTERM)
        killed = []
        for name, process in self.running:
            deadline = time.monotonic() + 20
            while _group_alive(process.pid) and time.monotonic() < deadline:
                process.poll()
                time.sleep(0.1)
            if _group_alive(process.pid):
                killed.append(name)
                _signal_group(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
            process.log.close()
        return killed


def _signal_group(group: int, number: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(group, number)


def _group_alive(group: int) -> bool:
    # The leader itself is reaped by poll(); its children, once orphaned, by init.
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    return True


def _sessions_of(application_name: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", [application_name]
        )
        return cursor.fetchone()[0]


def _delete_namespace(namespace: str) -> None:
    client = caches["platform"]._cache.get_client()
    keys = list(client.scan_iter(match=f"{namespace}:*", count=1000))
    if keys:
        client.delete(*keys)


def _healthz(layout_port: int) -> dict | None:
    try:
        response = requests.get(
            f"http://127.0.0.1:{layout_port}/healthz",
            headers={"Host": "localhost", "X-Forwarded-Proto": "https"},
            timeout=5,
        )
    except requests.ConnectionError:
        return None
    return response.json() if response.status_code == 200 else None


@pytest.fixture(scope="module")
def layout(django_db_setup, django_db_blocker) -> Iterator[Layout]:
    namespace = f"{settings.REDIS_NAMESPACE}-production"
    with (
        django_db_blocker.unblock(),
        tempfile.TemporaryDirectory(prefix="production-") as directory,
        pgbouncer(pool_size=6) as pooler_port,
    ):
        organization_a, _ = committed_organization(*ORGANIZATION_A)
        organization_b, _ = committed_organization(*ORGANIZATION_B)
        key_a, key_b = issue_key(organization_a), issue_key(organization_b)
        connections.close_all()
        mail_dir = Path(directory, "mail")
        environment = production_environment(pooler_port=pooler_port, namespace=namespace, mail_dir=mail_dir)
        port = free_port()
        worker_names = (f"production-1-{os.getpid()}", f"production-2-{os.getpid()}")
        processes = Processes(environment, directory)
        # Each command as docs/deployment.md's units run it (fewer Celery processes, quieter).
        web = processes.start(
            "web",
            [
                "uvicorn",
                "loyalty_platform.asgi:application",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--workers",
                "2",
                "--lifespan",
                "off",
                "--proxy-headers",
                "--forwarded-allow-ips",
                "127.0.0.1",
                "--no-access-log",
            ],
        )
        for number, worker_name in enumerate(worker_names, start=1):
            processes.start(
                f"worker-{number}",
                [
                    "celery",
                    "-A",
                    "loyalty_platform",
                    "worker",
                    "--concurrency",
                    "1",
                    "--hostname",
                    f"{worker_name}@%h",
                    "--loglevel",
                    "WARNING",
                ],
            )
        processes.start(
            "beat",
            [
                "celery",
                "-A",
                "loyalty_platform",
                "beat",
                "--schedule",
                os.path.join(directory, "celerybeat-schedule"),
                "--loglevel",
                "WARNING",
            ],
        )
        # A client of the layout's broker, to ask its workers (the suite's own app talks to
        # the suite's namespace).
        probe = Celery("production-probe", broker=settings.REDIS_URL, set_as_current=False)
        probe.conf.broker_transport_options = {"global_keyprefix": f"{namespace}:"}
        probe.conf.task_default_queue = f"{namespace}:celery"
        layout = Layout(
            environment=environment,
            port=port,
            namespace=namespace,
            mail_dir=mail_dir,
            celery=probe,
            organization_a=organization_a,
            organization_b=organization_b,
            key_a=key_a,
            key_b=key_b,
            worker_names=worker_names,
            processes=processes,
        )
        try:
            wait_for_port(port, web, timeout=WAIT_SECONDS)

            def both_workers_answer() -> bool | None:
                processes.assert_alive()
                replies = probe.control.ping(timeout=0.5)
                names = {name.partition("@")[0] for reply in replies for name in reply}
                return True if set(worker_names) <= names else None

            wait_until("both Celery workers to answer a ping", both_workers_answer)

            def web_serves() -> dict | None:
                processes.assert_alive()
                return _healthz(port)

            wait_until("/healthz to answer 200", web_serves)
            yield layout
        finally:
            killed = processes.stop_all()
            probe.close()
            connections.close_all()
            # Stopping PgBouncer (leaving the with block) closes its server sessions.
    with django_db_blocker.unblock():
        wait_until(
            "PgBouncer's server sessions to close",
            lambda: True if _sessions_of(APPLICATION_NAME) == 0 else None,
        )
        _delete_namespace(namespace)
        connections.close_all()
    assert killed == [], f"these processes ignored SIGTERM and were killed: {killed}"


def enroll(layout: Layout, email: str) -> int:
    response = layout.pos_post(
        "prod-a.localhost",
        layout.key_a,
        "/webhook/customer",
        {"email": email, "consent_terms": True, "consent_privacy": True},
    )
    assert response.status_code == 200, response.text
    return response.json()["data"]["customer_code"]


def signed_in_cookie(layout: Layout, customer: Customer) -> str:
    """Signs the customer in as their email's link would: the link's GET sets the session."""
    with tenant_context(layout.organization_a):
        url = login_link_create(customer=customer)
    response = layout.get("prod-a.localhost", urlsplit(url).path, allow_redirects=False)
    assert (response.status_code, response.headers["Location"]) == (302, "/me/"), response.text
    return response.cookies["sessionid"]


def test_check_deploy_is_clean_with_the_production_environment(layout):
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy"],
        cwd=BASE_DIR,
        env=layout.environment,
        capture_output=True,
        text=True,
        timeout=WAIT_SECONDS,
    )

    assert result.returncode == 0, result.stderr
    output = result.stdout + result.stderr
    assert re.findall(r"^\S*: \((\S+)\)", output, flags=re.MULTILINE) == []
    # The five silenced, each with its reason in settings: Django's middleware checks that
    # core.page_middleware makes for PAGE_MIDDLEWARE (four) and HSTS preloading (security.W021).
    assert output.strip() == "System check identified no issues (5 silenced)."


def test_healthz_sees_the_database_redis_and_both_workers(layout):
    body = _healthz(layout.port)

    assert (body["database"], body["redis"]) == ({"ok": True}, {"ok": True})
    assert (body["worker"]["ok"], body["worker"]["workers"]) == (True, 2)


def test_earn_and_redeem_over_http_give_exact_balances(layout):
    code = enroll(layout, f"earn-{uuid.uuid4().hex[:8]}@example.com")
    host, key = "prod-a.localhost", layout.key_a

    earned = layout.pos_post(
        host, key, "/webhook/pos", {"customer_code": code, "amount": "250.00", "external_id": "e-1"}
    )
    redeemed = layout.pos_post(
        host,
        key,
        "/webhook/redeem",
        {"customer_code": code, "value": 120, "card_type": "point", "external_id": "r-1"},
    )
    replayed = layout.pos_post(
        host,
        key,
        "/webhook/redeem",
        {"customer_code": code, "value": 120, "card_type": "point", "external_id": "r-1"},
    )
    looked_up = layout.pos_get(host, key, "/webhook/customer", code=code)

    assert (earned.status_code, earned.json()) == (200, {"data": {"stamps": 0, "points": 250}})
    assert (redeemed.status_code, redeemed.json()) == (200, {"data": {"stamps": 0, "points": 130}})
    assert replayed.content == redeemed.content
    assert looked_up.json()["data"]["point_balance"] == 130
    with tenant_context(layout.organization_a):
        entries = list(
            LedgerEntry.objects.filter(card__customer__customer_code=code)
            .order_by("pk")
            .values_list("cause", "delta", "balance_after")
        )
    assert entries == [("earn", 250, 250), ("redeem", -120, 130)]


def test_the_welcome_email_job_runs_on_a_worker(layout):
    email = f"welcome-{uuid.uuid4().hex[:8]}@example.com"

    code = enroll(layout, email)

    with tenant_context(layout.organization_a):
        customer = Customer.objects.get(customer_code=code)

    def the_link() -> LoginLink | None:
        layout.processes.assert_alive()
        with tenant_context(layout.organization_a):
            return LoginLink.objects.filter(customer=customer).first()

    link = wait_until("the welcome task to create the sign-in link", the_link)

    def the_message() -> str | None:
        for path in layout.mail_dir.glob("*.log") if layout.mail_dir.exists() else ():
            text = path.read_text()
            if f"To: {email}" in text:
                return text
        return None

    message = wait_until("the welcome email to be written", the_message)
    assert link.used_at is None and link.next_path == "/me/"
    assert "Subject: Welcome to Production Bakery's loyalty program" in message
    assert re.search(r"https://prod-a\.localhost/me/login/[A-Za-z0-9_-]{43}", message)


def receive_json(socket: ClientConnection) -> dict:
    try:
        frame = json.loads(socket.recv(timeout=WAIT_SECONDS))
    except TimeoutError:
        pytest.fail(f"no websocket frame within {WAIT_SECONDS} s")
    return frame


@contextlib.contextmanager
def open_socket(layout: Layout, host: str) -> Iterator[ClientConnection]:
    path = f"/app/{layout.environment['REALTIME_APP_KEY']}?protocol=7&client=test&version=1"
    sock = socket.create_connection(("127.0.0.1", layout.port), timeout=WAIT_SECONDS)
    # The URL's host is the Host header; the connection is the socket's.
    with websocket_connect(
        f"ws://{host}{path}", sock=sock, additional_headers={"X-Forwarded-Proto": "https"}
    ) as client:
        established = receive_json(client)
        assert established["event"] == "pusher:connection_established", established
        yield client


def test_a_qr_identification_reaches_the_tills_socket_from_another_request(layout):
    code = enroll(layout, f"qr-{uuid.uuid4().hex[:8]}@example.com")
    with tenant_context(layout.organization_a):
        customer = Customer.objects.get(customer_code=code)
    cookie = signed_in_cookie(layout, customer)
    created = layout.pos_post(
        "prod-a.localhost", layout.key_a, "/webhook/qr-card-sessions", {"device_name": "Till 7"}
    )
    assert created.status_code == 200, created.text
    session_id = created.json()["data"]["session_id"]
    channel = f"qr-card.{session_id}"

    with open_socket(layout, "prod-a.localhost") as till:
        till.send(json.dumps({"event": "pusher:subscribe", "data": {"channel": channel}}))
        subscribed = receive_json(till)
        assert (subscribed["event"], subscribed["channel"]) == (
            "pusher_internal:subscription_succeeded",
            channel,
        )

        # The customer's phone: a request of its own, served by either web worker.
        page = layout.get(
            "prod-a.localhost", f"/identify/{session_id}", headers={"Cookie": f"sessionid={cookie}"}
        )
        event = receive_json(till)

    assert (page.status_code, "The till Till 7 now knows it" in page.text) == (200, True)
    assert (event["event"], event["channel"]) == ("card_identified", channel)
    data = json.loads(event["data"])
    card = data["card_data"]
    assert (data["session_id"], data["status"]) == (session_id, "authenticated")
    assert (card["customer_code"], card["points_balance"], card["stamp_count"], card["status"]) == (
        code,
        0,
        0,
        "active",
    )
    assert card["user"] == {"id": customer.pk, "name": "", "phone": "", "email": customer.email}
    assert card["partner"] == {"id": layout.organization_a.pk, "name": "Production Bakery"}


def test_the_other_organization_sees_none_of_it_through_the_pooler(layout):
    code = enroll(layout, f"private-{uuid.uuid4().hex[:8]}@example.com")
    created = layout.pos_post("prod-a.localhost", layout.key_a, "/webhook/qr-card-sessions", {})
    session_a = created.json()["data"]["session_id"]
    with tenant_context(layout.organization_b):
        customers_b = Customer.objects.count()

    wrong_host = layout.pos_get("prod-a.localhost", layout.key_b, "/webhook/customer", code=code)
    own_host = layout.pos_get("prod-b.localhost", layout.key_b, "/webhook/customer", code=code)
    platform_host = layout.pos_get("localhost", layout.key_b, "/webhook/customer", code=code)
    session = layout.pos_get("prod-b.localhost", layout.key_b, f"/webhook/qr-card-sessions/{session_a}")
    earn = layout.pos_post(
        "prod-b.localhost",
        layout.key_b,
        "/webhook/pos",
        {"customer_code": code, "amount": 5, "external_id": "x"},
    )

    assert (wrong_host.status_code, wrong_host.json()) == (401, {"error": "invalid or missing API key"})
    assert (own_host.status_code, own_host.json()["error"]) == (404, "customer_not_found")
    assert (platform_host.status_code, platform_host.json()["error"]) == (404, "customer_not_found")
    assert (session.status_code, session.json()) == (404, {"error": "qr_session_not_found"})
    assert (earn.status_code, earn.json()["error"]) == (404, "customer_not_found")
    with tenant_context(layout.organization_b):
        assert Customer.objects.count() == customers_b
    with tenant_context(layout.organization_a):
        assert LedgerEntry.objects.filter(card__customer__customer_code=code).count() == 0


def test_beat_schedules_the_heartbeat_that_a_worker_runs(layout):
    def heartbeat() -> str | None:
        layout.processes.assert_alive()
        body = _healthz(layout.port)
        return body["worker"]["last_heartbeat"] if body else None

    last = wait_until("beat's heartbeat task to run on a worker", heartbeat, timeout=BEAT_WAIT_SECONDS)

    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+\+00:00", last)
