"""A voucher campaign for 100,000 customers on one real Celery worker: the time from launch
to every customer holding their voucher. Goal: <= 60 s.

1. Seeds one organization in PostgreSQL itself: --customers active customers and, unless
   --no-pool, a pool of as many unassigned vouchers of one promotion (without a pool every
   voucher is generated during the run).
2. Starts one Celery worker (solo pool, as deployed per process) on this database and Redis.
3. Creates the campaign (one grant_voucher action, everyone), launches it through the service,
   queues the tick as beat would, and polls until the run is done; prints launch-to-done,
   the grants per second, and checks that every customer holds exactly one voucher of the
   promotion and has exactly one grant row.

A database of its own (bench_campaign_grant) is created and dropped. Loopback only.

    python -m loyalty_platform.embedded run -- .venv/bin/python bench/campaign_grant.py
    ... bench/campaign_grant.py --customers 10000     # a quick run
"""

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

from bench.common import configure_production, drop_database, recreate_database, start_worker, stop_worker  # noqa: E402

DATABASE_NAME = "bench_campaign_grant"
GOAL_SECONDS = 60.0
TIMEOUT_SECONDS = 600.0


def seed(cursor, *, customers: int, pool: bool) -> None:
    cursor.execute(
        "INSERT INTO customers_customer (customer_code, email, phone, name, status, consent_terms_at, "
        "consent_privacy_at, created_at, updated_at) SELECT 100000 + n, 'bench' || n || '@example.com', "
        "'', '', 'active', now(), now(), now(), now() FROM generate_series(1, %s) AS n",
        [customers],
    )
    cursor.execute(
        "INSERT INTO vouchers_promotion (title, description, attributes, uses_per_voucher, discount_type, "
        "discount_value, product_code, category, created_at) "
        "VALUES ('A free cookie', '', '{}', 1, '', NULL, '', '', now()) RETURNING id"
    )
    (promotion_id,) = cursor.fetchone()
    if pool:
        cursor.execute(
            "INSERT INTO vouchers_voucher (promotion_id, code, status, uses, pool, release_key_hash, "
            "created_at) "
            "SELECT %s, 'BENCH' || lpad(n::text, 7, '0'), 'active', 0, 'bench', '', now() "
            "FROM generate_series(1, %s) AS n",
            [promotion_id, customers],
        )
    cursor.execute("ANALYZE")
    return promotion_id


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--no-pool", action="store_true", help="no voucher pool: every code is generated")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()

    configure_production(database_name=DATABASE_NAME, redis_namespace=f"bench-campaign-{os.getpid()}")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone
    from django_tenants.utils import tenant_context

    from loyalty_platform.campaigns.models import CampaignGrant, CampaignRun
    from loyalty_platform.campaigns.services import campaign_create, campaign_launch
    from loyalty_platform.campaigns.tasks import campaigns_tick
    from loyalty_platform.vouchers.models import Promotion, Voucher
    from tenants.services import organization_create

    recreate_database()
    worker = None
    failed = False
    try:
        call_command("migrate_platform", verbosity=0)
        organization = organization_create(slug="bench", name="Bench Café")
        with tenant_context(organization), connection.cursor() as cursor:
            started = time.perf_counter()
            promotion_id = seed(cursor, customers=args.customers, pool=not args.no_pool)
            print(
                f"seeded {args.customers} customers"
                f"{'' if args.no_pool else f' and {args.customers} pool vouchers'} "
                f"in {time.perf_counter() - started:.1f} s"
            )
        worker = start_worker("bench")
        print("load average before measuring: {:.1f} {:.1f} {:.1f}".format(*os.getloadavg()))
        with tenant_context(organization):
            promotion = Promotion.objects.get(pk=promotion_id)
            campaign = campaign_create(
                actor=None,
                name="Win-back cookie",
                starts_at=timezone.now(),
                actions=[{"kind": "grant_voucher", "promotion": promotion}],
            )
            launched = time.perf_counter()
            campaign_launch(actor=None, campaign=campaign)
            campaigns_tick.delay()  # what beat sends within a minute
            deadline = launched + TIMEOUT_SECONDS
            while True:
                run = CampaignRun.objects.filter(campaign=campaign).first()
                if run is not None and run.status == CampaignRun.Status.OPEN:
                    break
                if time.perf_counter() > deadline:
                    raise SystemExit(f"not done within {TIMEOUT_SECONDS:.0f} s")
                time.sleep(0.05)
            elapsed = time.perf_counter() - launched
            grants = CampaignGrant.objects.filter(run=run).count()
            holders = Voucher.objects.filter(promotion=promotion, customer__isnull=False)
            held = holders.count()
            distinct = holders.values("customer_id").distinct().count()
        print(
            f"launch to every voucher granted: {elapsed:.1f} s for {grants} grants "
            f"({grants / elapsed:,.0f} per second), goal <= {GOAL_SECONDS:.0f} s"
        )
        if not grants == held == distinct == args.customers:
            print(f"MISMATCH: {grants} grant rows, {held} vouchers held by {distinct} customers")
            failed = True
    finally:
        if worker is not None:
            stop_worker(worker)
            try:
                worker.wait(timeout=20)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()
        if not args.keep:
            drop_database()
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
