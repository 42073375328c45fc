"""Python CPU per earn of two checkouts, measured in alternating rounds in one run, so that
a machine whose speed drifts (other work, a virtual CPU) slows both alike. Prints each
checkout's median and the per-round ratio of the second to the first.

Each checkout runs bench/pos_earn.py's in-process caller (its own code, its own embedded
PostgreSQL and Redis, a database of its own) as a worker that this script drives round by
round: `rounds` rounds of `earns` earns and as many pings, in ABBA order.

    python bench/pos_earn_ab.py ../old-checkout .          # e.g. a `git worktree` of main
"""

import argparse
import statistics
import subprocess
import sys
from pathlib import Path

WORKER = r"""
import os, sys, time
sys.path.insert(0, os.getcwd())
from bench import pos_earn
pos_earn.configure_production(database_name=pos_earn.DATABASE_NAME, redis_namespace="bench")
key, codes = pos_earn.prepare(2000)
app = pos_earn.InProcess(key, codes)
try:
    for _ in range(100):
        app.earn()
        app.bare()
    print("ready", flush=True)
    for line in sys.stdin:
        kind, count = line.split()
        call = app.earn if kind == "earn" else app.bare
        started = time.process_time()
        for _ in range(int(count)):
            call()
        print((time.process_time() - started) * 1000 / int(count), app.not_ok.total(), flush=True)
finally:
    pos_earn.drop_database()
"""


def start(checkout: Path) -> subprocess.Popen:
    python = checkout / ".venv" / "bin" / "python"
    worker = subprocess.Popen(
        [str(python), "-m", "loyalty_platform.embedded", "run", "--", str(python), "-c", WORKER],
        cwd=checkout,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    while (line := worker.stdout.readline()) and line.strip() != "ready":
        pass
    if not line:
        raise RuntimeError(f"{checkout}: the worker exited before it was ready")
    return worker


def measure(worker: subprocess.Popen, kind: str, count: int) -> float:
    worker.stdin.write(f"{kind} {count}\n")
    worker.stdin.flush()
    ms, not_ok = worker.stdout.readline().split()
    if int(not_ok):
        raise RuntimeError(f"{not_ok} answers were not 200")
    return float(ms)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("first", type=Path)
    parser.add_argument("second", type=Path)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--earns", type=int, default=100, help="earns per round (pings: three times as many)")
    args = parser.parse_args()
    checkouts = [args.first.resolve(), args.second.resolve()]
    workers = [start(checkout) for checkout in checkouts]
    earn_ms: list[list[float]] = [[], []]
    ping_ms: list[list[float]] = [[], []]
    try:
        for round_number in range(args.rounds):
            order = (0, 1) if round_number % 2 == 0 else (1, 0)
            for index in order:
                earn_ms[index].append(measure(workers[index], "earn", args.earns))
                ping_ms[index].append(measure(workers[index], "ping", args.earns * 3))
    finally:
        for worker in workers:
            worker.stdin.close()
            worker.wait(timeout=60)
    for index, checkout in enumerate(checkouts):
        earn, ping = earn_ms[index], ping_ms[index]
        print(
            f"{checkout}: earn {statistics.median(earn):.2f} ms (min {min(earn):.2f}), "
            f"ping {statistics.median(ping):.3f} ms, median of {args.rounds} rounds"
        )
    ratios = [second / first for first, second in zip(earn_ms[0], earn_ms[1], strict=True)]
    print(
        f"earn CPU second/first, per round: median {statistics.median(ratios):.3f} "
        f"(min {min(ratios):.3f}, max {max(ratios):.3f})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
