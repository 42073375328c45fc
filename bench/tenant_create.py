"""Seconds per new organization: cloned from the template schema vs. migrated one by one.

Runs against a database of its own (bench_tenant_create, dropped at the end) on the same
server as everything else. Usage: `make bench` or
`python -m loyalty_platform.embedded run -- python bench/tenant_create.py [--count N]`.
"""

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "loyalty_platform.settings")
os.environ["DATABASE_NAME"] = "bench_tenant_create"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=5, help="organizations per method")
    args = parser.parse_args()

    import django

    django.setup()
    from django.core.management import call_command
    from django.test.utils import override_settings

    from bench.common import drop_database, recreate_database
    from tenants.services import organization_create

    recreate_database()

    try:
        call_command("migrate_platform", verbosity=0)

        started = time.perf_counter()
        for index in range(args.count):
            organization_create(slug=f"clone-{index}", name=f"Clone {index}")
        clone_seconds = (time.perf_counter() - started) / args.count

        with override_settings(TENANT_CREATION_FAKES_MIGRATIONS=False, TENANT_BASE_SCHEMA=None):
            started = time.perf_counter()
            for index in range(args.count):
                organization_create(slug=f"migrate-{index}", name=f"Migrate {index}")
            migrate_seconds = (time.perf_counter() - started) / args.count
    finally:
        drop_database()

    print(f"organizations per method: {args.count}")
    print(f"clone from template:  {clone_seconds:.3f} s per organization")
    print(f"migrate one by one:   {migrate_seconds:.3f} s per organization")
    print(f"ratio migrate/clone:  {migrate_seconds / clone_seconds:.1f}x")


if __name__ == "__main__":
    main()
