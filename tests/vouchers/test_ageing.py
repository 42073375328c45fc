"""Vouchers that age (vouchers.services.vouchers_age, the job vouchers.tasks.age_vouchers):
vouchers of an ended promotion become expired, come back when staff extend it, locks past
their time are released without undoing a newer lock; never early, a run stopped after a
chunk, real workers, and another organization untouched."""

from contextlib import contextmanager
from datetime import timedelta

import time_machine
from django.db import transaction
from django.utils import timezone
from django_tenants.utils import tenant_context

from loyalty_platform.accounts.models import User
from loyalty_platform.audit.models import AuditLogEntry
from loyalty_platform.core.tasks import dispatch_to_organizations
from loyalty_platform.profile.selectors import customer_wallet, vouchers_payload
from loyalty_platform.vouchers.models import Promotion, Voucher
from loyalty_platform.vouchers.services import (
    Ageing,
    voucher_check,
    voucher_lock,
    voucher_redeem,
    voucher_reverse,
    voucher_void,
    vouchers_age,
    vouchers_age_chunk,
    vouchers_generate,
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

JOB = "loyalty_platform.vouchers.tasks.age_vouchers"


def _vouchers(organization, count: int, customer=None, **promotion_fields) -> list[Voucher]:
    with tenant_context(organization):
        promotion = Promotion.objects.create(title="5 off", **promotion_fields)
        return vouchers_generate(promotion=promotion, count=count, customer=customer)


def _rows(organization, vouchers) -> list[tuple]:
    with tenant_context(organization):
        by_pk = {
            v.pk: (v.status, v.locked_until, v.release_key_hash != "")
            for v in Voucher.objects.filter(pk__in=[v.pk for v in vouchers])
        }
    return [by_pk[v.pk] for v in vouchers]


def _statuses(organization, vouchers) -> list[str]:
    return [status for status, _, _ in _rows(organization, vouchers)]


def test_vouchers_of_ended_promotions_expire_and_run_out_locks_are_released(organization, other_organization):
    now = timezone.now()
    ended = _vouchers(organization, 4, valid_until=now - timedelta(days=1))
    running = _vouchers(organization, 1, valid_until=now + timedelta(days=1))
    endless = _vouchers(organization, 2)
    theirs = _vouchers(other_organization, 1, valid_until=now - timedelta(days=1))
    with tenant_context(organization):
        Voucher.objects.filter(pk=ended[1].pk).update(status="redeemed", uses=1)
        Voucher.objects.filter(pk=ended[2].pk).update(status="void")
        lapsed = voucher_lock(code=endless[0].code, ttl_seconds=60)
        held = voucher_lock(code=endless[1].code, ttl_seconds=600)
    with tenant_context(other_organization):
        Voucher.objects.filter(pk=theirs[0].pk).update(
            locked_until=now - timedelta(days=1), release_key_hash="x"
        )

    with tenant_context(organization):
        assert vouchers_age(now=now + timedelta(seconds=61)) == Ageing(
            expired=2, reopened=0, locks_released=1
        )
        assert vouchers_age(now=now + timedelta(seconds=61)) == Ageing()

    assert _statuses(organization, ended) == ["expired", "redeemed", "void", "expired"]
    assert _rows(organization, running + endless) == [
        ("active", None, False),
        ("active", None, False),
        ("active", held.locked_until, True),
    ]
    assert lapsed.locked_until < now + timedelta(seconds=61)
    assert _rows(other_organization, theirs) == [("active", now - timedelta(days=1), True)]


def test_nothing_ages_early_and_the_till_refuses_from_the_date_before_any_run(organization):
    customer = create_customer(organization)
    end = timezone.now() + timedelta(days=3)
    (voucher,) = _vouchers(organization, 1, customer=customer, valid_until=end)
    with tenant_context(organization):
        with time_machine.travel(end - timedelta(seconds=1), tick=False):
            assert vouchers_age() == Ageing()
            assert voucher_check(code=voucher.code).pk == voucher.pk
            assert [v["code"] for v in vouchers_payload(customer)] == [voucher.code]
            lock = voucher_lock(code=voucher.code, ttl_seconds=1)
        assert _rows(organization, [voucher]) == [("active", lock.locked_until, True)]

        with time_machine.travel(end, tick=False):
            with refused("voucher_expired"):
                voucher_redeem(code=voucher.code, release_key=lock.release_key)
            assert vouchers_payload(customer) == []
            assert customer_wallet(customer, currency="EUR").vouchers == []
            assert vouchers_age() == Ageing(expired=1, reopened=0, locks_released=1)
            assert _rows(organization, [voucher]) == [("expired", None, False)]
            with refused("voucher_expired"):
                voucher_check(code=voucher.code)


def test_a_lock_is_released_only_once_its_time_has_come(organization):
    (voucher,) = _vouchers(organization, 1)
    with tenant_context(organization):
        taken_at = timezone.now()
        with time_machine.travel(taken_at, tick=False):
            lock = voucher_lock(code=voucher.code, ttl_seconds=120)
        with time_machine.travel(taken_at + timedelta(seconds=119), tick=False):
            assert vouchers_age() == Ageing()
        assert _rows(organization, [voucher]) == [("active", lock.locked_until, True)]
        with time_machine.travel(taken_at + timedelta(seconds=120), tick=False):
            assert vouchers_age() == Ageing(locks_released=1)
    assert _rows(organization, [voucher]) == [("active", None, False)]


def test_an_extended_promotion_brings_its_expired_vouchers_back(organization):
    now = timezone.now()
    vouchers = _vouchers(organization, 2, valid_until=now - timedelta(hours=1))
    with tenant_context(organization):
        assert vouchers_age(now=now) == Ageing(expired=2)
        Promotion.objects.filter(pk=vouchers[0].promotion_id).update(valid_until=now + timedelta(days=7))
        # Usable at once (the till goes by the date); a use before the next run is right too.
        redemption = voucher_redeem(code=vouchers[0].code, external_id="r1")
        assert redemption.voucher.status == "redeemed"
        assert vouchers_age(now=now) == Ageing(reopened=1)
    assert _statuses(organization, vouchers) == ["redeemed", "active"]
    with tenant_context(organization):
        assert voucher_reverse(code=vouchers[0].code).status == "active"
        Promotion.objects.filter(pk=vouchers[0].promotion_id).update(valid_until=now - timedelta(minutes=1))
        with refused("voucher_expired"):
            voucher_redeem(code=vouchers[0].code)
        assert vouchers_age(now=now) == Ageing(expired=2)
    assert _statuses(organization, vouchers) == ["expired", "expired"]


def test_reversing_a_use_after_the_promotion_ended_leaves_the_voucher_expired(organization):
    end = timezone.now() + timedelta(hours=1)
    (voucher,) = _vouchers(organization, 1, valid_until=end)
    with tenant_context(organization):
        voucher_redeem(code=voucher.code, external_id="r1")
        with time_machine.travel(end + timedelta(minutes=1), tick=False):
            assert voucher_reverse(code=voucher.code).status == "expired"
            assert vouchers_age() == Ageing()
    assert _statuses(organization, [voucher]) == ["expired"]


def test_staff_can_void_an_expired_voucher_and_the_audit_says_it_was_expired(organization):
    (voucher,) = _vouchers(organization, 1, valid_until=timezone.now() - timedelta(days=1))
    with tenant_context(organization):
        actor = User.objects.create_user("manager@example.com", "pw", is_staff=True)
        vouchers_age()
        voided = voucher_void(voucher=Voucher.objects.get(pk=voucher.pk), actor=actor, reason="Misprint")
        changes = AuditLogEntry.objects.get(action="vouchers.void").details["changes"]
    assert voided.status == "void"
    assert changes == {"status": ["expired", "void"]}
    assert _statuses(organization, [voucher]) == ["void"]


def test_a_run_stopped_after_its_first_chunk_leaves_the_rest_to_the_next(organization):
    now = timezone.now()
    ended = _vouchers(organization, 5, valid_until=now - timedelta(days=1))
    with tenant_context(organization):
        assert vouchers_age_chunk(now=now, size=2) == Ageing(expired=2)  # then the worker died
        assert sorted(_statuses(organization, ended)) == ["active"] * 3 + ["expired"] * 2
        assert vouchers_age(now=now, chunk_size=2) == Ageing(expired=3)
        assert vouchers_age(now=now, chunk_size=2) == Ageing()
    assert _statuses(organization, ended) == ["expired"] * 5


def test_a_till_locking_as_the_job_runs_keeps_its_lock(committed_db):
    organization, _ = committed_organization("voucher-ageing-held", "Held Vouchers")
    (voucher,) = _vouchers(organization, 1)
    with tenant_context(organization):
        voucher_lock(code=voucher.code, ttl_seconds=1)
        Voucher.objects.filter(pk=voucher.pk).update(locked_until=timezone.now() - timedelta(minutes=1))
    taken = {}

    @contextmanager
    def locking():
        with tenant_context(organization), transaction.atomic():
            taken["lock"] = voucher_lock(code=voucher.code, ttl_seconds=600)
            yield

    with held_by_another_session(locking), tenant_context(organization):
        # The old lock ran out; another till is taking a new one right now.
        assert vouchers_age() == Ageing()
    assert _rows(organization, [voucher]) == [("active", taken["lock"].locked_until, True)]
    with tenant_context(organization):
        assert vouchers_age() == Ageing()
        with refused("voucher_locked"):
            voucher_redeem(code=voucher.code)
        assert voucher_redeem(code=voucher.code, release_key=taken["lock"].release_key).voucher.uses == 1


def test_a_new_lock_taken_while_the_job_releases_the_old_one_stands(committed_db):
    organization, _ = committed_organization("voucher-ageing-race", "Racing Vouchers")
    vouchers = _vouchers(organization, 6)
    with tenant_context(organization):
        for voucher in vouchers:
            voucher_lock(code=voucher.code, ttl_seconds=1)
        Voucher.objects.filter(pk__in=[v.pk for v in vouchers]).update(
            locked_until=timezone.now() - timedelta(minutes=1)
        )

    def call(index):
        with tenant_context(organization):
            if index == 0:
                return vouchers_age(chunk_size=2)
            return voucher_lock(code=vouchers[index - 1].code, ttl_seconds=600)

    ageing, *locks = run_at_once(1 + len(vouchers), call)

    assert ageing.expired == ageing.reopened == 0
    assert 0 <= ageing.locks_released <= len(vouchers)
    assert _rows(organization, vouchers) == [("active", lock.locked_until, True) for lock in locks]
    with tenant_context(organization):
        for voucher, lock in zip(vouchers, locks, strict=True):
            voucher_redeem(code=voucher.code, release_key=lock.release_key)
    assert _statuses(organization, vouchers) == ["redeemed"] * len(vouchers)


def test_two_workers_running_the_beat_entry_at_once_age_each_voucher_once(committed_db):
    organization, _ = committed_organization("voucher-ageing-workers", "Worker Vouchers")
    other, _ = committed_organization("voucher-ageing-workers-b", "Other Worker Vouchers")
    now = timezone.now()
    ended = _vouchers(organization, 30, valid_until=now - timedelta(hours=1))
    running = _vouchers(organization, 3, valid_until=now + timedelta(days=1))
    theirs = _vouchers(other, 2, valid_until=now + timedelta(days=1))
    with tenant_context(organization):
        lapsed = voucher_lock(code=running[0].code, ttl_seconds=1)
        Voucher.objects.filter(pk=running[0].pk).update(locked_until=now - timedelta(minutes=1))
    assert lapsed.release_key

    with celery_worker("vouchers-one"), celery_worker("vouchers-two"):
        for _ in range(2):
            dispatch_to_organizations.delay(JOB)
        wait_for(lambda: _statuses(organization, ended) == ["expired"] * 30)
        wait_until_idle()

    assert _statuses(organization, ended) == ["expired"] * 30
    assert _rows(organization, running) == [("active", None, False)] * 3
    assert _statuses(other, theirs) == ["active", "active"]
    assert last_summary(other, JOB) == {"expired": 0, "reopened": 0, "locks_released": 0}
    assert last_summary(organization, JOB) is not None
    assert last_error(organization, JOB) is None


def test_the_api_answers_an_expired_voucher_with_its_status_and_no_other_organization_sees_it(
    organization, programs, pos, pos_b
):
    (voucher,) = _vouchers(organization, 1, valid_until=timezone.now() - timedelta(minutes=1))
    with tenant_context(organization):
        vouchers_age()

    found = pos.get(f"/webhook/vouchers/{voucher.code}").json()["data"]
    redeem = pos.post(f"/webhook/vouchers/{voucher.code}/redeem", {"external_id": "x1"})
    foreign = pos_b.get(f"/webhook/vouchers/{voucher.code}")

    assert (found["status"], found["redeemable"], found["reason"]) == ("expired", False, "voucher_expired")
    assert (redeem.status_code, redeem.json()) == (410, {"error": "voucher_expired"})
    assert (foreign.status_code, foreign.json()) == (404, {"error": "voucher_not_found"})
    assert _statuses(organization, [voucher]) == ["expired"]
