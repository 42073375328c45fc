"""Rewards bought in advance and never collected expire after the point program's
reward_collect_days and give their points back once (rewards.services.reward_receptions_expire,
the job rewards.tasks.expire_reward_receptions): exact ledgers, never early, tills racing the
job, a run stopped after a chunk, two real workers at once, another organization untouched."""

from contextlib import contextmanager
from datetime import timedelta

import time_machine
from django.db import connection, transaction
from django.db.models import Sum
from django.utils import timezone
from django_tenants.utils import tenant_context

from loyalty_platform.core.errors import DomainError
from loyalty_platform.core.tasks import dispatch_to_organizations
from loyalty_platform.customers.models import Customer
from loyalty_platform.profile.selectors import customer_wallet
from loyalty_platform.programs.models import Card, LedgerEntry, Program
from loyalty_platform.rewards.models import Reward, RewardReception
from loyalty_platform.rewards.services import (
    ReceptionExpiry,
    reward_collect_deadline,
    reward_reception_collect,
    reward_reception_create,
    reward_reception_reverse,
    reward_receptions_expire,
    reward_receptions_expire_chunk,
)
from tests.coupons.job_workers import last_error, last_summary, wait_for, wait_until_idle
from tests.pos_fixtures import (
    committed_organization,
    create_customer,
    held_by_another_session,
    refused,
    run_at_once,
)
from tests.processes import celery_worker

JOB = "loyalty_platform.rewards.tasks.expire_reward_receptions"
DAYS = 7


def _window(organization, days: int | None = DAYS) -> Reward:
    """The point program's window to collect (saved, so the cached programs hear of it) and a
    reward that can be bought in advance."""
    with tenant_context(organization):
        program = Program.objects.get(kind="point", is_active=True)
        program.reward_collect_days = days
        program.save(update_fields=["reward_collect_days"])
        return Reward.objects.create(name="Mug", required_credits=40, allow_pre_redeem=True)


def _bought(organization, reward, customer, at, count: int = 1) -> list[RewardReception]:
    with tenant_context(organization), time_machine.travel(at, tick=False):
        return [
            reward_reception_create(reward=reward, customer=customer, pre_redeem=True, external_id=f"buy-{n}")
            for n in range(count)
        ]


def _statuses(organization, receptions) -> list[str]:
    with tenant_context(organization):
        by_pk = dict(
            RewardReception.objects.filter(pk__in=[r.pk for r in receptions]).values_list("pk", "status")
        )
    return [by_pk[r.pk] for r in receptions]


def _ledger(organization, customer) -> tuple[int, int, int]:
    """The point card's balance, the sum of its entries, and its entries."""
    with tenant_context(organization):
        card = Card.objects.get(customer=customer, program__kind="point")
        return card.balance, card.entries.aggregate(total=Sum("delta"))["total"], card.entries.count()


def _sessions_waiting_on_a_lock() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0]


def _give_backs(organization, receptions) -> list[int]:
    """How many reversal entries undo each reception's purchase."""
    with tenant_context(organization):
        return [
            LedgerEntry.objects.filter(cause="reversal", reversed_entry_id=r.ledger_entry_id).count()
            for r in receptions
        ]


def test_uncollected_receptions_past_the_window_expire_with_their_points_back(
    organization, other_organization, programs
):
    mug = _window(organization)
    now = timezone.now()
    old = now - timedelta(days=DAYS, seconds=1)
    customer = create_customer(organization, points=400)
    due = _bought(organization, mug, customer, old, count=2)
    (young,) = _bought(organization, mug, customer, now - timedelta(days=DAYS - 1))
    collected, reversed_, spent = _bought(organization, mug, customer, old, count=3)
    blocked_customer = create_customer(organization, points=40)
    (blocked,) = _bought(organization, mug, blocked_customer, old)
    with tenant_context(organization):
        RewardReception.objects.filter(pk=collected.pk).update(status="collected", collected_at=old)
        RewardReception.objects.filter(pk=reversed_.pk).update(status="reversed")
        RewardReception.objects.filter(pk=spent.pk).update(status="spent")
        gift = RewardReception.objects.create(reward=mug, customer=customer, points=0, status="collectable")
        RewardReception.objects.filter(pk=gift.pk).update(created_at=old)
        Customer.objects.filter(pk=blocked_customer.pk).update(status="blocked")
    assert _ledger(organization, customer) == (160, 160, 7)

    theirs_customer = create_customer(other_organization, points=0)
    with tenant_context(other_organization):
        Program.objects.create(kind="point", name="Other", reward_collect_days=1)
        theirs = RewardReception.objects.create(
            reward=Reward.objects.create(name="Cup", required_credits=1),
            customer=theirs_customer,
            points=0,
            status="collectable",
        )
        RewardReception.objects.filter(pk=theirs.pk).update(created_at=old)

    with tenant_context(organization):
        assert reward_receptions_expire(now=now) == ReceptionExpiry(expired=3, points_returned=80)
        assert reward_receptions_expire(now=now) == ReceptionExpiry()

    assert _statuses(organization, [*due, gift, young, collected, reversed_, spent, blocked]) == [
        "expired",
        "expired",
        "expired",
        "collectable",
        "collected",
        "reversed",
        "spent",
        "collectable",
    ]
    assert _ledger(organization, customer) == (240, 240, 9)
    assert _give_backs(organization, [*due, young, blocked]) == [1, 1, 0, 0]
    assert _ledger(organization, blocked_customer) == (0, 0, 2)
    assert _statuses(other_organization, [theirs]) == ["collectable"]
    with tenant_context(organization):
        entry = LedgerEntry.objects.get(cause="reversal", reversed_entry_id=due[0].ledger_entry_id)
        assert (entry.delta, entry.note) == (40, "reward not collected in time: Mug")
        assert RewardReception.objects.get(pk=due[0].pk).expired_at is not None


def test_nothing_expires_before_the_window_closes_and_collection_is_refused_from_then(organization, programs):
    mug = _window(organization)
    customer = create_customer(organization, points=100)
    bought_at = timezone.now()
    first, second = _bought(organization, mug, customer, bought_at, count=2)
    end = bought_at + timedelta(days=DAYS)
    with tenant_context(organization):
        program = Program.objects.get(kind="point", is_active=True)
        assert reward_collect_deadline(program, end) == bought_at

        with time_machine.travel(end - timedelta(seconds=1), tick=False):
            assert reward_receptions_expire() == ReceptionExpiry()
            wallet = customer_wallet(customer, currency="EUR")
            assert [r.pk for r in wallet.collectable_rewards] == [first.pk, second.pk]
            assert reward_reception_collect(reception_id=first.pk).status == "collected"

        with time_machine.travel(end, tick=False):
            # The job has not run: the till is refused, the wallet leaves it out.
            with refused("reception_not_collectable"):
                reward_reception_collect(reception_id=second.pk)
            assert customer_wallet(customer, currency="EUR").collectable_rewards == []
            assert reward_receptions_expire() == ReceptionExpiry(expired=1, points_returned=40)
            with refused("reception_not_reversible"):
                reward_reception_reverse(reception_id=second.pk, external_id="late")
            with refused("reception_not_collectable"):
                reward_reception_collect(reception_id=second.pk)
    assert _statuses(organization, [first, second]) == ["collected", "expired"]
    assert _ledger(organization, customer) == (60, 60, 4)


def test_without_a_window_nothing_expires(organization, programs):
    mug = _window(organization, days=None)
    customer = create_customer(organization, points=40)
    (reception,) = _bought(organization, mug, customer, timezone.now() - timedelta(days=3650))
    with tenant_context(organization):
        assert reward_receptions_expire() == ReceptionExpiry()
        assert reward_reception_collect(reception_id=reception.pk).status == "collected"


def test_a_run_stopped_after_its_first_chunk_gives_nothing_back_twice(organization, programs):
    mug = _window(organization)
    customer = create_customer(organization, points=200)
    now = timezone.now()
    due = _bought(organization, mug, customer, now - timedelta(days=DAYS + 1), count=5)
    with tenant_context(organization):
        deadline = now - timedelta(days=DAYS)
        first = reward_receptions_expire_chunk(deadline=deadline, size=2)  # then the worker died
        assert (first.expired, first.points_returned) == (2, 80)
        assert sorted(_statuses(organization, due)) == ["collectable"] * 3 + ["expired"] * 2
        assert reward_receptions_expire(now=now, chunk_size=2) == ReceptionExpiry(
            expired=3, points_returned=120
        )
        assert reward_receptions_expire(now=now, chunk_size=2) == ReceptionExpiry()
    assert _statuses(organization, due) == ["expired"] * 5
    assert _give_backs(organization, due) == [1] * 5
    assert _ledger(organization, customer) == (200, 200, 11)


def test_tills_reversing_and_buying_while_the_job_runs_get_each_reception_back_once(committed_db):
    organization, _ = committed_organization("reception-expiry-race", "Racing Receptions")
    mug = _window(organization)
    customer = create_customer(organization, points=400)
    due = _bought(organization, mug, customer, timezone.now() - timedelta(days=DAYS + 1), count=6)
    buys = 2

    def call(index):
        with tenant_context(organization):
            if index == 0:
                return reward_receptions_expire(chunk_size=2)
            if index <= len(due):
                try:
                    reward_reception_reverse(reception_id=due[index - 1].pk, external_id=f"rv-{index}")
                except DomainError as refusal:
                    return refusal.code
                return "reversed"
            return reward_reception_create(reward=mug, customer=customer, external_id=f"new-{index}").status

    expiry, *answers = run_at_once(1 + len(due) + buys, call)

    reversals, purchases = answers[: len(due)], answers[len(due) :]
    statuses = _statuses(organization, due)
    assert [a if a == "reversed" else "expired" for a in reversals] == statuses
    assert set(reversals) <= {"reversed", "reception_not_reversible"}
    assert purchases == ["spent"] * buys
    assert expiry == ReceptionExpiry(
        expired=statuses.count("expired"), points_returned=40 * statuses.count("expired")
    )
    assert _give_backs(organization, due) == [1] * len(due)
    assert _ledger(organization, customer) == (400 - 40 * buys, 400 - 40 * buys, 1 + 6 + 6 + buys)


def test_two_workers_running_the_beat_entry_at_once_give_each_reception_back_once(committed_db):
    organization, _ = committed_organization("reception-expiry-workers", "Worker Receptions")
    other, _ = committed_organization("reception-expiry-workers-b", "Other Worker Receptions")
    mug = _window(organization)
    long_ago = timezone.now() - timedelta(days=DAYS + 2)
    customers = [create_customer(organization, points=120) for _ in range(8)]
    due = [r for customer in customers for r in _bought(organization, mug, customer, long_ago, count=3)]
    young_customer = create_customer(organization, points=40)
    (young,) = _bought(organization, mug, young_customer, timezone.now())
    their_mug = _window(other)
    their_customer = create_customer(other, points=40)
    (theirs,) = _bought(other, their_mug, their_customer, timezone.now() - timedelta(days=1))

    with tenant_context(organization):
        first = RewardReception.objects.filter(pk__in=[r.pk for r in due]).order_by("created_at", "pk")[0]

    @contextmanager
    def holding_the_first():
        with tenant_context(organization), transaction.atomic():
            RewardReception.objects.select_for_update().get(pk=first.pk)
            yield

    with celery_worker("receptions-one"), celery_worker("receptions-two"):
        # Both runs read the same due receptions and wait at the first: from there they go
        # through the same list at once.
        with held_by_another_session(holding_the_first):
            for _ in range(2):
                dispatch_to_organizations.delay(JOB)
            wait_for(lambda: _sessions_waiting_on_a_lock() == 2)
        wait_for(lambda: _statuses(organization, due) == ["expired"] * len(due))
        wait_until_idle()

    assert _statuses(organization, due) == ["expired"] * len(due)
    assert _give_backs(organization, due) == [1] * len(due)
    assert [_ledger(organization, customer) for customer in customers] == [(120, 120, 7)] * len(customers)
    assert _statuses(organization, [young]) == ["collectable"]
    assert _ledger(organization, young_customer) == (0, 0, 2)
    assert _statuses(other, [theirs]) == ["collectable"]
    assert last_summary(other, JOB) == {"expired": 0, "points_returned": 0}
    assert last_summary(organization, JOB) is not None
    assert last_error(organization, JOB) is None


def test_the_api_refuses_an_expired_reception_and_the_wallet_leaves_it_out(
    organization, programs, pos, pos_b
):
    mug = _window(organization)
    customer = create_customer(organization, points=40)
    (reception,) = _bought(organization, mug, customer, timezone.now() - timedelta(days=DAYS + 1))
    with tenant_context(organization):
        reward_receptions_expire()

    collect = pos.post(f"/webhook/reward-receptions/{reception.pk}/collect", {"external_id": "c1"})
    reverse = pos.post(f"/webhook/reward-receptions/{reception.pk}/reverse", {"external_id": "r1"})
    wallet = pos.get(f"/webhook/customers/{customer.customer_code}/wallet").json()["data"]
    foreign = pos_b.post(f"/webhook/reward-receptions/{reception.pk}/collect", {"external_id": "c2"})

    assert (collect.status_code, collect.json()) == (409, {"error": "reception_not_collectable"})
    assert (reverse.status_code, reverse.json()) == (409, {"error": "reception_not_reversible"})
    assert (wallet["points"], wallet["collectable_rewards"]) == (40, [])
    assert (foreign.status_code, foreign.json()["error"]) == (404, "reception_not_found")
    assert _ledger(organization, customer) == (40, 40, 3)
