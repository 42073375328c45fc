"""Coupons past their date become expired (coupons.services.coupons_expire, the job
coupons.tasks.expire_coupons): exact outcomes, never early, a till redeeming at the same
moment, a run stopped after a chunk, a real worker, and another organization untouched."""

from contextlib import contextmanager
from datetime import timedelta

import time_machine
from django.db import transaction
from django.utils import timezone
from django_tenants.utils import tenant_context

from loyalty_platform.core.errors import DomainError
from loyalty_platform.core.tasks import dispatch_to_organizations
from loyalty_platform.coupons.models import Coupon
from loyalty_platform.coupons.services import (
    coupon_issue,
    coupon_redeem,
    coupon_redeem_check,
    coupons_expire,
    coupons_expire_chunk,
)
from loyalty_platform.profile.selectors import coupons_payload, customer_wallet
from loyalty_platform.programs.models import Program
from tests.coupons.job_workers import last_error, last_summary, wait_for, wait_until_idle
from tests.pos_fixtures import (
    committed_organization,
    create_customer,
    held_by_another_session,
    refused,
    run_at_once,
)
from tests.processes import celery_worker

JOB = "loyalty_platform.coupons.tasks.expire_coupons"


def _coupons(organization, customer, *expires_at, **fields) -> list[Coupon]:
    with tenant_context(organization):
        program = Program.objects.get(kind="stamp", is_active=True)
        made = []
        for when in expires_at:
            coupon = coupon_issue(customer=customer, program=program)
            Coupon.objects.filter(pk=coupon.pk).update(expires_at=when, **fields)
            made.append(coupon)
        return made


def _statuses(organization, coupons) -> list[str]:
    with tenant_context(organization):
        by_pk = dict(Coupon.objects.filter(pk__in=[c.pk for c in coupons]).values_list("pk", "status"))
    return [by_pk[c.pk] for c in coupons]


def test_only_active_coupons_past_their_date_expire(organization, other_organization, programs):
    customer = create_customer(organization)
    now = timezone.now()
    past, at_now, future, forever = _coupons(
        organization, customer, now - timedelta(days=1), now, now + timedelta(seconds=1), None
    )
    redeemed, void = _coupons(organization, customer, now - timedelta(days=1), now - timedelta(days=1))
    with tenant_context(organization):
        Coupon.objects.filter(pk=redeemed.pk).update(status="redeemed")
        Coupon.objects.filter(pk=void.pk).update(status="void")
    elsewhere = create_customer(other_organization)
    with tenant_context(other_organization):
        Program.objects.create(kind="stamp", name="Other", stamps_per_card=5)
    (theirs,) = _coupons(other_organization, elsewhere, now - timedelta(days=1))

    with tenant_context(organization):
        assert coupons_expire(now=now) == 2
        assert coupons_expire(now=now) == 0

    assert _statuses(organization, [past, at_now, future, forever, redeemed, void]) == [
        "expired",
        "expired",
        "active",
        "active",
        "redeemed",
        "void",
    ]
    assert _statuses(other_organization, [theirs]) == ["active"]


def test_nothing_expires_before_its_date_and_use_is_refused_from_it_before_any_run(organization, programs):
    customer = create_customer(organization)
    with tenant_context(organization):
        Program.objects.filter(kind="stamp").update(coupon_valid_days=7)
        issued_at = timezone.now()
        with time_machine.travel(issued_at, tick=False):
            coupon = coupon_issue(customer=customer, program=Program.objects.get(kind="stamp"))
        end = coupon.expires_at
        assert end == issued_at + timedelta(days=7)

        with time_machine.travel(end - timedelta(seconds=1), tick=False):
            assert coupons_expire() == 0
            coupon_redeem_check(coupon=coupon)
            assert [c["id"] for c in coupons_payload(customer)] == [str(coupon.pk)]
        assert _statuses(organization, [coupon]) == ["active"]

        with time_machine.travel(end, tick=False):
            # The job has not run: the till refuses by the date, the lists leave it out.
            with refused("coupon_expired"):
                coupon_redeem(coupon_id=coupon.pk)
            assert coupons_payload(customer) == []
            assert customer_wallet(customer, currency="EUR").coupons == []
            assert coupons_expire() == 1
        assert _statuses(organization, [coupon]) == ["expired"]
        with refused("coupon_expired"):
            coupon_redeem(coupon_id=coupon.pk)


def test_a_run_stopped_after_its_first_chunk_leaves_the_rest_to_the_next(organization, programs):
    customer = create_customer(organization)
    now = timezone.now()
    due = _coupons(organization, customer, *(now - timedelta(minutes=n) for n in range(1, 6)))
    with tenant_context(organization):
        assert coupons_expire_chunk(now=now, size=2) == 2  # then the worker died
        assert sorted(_statuses(organization, due)) == ["active"] * 3 + ["expired"] * 2
        assert coupons_expire(now=now, chunk_size=2) == 3
        assert coupons_expire(now=now, chunk_size=2) == 0
    assert _statuses(organization, due) == ["expired"] * 5


def test_a_till_holding_a_coupon_as_the_job_runs_redeems_it(committed_db):
    organization, _ = committed_organization("coupon-expiry-held", "Held Coupons")
    customer = create_customer(organization)
    now = timezone.now()
    held, other = _coupons(organization, customer, now + timedelta(hours=1), now + timedelta(hours=1))
    later = now + timedelta(hours=2)

    @contextmanager
    def redeeming():
        with tenant_context(organization), transaction.atomic():
            coupon_redeem(coupon_id=held.pk, external_id="till-1")
            yield

    with held_by_another_session(redeeming), tenant_context(organization):
        # The job's clock is past both dates; the till checked before it and holds the row.
        assert coupons_expire(now=later) == 1
    assert _statuses(organization, [held, other]) == ["redeemed", "expired"]
    with tenant_context(organization):
        assert coupons_expire(now=later) == 0
    assert _statuses(organization, [held, other]) == ["redeemed", "expired"]


def test_tills_redeeming_while_the_job_runs_each_either_redeem_or_are_refused(committed_db):
    organization, _ = committed_organization("coupon-expiry-race", "Racing Coupons")
    customer = create_customer(organization)
    now = timezone.now()
    coupons = _coupons(organization, customer, *[now + timedelta(hours=1)] * 8)
    later = now + timedelta(hours=2)

    def call(index):
        with tenant_context(organization):
            if index == 0:
                return coupons_expire(now=later, chunk_size=3)
            try:
                coupon_redeem(coupon_id=coupons[index - 1].pk, external_id=f"race-{index}")
            except DomainError as refusal:
                return refusal.code
            return "redeemed"

    expired_by_job, *answers = run_at_once(1 + len(coupons), call)

    statuses = _statuses(organization, coupons)
    assert [a if a == "redeemed" else "expired" for a in answers] == statuses
    assert set(answers) <= {"redeemed", "coupon_expired"}
    assert expired_by_job == statuses.count("expired")
    with tenant_context(organization):
        assert coupons_expire(now=later) == 0


def test_a_worker_runs_the_beat_entry_in_each_organization(committed_db):
    organization, _ = committed_organization("coupon-expiry-worker", "Worker Coupons")
    other, _ = committed_organization("coupon-expiry-worker-b", "Other Worker Coupons")
    customer = create_customer(organization)
    now = timezone.now()
    due = _coupons(organization, customer, now - timedelta(days=2), now - timedelta(minutes=1))
    (kept,) = _coupons(organization, customer, now + timedelta(days=1))
    (theirs,) = _coupons(other, create_customer(other), now + timedelta(days=1))

    with celery_worker("coupons"):
        dispatch_to_organizations.delay(JOB)
        wait_for(lambda: last_summary(organization, JOB) is not None and last_summary(other, JOB) is not None)
        wait_until_idle()

    assert last_summary(organization, JOB) == {"expired": 2}
    assert last_summary(other, JOB) == {"expired": 0}
    assert last_error(organization, JOB) is None
    assert _statuses(organization, [*due, kept]) == ["expired", "expired", "active"]
    assert _statuses(other, [theirs]) == ["active"]
