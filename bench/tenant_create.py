"""Seconds per new organization: cloned from the template schema vs. migrated one by one;
and a merchant's sign-up to a usable portal: the confirmation POST (clone, owner, trial
subscription), following the handoff link and loading /admin/, server time through Django's
test client, median of --signups runs.

Runs against a database of its own (bench_tenant_create, dropped at the end) on the same
server as everything else. Usage: `make bench` or
`python -m loyalty_platform.embedded run -- python bench/tenant_create.py [--count N]`.
"""

import argparse
import hashlib
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "loyalty_platform.settings")
os.environ["DATABASE_NAME"] = "bench_tenant_create"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=5, help="organizations per method")
    parser.add_argument("--signups", type=int, default=5, help="sign-ups to confirm")
    parser.add_argument("--sample-data", action="store_true", help="the sign-ups ask for sample data")
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

        signup_runs = [signup_to_portal(index, args.sample_data) for index in range(args.signups)]
    finally:
        drop_database()

    print(f"organizations per method: {args.count}")
    print(f"clone from template:  {clone_seconds:.3f} s per organization")
    print(f"migrate one by one:   {migrate_seconds:.3f} s per organization")
    print(f"ratio migrate/clone:  {migrate_seconds / clone_seconds:.1f}x")
    sample = "with" if args.sample_data else "without"
    print(f"sign-ups confirmed: {args.signups}, {sample} sample data (median seconds; goal: total <= 3 s)")
    for part in ("confirm", "handoff", "dashboard", "total"):
        median = statistics.median(run[part] for run in signup_runs)
        slowest = max(run[part] for run in signup_runs)
        print(f"  {part + ':':<11} {median:.3f} s (slowest {slowest:.3f} s)")


def signup_to_portal(index: int, sample_data: bool) -> dict[str, float]:
    """One sign-up, stored untimed as the form would; then timed: the owner's confirmation
    POST, the handoff link it redirects to, and the portal's landing page."""
    from urllib.parse import urlsplit

    from django.test import Client
    from django.test.utils import override_settings

    from tenants.platform import platform_hostname
    from tenants.signup import signup_request_create

    token = f"bench-sign-up-{index}"
    with override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend"):
        signup = signup_request_create(
            name=f"Sign-up {index}",
            slug=f"signup-{index}",
            email=f"owner@signup-{index}.example",
            password="a-long-owner-password",  # noqa: S106 - a throwaway database
            country="LT",
            sample_data=sample_data,
        )
    signup.token_hash = hashlib.sha256(token.encode()).hexdigest()
    signup.save(update_fields=["token_hash"])

    started = time.perf_counter()
    confirmed = Client(HTTP_HOST=platform_hostname()).post(f"/signup/verify/{token}")
    confirm_done = time.perf_counter()
    assert confirmed.status_code == 302, confirmed.status_code
    handoff = urlsplit(confirmed["Location"])
    portal = Client(HTTP_HOST=handoff.hostname)
    landed = portal.get(handoff.path)
    handoff_done = time.perf_counter()
    assert (landed.status_code, landed["Location"]) == (302, "/admin/"), landed.status_code
    dashboard = portal.get("/admin/")
    done = time.perf_counter()
    assert dashboard.status_code == 200, dashboard.status_code
    return {
        "confirm": confirm_done - started,
        "handoff": handoff_done - confirm_done,
        "dashboard": done - handoff_done,
        "total": done - started,
    }


if __name__ == "__main__":
    main()
