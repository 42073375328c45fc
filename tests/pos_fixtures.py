import json
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager
from decimal import Decimal

import pytest
from django.db import connection, connections, transaction
from django.test import Client
from django_tenants.utils import tenant_context

from loyalty_platform.core.errors import DomainError
from loyalty_platform.customers.models import Customer
from loyalty_platform.programs.models import Card, LedgerEntry, PointLot, Program
from loyalty_platform.programs.services import card_number_candidate
from tenants.models import Organization
from tenants.services import api_key_create, organization_create
from tests.balance_events import CustomerListener

UNLIMITED = {"transactions": 1_000_000, "customer": 1_000_000}


class PosClient:
    """Calls the POS API on one host with one key, as a terminal would."""

    def __init__(self, host: str, key: str | None):
        self.client = Client(HTTP_HOST=host)
        self.key = key

    def _headers(self, headers: dict | None) -> dict:
        base = {"HTTP_X_API_KEY": self.key} if self.key else {}
        return {**base, **(headers or {})}

    def post(self, path: str, body=None, raw: bytes | str | None = None, headers: dict | None = None):
        content = raw if raw is not None else json.dumps(body, default=str)
        return self.client.post(path, data=content, content_type="application/json", **self._headers(headers))

    def get(self, path: str, params: dict | None = None, headers: dict | None = None):
        return self.client.get(path, params or {}, **self._headers(headers))


def issue_key(organization: Organization, rate_limits: dict | None = None) -> str:
    issued = api_key_create(organization=organization, label="test till")
    issued.api_key.rate_limits = UNLIMITED if rate_limits is None else rate_limits
    issued.api_key.save(update_fields=["rate_limits"])
    return issued.secret_key


@pytest.fixture
def key_a(organization) -> str:
    return issue_key(organization)


@pytest.fixture
def key_b(other_organization) -> str:
    return issue_key(other_organization)


@pytest.fixture
def pos(organization, key_a) -> PosClient:
    return PosClient("test-a.localhost", key_a)


@pytest.fixture
def pos_b(other_organization, key_b) -> PosClient:
    return PosClient("test-b.localhost", key_b)


def create_programs(organization: Organization) -> dict[str, Program]:
    with tenant_context(organization):
        return {
            "point": Program.objects.create(
                kind="point",
                name="Points",
                earn_points_per_unit=Decimal("1"),
                redeem_points_per_unit=100,
                min_redeem_points=100,
            ),
            "stamp": Program.objects.create(
                kind="stamp", name="Coffee", stamps_per_card=10, reward_name="Free Coffee"
            ),
        }


@pytest.fixture
def programs(organization) -> dict[str, Program]:
    return create_programs(organization)


_next_code = iter(range(200000, 999999, 7))


def create_customer(
    organization: Organization, *, email: str | None = None, points: int = 0, stamps: int = 0
):
    """A customer with cards holding the given balances (each with its ledger entry)."""
    code = next(_next_code)
    with tenant_context(organization):
        customer = Customer.objects.create(
            customer_code=code,
            email=email or f"c{code}@example.com",
            consent_terms_at="2026-01-01T00:00:00Z",
            consent_privacy_at="2026-01-01T00:00:00Z",
        )
        for kind, balance in (("point", points), ("stamp", stamps)):
            program = Program.objects.filter(kind=kind, is_active=True).first()
            if program is None:
                continue
            card = Card.objects.create(
                customer=customer, program=program, card_number=card_number_candidate()
            )
            if balance:
                card.balance = balance
                card.save(update_fields=["balance"])
                entry = LedgerEntry.objects.create(
                    card=card, delta=balance, balance_after=balance, cause="adjust"
                )
                if kind == "point" and balance > 0:
                    PointLot.objects.create(
                        card=card,
                        entry=entry,
                        points=balance,
                        remaining=balance,
                        earned_at=entry.created_at,
                    )
    return customer


def balances(organization: Organization, customer: Customer) -> dict:
    with tenant_context(organization):
        cards = {
            card.program.kind: card
            for card in Card.objects.filter(customer=customer).select_related("program")
        }
        return {
            kind: (card.balance, sum(card.entries.values_list("delta", flat=True)), card.entries.count())
            for kind, card in cards.items()
        }


def snapshot(organization: Organization) -> dict:
    """Everything a POS call may change, to assert that a refused call changed nothing."""
    from loyalty_platform.coupons.models import Coupon
    from loyalty_platform.pos_api.models import IdempotencyRecord
    from loyalty_platform.verification.models import PinChallenge

    with tenant_context(organization):
        return {
            "customers": list(Customer.objects.order_by("pk").values_list("pk", "email", "status")),
            "cards": list(Card.objects.order_by("pk").values_list("pk", "balance")),
            "entries": LedgerEntry.objects.count(),
            "coupons": list(Coupon.objects.order_by("pk").values_list("pk", "status")),
            "idempotency": IdempotencyRecord.objects.count(),
            "challenges": list(
                PinChallenge.objects.order_by("pk").values_list("pk", "status", "remaining_attempts")
            ),
        }


def committed_organization(slug: str, name: str, **create_fields) -> tuple[Organization, bool]:
    """An organization of its own with programs, committed and kept for the test run (the
    test database is not flushed): created on first use; True when it was created now."""
    organization = Organization.objects.filter(slug=slug).first()
    if organization is not None:
        return organization, False
    organization = organization_create(slug=slug, name=name, **create_fields)
    create_programs(organization)
    return organization, True


@pytest.fixture(scope="session")
def busy(django_db_setup, django_db_blocker):
    """An organization with programs and an unlimited key, committed."""
    with django_db_blocker.unblock():
        organization, _ = committed_organization("test-concurrency", "Busy Café")
        key = issue_key(organization)
        connections.close_all()
    return organization, key


def run_at_once(count: int, call):
    """Start `count` calls together (a barrier releases them at once); return their results."""
    barrier = threading.Barrier(count)

    def worker(index):
        try:
            barrier.wait(timeout=30)
            return call(index)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(worker, range(count)))


def wait_for_a_lock_wait(timeout: float = 20) -> None:
    """Until some other session of this database waits on a lock. Call it outside any
    transaction: pg_stat_activity keeps one snapshot per transaction."""
    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
            )
            if cursor.fetchone()[0]:
                return
            time.sleep(0.05)
    raise AssertionError("no session waited on a lock")


@contextmanager
def held_by_another_session(hold: Callable[[], AbstractContextManager]):
    """Another thread, with a database session of its own, enters `hold()` and stays inside
    it until this block ends: a lock held by a call still running or a slow till."""
    held, release = threading.Event(), threading.Event()

    def stay_inside() -> None:
        try:
            with hold():
                held.set()
                release.wait(timeout=30)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=1) as pool:
        holder = pool.submit(stay_inside)
        assert held.wait(timeout=10)
        try:
            yield
        finally:
            release.set()
            holder.result(timeout=10)


@contextmanager
def _advisory_lock(lock_id: int):
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s)", [lock_id])
        yield
        cursor.execute("SELECT pg_advisory_unlock(%s)", [lock_id])


def holding_advisory_lock(lock_id: int):
    """Another database session holds the advisory lock `lock_id` meanwhile, as the
    transaction of a call still running would."""
    return held_by_another_session(lambda: _advisory_lock(lock_id))


@pytest.fixture
def listen(organization):
    """listen(customer) -> a CustomerListener on the customer's channel (tests/balance_events.py)."""
    listeners = []

    def start(customer):
        listeners.append(CustomerListener(organization, customer))
        return listeners[-1]

    yield start
    for listener in listeners:
        listener.close()


@contextmanager
def refused(code: str):
    """Expect a service to refuse with `code`. Services nest without a savepoint, so the
    call runs in one here (as a view's transaction would hold it) and the test can go on."""
    with pytest.raises(DomainError, match=f"^{code}$") as caught, transaction.atomic():
        yield caught


@contextmanager
def tasks_run(django_capture_on_commit_callbacks):
    """The block's on-commit work done, the Celery tasks it queues run here (eager)."""
    from loyalty_platform.celery import app as celery_app

    celery_app.conf.task_always_eager = True
    try:
        with django_capture_on_commit_callbacks(execute=True):
            yield
    finally:
        celery_app.conf.task_always_eager = False
