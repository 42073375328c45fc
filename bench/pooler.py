"""What transaction pooling costs a POS earn (docs/decisions/0060): the same in-process earn,
on one database, in three layouts measured in alternating rounds in one run:

- direct: Django's connection straight to PostgreSQL, search path set once per connection,
  prepared statements on (the default);
- direct + SET LOCAL: DATABASE_POOLER=transaction on the same direct connection, so the
  difference is the path sent with each transaction and the prepared statements given up;
- PgBouncer + SET LOCAL: the same through Debian's pgbouncer in transaction mode, adding the
  pooler's hop.

Each layout runs in a worker process of its own (settings are per process); the rounds go
in rotating order so that a drifting machine slows all alike. Prints wall and CPU time per
earn, median over rounds, and each layout's per-round ratio to direct.

    python -m loyalty_platform.embedded run -- python bench/pooler.py
"""

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

from bench.common import configure_production, drop_database  # noqa: E402

DATABASE_NAME = "bench_pooler"

WORKER = r"""
import json, os, sys, time
sys.path.insert(0, os.getcwd())
import django
django.setup()
from bench.pos_earn import InProcess
key, codes = sys.argv[1], json.loads(sys.argv[2])
app = InProcess(key, codes)
for _ in range(50):
    app.earn()
print("ready", flush=True)
for line in sys.stdin:
    count = int(line)
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(count):
        app.earn()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(wall * 1000 / count, cpu * 1000 / count, app.not_ok.total(), flush=True)
"""


def start_worker(environment: dict[str, str], key: str, codes: list[int]) -> subprocess.Popen:
    worker = subprocess.Popen(
        [sys.executable, "-c", WORKER, key, json.dumps(codes)],
        cwd=BASE_DIR,
        env=environment,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    while (line := worker.stdout.readline()) and line.strip() != "ready":
        pass
    if not line:
        raise RuntimeError("a worker exited before it was ready")
    return worker


def measure(worker: subprocess.Popen, earns: int) -> tuple[float, float]:
    worker.stdin.write(f"{earns}\n")
    worker.stdin.flush()
    wall, cpu, not_ok = worker.stdout.readline().split()
    if int(not_ok):
        raise RuntimeError(f"{not_ok} earns were not answered 200")
    return float(wall), float(cpu)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--earns", type=int, default=100, help="earns per round and layout")
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--pool-size", type=int, default=2, help="PgBouncer server sessions")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(130))

    configure_production(database_name=DATABASE_NAME, redis_namespace="bench-pooler")
    from bench.pos_earn import prepare

    key, codes = prepare(args.customers)
    # tests.processes reads the settings prepare() has set up.
    from tests.processes import pgbouncer

    workers: dict[str, subprocess.Popen] = {}
    try:
        with pgbouncer(pool_size=args.pool_size) as port:
            layouts = {
                "direct": {},
                "direct + SET LOCAL": {"DATABASE_POOLER": "transaction"},
                "PgBouncer + SET LOCAL": {
                    "DATABASE_POOLER": "transaction",
                    "DATABASE_HOST": "127.0.0.1",
                    "DATABASE_PORT": str(port),
                },
            }
            for name, extra in layouts.items():
                workers[name] = start_worker({**os.environ, **extra}, key, codes)
            names = list(workers)
            wall: dict[str, list[float]] = {name: [] for name in names}
            cpu: dict[str, list[float]] = {name: [] for name in names}
            for round_number in range(args.rounds):
                shift = round_number % len(names)
                for name in names[shift:] + names[:shift]:
                    round_wall, round_cpu = measure(workers[name], args.earns)
                    wall[name].append(round_wall)
                    cpu[name].append(round_cpu)
            for worker in workers.values():
                worker.stdin.close()
                worker.wait(timeout=60)
    finally:
        for worker in workers.values():
            if worker.poll() is None:
                worker.kill()
        drop_database()

    print(f"POS earn, {args.rounds} rounds of {args.earns} earns per layout, {args.customers} customers")
    print(f"{'layout':<24}{'wall ms':>9}{'CPU ms':>9}{'wall / direct':>15}")
    for name in names:
        ratios = [mine / direct for mine, direct in zip(wall[name], wall["direct"], strict=True)]
        ratio = statistics.median(ratios)
        print(
            f"{name:<24}{statistics.median(wall[name]):>9.2f}{statistics.median(cpu[name]):>9.2f}"
            f"{ratio:>15.3f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
