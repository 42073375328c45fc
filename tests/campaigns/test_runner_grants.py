"""grant_to_customers for each kind: what the customer gets, exactly once, and who gets nothing."""

import threading
import uuid

from django.db import connection, connections, transaction
from django_tenants.utils import tenant_context

from loyalty_platform.campaigns.grants import grant_to_customers
from loyalty_platform.campaigns.models import CampaignGrant
from loyalty_platform.coupons.models import Coupon
from loyalty_platform.customers.models import Customer
from loyalty_platform.programs.models import Card, LedgerEntry
from loyalty_platform.rewards.models import Reward, RewardReception
from loyalty_platform.rewards.services import reward_reception_reverse
from loyalty_platform.vouchers.models import Promotion, Voucher
from tests.campaigns.runner_fixtures import make_action, make_campaign, make_run
from tests.pos_fixtures import balances, committed_organization, create_customer


def _entries_consistent(card: Card) -> bool:
    entries = list(card.entries.order_by("pk"))
    running = 0
    for entry in entries:
        running += entry.delta
        if entry.balance_after != running:
            return False
    return running == card.balance


def test_points_go_to_each_active_customer_once_with_exact_ledger_entries(organization, programs):
    rich = create_customer(organization, points=40)
    new = create_customer(organization)
    blocked = create_customer(organization, points=5)
    with tenant_context(organization):
        Customer.objects.filter(pk=blocked.pk).update(status=Customer.Status.BLOCKED)
        Card.objects.filter(customer=new).delete()  # no card yet: the grant opens one
        campaign = make_campaign()
        action = make_action(campaign, "grant_points", points=25)
        run = make_run(campaign)
        ids = [rich.pk, new.pk, blocked.pk]
        assert grant_to_customers(run=run, action=action, customer_ids=ids) == 2
        assert grant_to_customers(run=run, action=action, customer_ids=ids) == 0
        grants = {g.customer_id: g for g in CampaignGrant.objects.filter(run=run)}
        assert set(grants) == {rich.pk, new.pk}
        assert grants[rich.pk].points == 25
        assert grants[rich.pk].ledger_entry.cause == LedgerEntry.Cause.CAMPAIGN
        assert grants[rich.pk].ledger_entry.balance_after == 65
        for card in Card.objects.filter(customer_id__in=ids, program=programs["point"]):
            assert _entries_consistent(card)
    assert balances(organization, rich)["point"] == (65, 65, 2)
    assert balances(organization, new)["point"] == (25, 25, 1)
    assert balances(organization, blocked)["point"] == (5, 5, 1)


def test_stamps_that_fill_the_card_issue_the_coupon_as_an_earn_does(organization, programs):
    customer = create_customer(organization, stamps=8)
    with tenant_context(organization):
        campaign = make_campaign()
        action = make_action(campaign, "grant_stamps", stamps=3)
        run = make_run(campaign)
        assert grant_to_customers(run=run, action=action, customer_ids=[customer.pk]) == 1
        assert grant_to_customers(run=run, action=action, customer_ids=[customer.pk]) == 0
        card = Card.objects.get(customer=customer, program=programs["stamp"])
        assert card.balance == 1
        assert list(card.entries.order_by("pk").values_list("cause", "delta", "balance_after")) == [
            ("adjust", 8, 8),
            ("campaign", 3, 11),
            ("reward", -10, 1),
        ]
        assert list(Coupon.objects.filter(customer=customer).values_list("name", flat=True)) == [
            "Free Coffee"
        ]
        assert CampaignGrant.objects.get(run=run).stamps == 3


def test_vouchers_come_from_the_pool_then_are_generated_when_it_runs_dry(organization, programs):
    customers = [create_customer(organization) for _ in range(3)]
    with tenant_context(organization):
        promotion = Promotion.objects.create(title="Free cookie")
        other = Promotion.objects.create(title="Other")
        Voucher.objects.create(promotion=other, code="OTHER0001")
        pool = [Voucher.objects.create(promotion=promotion, code=f"POOL000{n}") for n in range(2)]
        Voucher.objects.create(promotion=promotion, code="USED0001", uses=1)
        campaign = make_campaign()
        action = make_action(campaign, "grant_voucher", promotion=promotion)
        run = make_run(campaign)
        ids = [customer.pk for customer in customers]
        assert grant_to_customers(run=run, action=action, customer_ids=ids) == 3
        assert grant_to_customers(run=run, action=action, customer_ids=ids) == 0
        owned = dict(Voucher.objects.filter(customer_id__in=ids).values_list("customer_id", "code"))
        assert set(owned) == set(ids)
        assert owned[ids[0]] == pool[0].code and owned[ids[1]] == pool[1].code
        generated = Voucher.objects.get(customer_id=ids[2])
        assert (generated.promotion_id, generated.pool) == (promotion.pk, f"campaign {campaign.pk}")
        assert Voucher.objects.get(code="OTHER0001").customer_id is None
        assert Voucher.objects.get(code="USED0001").customer_id is None
        grants = CampaignGrant.objects.filter(run=run)
        assert sorted(grants.values_list("voucher__code", flat=True)) == sorted(owned.values())


def test_a_reward_is_collectable_for_no_points_and_its_reversal_gives_nothing_back(organization, programs):
    customer = create_customer(organization, points=10)
    with tenant_context(organization):
        reward = Reward.objects.create(name="Muffin", required_credits=300)
        campaign = make_campaign()
        action = make_action(campaign, "grant_reward", reward=reward)
        run = make_run(campaign)
        assert grant_to_customers(run=run, action=action, customer_ids=[customer.pk]) == 1
        assert grant_to_customers(run=run, action=action, customer_ids=[customer.pk]) == 0
        reception = RewardReception.objects.get(customer=customer)
        assert (reception.points, reception.status, reception.ledger_entry_id) == (0, "collectable", None)
        assert CampaignGrant.objects.get(run=run).reward_reception_id == reception.pk
        reward_reception_reverse(reception_id=reception.pk)
        assert RewardReception.objects.get(pk=reception.pk).status == "reversed"
    assert balances(organization, customer)["point"] == (10, 10, 1)


def test_the_same_chunk_in_two_threads_grants_each_customer_once(committed_db):
    """Two sessions grant the same customers at once: the claim rows decide, not a lock."""
    organization, _ = committed_organization("runner-threads", "Runner threads")
    customers = [create_customer(organization, points=1) for _ in range(30)]
    ids = [customer.pk for customer in customers]
    with tenant_context(organization):
        campaign = make_campaign()
        action = make_action(campaign, "grant_points", points=7)
        run = make_run(campaign)
    barrier = threading.Barrier(2)
    results = []

    def work():
        try:
            with tenant_context(organization):
                barrier.wait()
                results.append(grant_to_customers(run=run, action=action, customer_ids=ids))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [0, 30]
    with tenant_context(organization):
        assert CampaignGrant.objects.filter(run=run).count() == 30
        assert (
            LedgerEntry.objects.filter(cause="campaign", external_id=f"campaign-{campaign.pk}-once").count()
            == 30
        )
        assert all(
            card.balance == 8 for card in Card.objects.filter(customer_id__in=ids, program__kind="point")
        )


def test_the_same_voucher_chunk_in_two_threads_hands_out_one_voucher_each(committed_db):
    """Both sessions take free vouchers (SKIP LOCKED: different ones) and claim; the second
    waits on the first's claim rows, finds them taken and assigns nothing."""
    organization, _ = committed_organization("runner-threads", "Runner threads")
    customers = [create_customer(organization) for _ in range(20)]
    ids = [customer.pk for customer in customers]
    with tenant_context(organization):
        promotion = Promotion.objects.create(title="Thread cookie")
        Voucher.objects.bulk_create(
            Voucher(promotion=promotion, code=f"THR{uuid.uuid4().hex[:12]}") for _ in range(50)
        )
        campaign = make_campaign()
        action = make_action(campaign, "grant_voucher", promotion=promotion)
        run = make_run(campaign)
    barrier = threading.Barrier(2)
    results = []

    def work():
        try:
            with tenant_context(organization):
                barrier.wait()
                results.append(grant_to_customers(run=run, action=action, customer_ids=ids))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [0, 20]
    with tenant_context(organization):
        held = Voucher.objects.filter(promotion=promotion, customer__isnull=False)
        assert sorted(held.values_list("customer_id", flat=True)) == sorted(ids)
        assert Voucher.objects.filter(promotion=promotion, customer__isnull=True).count() == 30
        grants = CampaignGrant.objects.filter(run=run)
        assert sorted(grants.values_list("voucher__customer_id", flat=True)) == sorted(ids)


def _wait_until_blocked(organization, pid_holder: list[int]) -> None:
    """Until the session in `pid_holder` waits for a row lock (polled, bounded)."""
    import time

    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if pid_holder:
            with connections["default"].cursor() as cursor:
                cursor.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE pid = %s AND wait_event_type = 'Lock'",
                    [pid_holder[0]],
                )
                if cursor.fetchone()[0]:
                    return
        time.sleep(0.02)
    raise AssertionError("the grant never waited for the card")


def test_a_chunk_with_point_and_stamp_grants_does_not_deadlock_with_an_earn(committed_db):
    """An earn locks a customer's cards in primary-key order, here the stamp card first. A
    chunk granting points then stamps used to lock the point card, then wait for the stamp
    card, while the earn waited for the point card: PostgreSQL killed one of them."""
    from loyalty_platform.campaigns.runner import grant_chunk

    organization, _ = committed_organization("runner-deadlock", "Runner deadlock")
    customer = create_customer(organization)
    with tenant_context(organization):
        # Its point card newer than its stamp card, so the earn's order is stamp, point.
        point_card = Card.objects.get(customer=customer, program__kind="point")
        program = point_card.program
        point_card.delete()
        point_card = Card.objects.create(customer=customer, program=program, card_number=f"DL{customer.pk}")
        stamp_card = Card.objects.get(customer=customer, program__kind="stamp")
        assert stamp_card.pk < point_card.pk
        campaign = make_campaign(status="running")
        make_action(campaign, "grant_points", points=5)
        make_action(campaign, "grant_stamps", stamps=1)
        run = make_run(campaign)
    stamp_locked = threading.Event()
    grant_pid: list[int] = []
    failures = []

    def earn():
        try:
            with tenant_context(organization), transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("SELECT id FROM programs_card WHERE id = %s FOR UPDATE", [stamp_card.pk])
                stamp_locked.set()
                _wait_until_blocked(organization, grant_pid)
                cursor.execute("SELECT id FROM programs_card WHERE id = %s FOR UPDATE", [point_card.pk])
        except Exception as error:  # noqa: BLE001
            failures.append(("earn", error))
        finally:
            connections.close_all()

    def grant():
        try:
            stamp_locked.wait(10)
            with tenant_context(organization):
                with connections["default"].cursor() as cursor:
                    cursor.execute("SELECT pg_backend_pid()")
                    grant_pid.append(cursor.fetchone()[0])
                grant_chunk(run.pk)
        except Exception as error:  # noqa: BLE001
            failures.append(("grant", error))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=earn), threading.Thread(target=grant)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert failures == []
    with tenant_context(organization):
        assert Card.objects.get(pk=point_card.pk).balance == 5
        assert Card.objects.get(pk=stamp_card.pk).balance == 1
        assert CampaignGrant.objects.filter(run=run).count() == 2
