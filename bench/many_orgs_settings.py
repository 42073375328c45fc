"""Settings of bench/many_orgs.py's migration step: the platform's own, plus the bench-only
tenant app bench.probe, whose migrations live in a throwaway package named by
BENCH_PROBE_MIGRATIONS (so no real app's migration history is touched), and the knobs of
django-tenants' parallel executor (EXECUTOR=multiprocessing picks it)."""

from loyalty_platform.env import env
from loyalty_platform.settings import *  # noqa: F403
from loyalty_platform.settings import INSTALLED_APPS, TENANT_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "bench.probe"]
TENANT_APPS = [*TENANT_APPS, "bench.probe"]
MIGRATION_MODULES = {"bench_probe": env.str("BENCH_PROBE_MIGRATIONS")}
TENANT_MULTIPROCESSING_MAX_PROCESSES = env.int("BENCH_MIGRATION_PROCESSES", default=2)
TENANT_MULTIPROCESSING_CHUNKS = env.int("BENCH_MIGRATION_CHUNKS", default=2)
