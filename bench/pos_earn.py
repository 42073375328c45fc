"""Throughput and latency of `POST /webhook/pos` (earn) against a bare Django JSON view,
both served by the same ASGI server, measured in one run.

The server runs as deployed: uvicorn, production settings (DEBUG off), the real PostgreSQL
and Redis. A database of its own (bench_pos_earn) is created and dropped. The load comes from
asyncio HTTP/1.1 keep-alive connections on loopback, each sending its next request when the
previous answer arrives; every earn names its own customer and external_id.

    python -m loyalty_platform.embedded run -- python bench/pos_earn.py [--seconds 10]
"""

import argparse
import asyncio
import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "loyalty_platform.settings")
os.environ["DATABASE_NAME"] = "bench_pos_earn"
os.environ["REDIS_NAMESPACE"] = "bench"

HOST = "bench.localhost"
# Production answers plain HTTP with a redirect; as deployed, a TLS-terminating proxy says so.
BEHIND_TLS_PROXY = "X-Forwarded-Proto: https\r\n"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def prepare(customers: int) -> tuple[str, list[int]]:
    """Fresh database with one organization, its programs, customers with cards, and a key."""
    import django

    django.setup()
    from django.core.management import call_command
    from django_tenants.utils import tenant_context

    from bench.common import recreate_database
    from loyalty_platform.customers.models import Customer
    from loyalty_platform.programs.models import Card, Program
    from loyalty_platform.programs.services import card_number_candidate
    from tenants.services import api_key_create, organization_create

    recreate_database()
    call_command("migrate_platform", verbosity=0)
    organization = organization_create(slug="bench", name="Bench Café")
    issued = api_key_create(organization=organization, label="bench")
    issued.api_key.rate_limits = {"transactions": 100_000_000, "customer": 100_000_000}
    issued.api_key.save(update_fields=["rate_limits"])
    codes = []
    with tenant_context(organization):
        point = Program.objects.create(kind="point", name="Points")
        stamp = Program.objects.create(kind="stamp", name="Stamps", stamps_per_card=10, reward_name="Coffee")
        batch = [
            Customer(
                customer_code=100000 + index,
                email=f"bench{index}@example.com",
                consent_terms_at="2026-01-01T00:00:00Z",
                consent_privacy_at="2026-01-01T00:00:00Z",
            )
            for index in range(customers)
        ]
        Customer.objects.bulk_create(batch)
        cards = []
        for customer in Customer.objects.all():
            codes.append(customer.customer_code)
            for program in (point, stamp):
                cards.append(Card(customer=customer, program=program, card_number=card_number_candidate()))
        Card.objects.bulk_create(cards)
    from django.db import connections

    connections.close_all()
    return issued.secret_key, codes


def start_server(port: int, workers: int) -> subprocess.Popen:
    from django.conf import settings

    from loyalty_platform import embedded

    env = {
        **os.environ,
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "PLATFORM_HOST": f"localhost:{port}",
        "REDIS_URL": embedded.ensure_redis(),
        "LOG_LEVEL": "WARNING",
        # The same realtime key as this process, which the load generator uses.
        "REALTIME_APP_KEY": settings.REALTIME_APP_KEY,
        "REALTIME_APP_SECRET": settings.REALTIME_APP_SECRET,
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "loyalty_platform.asgi:application",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--lifespan",
            "off",
            "--no-access-log",
            "--log-level",
            "warning",
        ],
        cwd=BASE_DIR,
        env=env,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("the server did not start")


async def _connection(port, make_request, deadline, latencies, failures, counter):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while time.perf_counter() < deadline:
            request = make_request(next(counter))
            started = time.perf_counter()
            writer.write(request)
            await writer.drain()
            status_line = await reader.readline()
            length = 0
            while True:
                line = await reader.readline()
                if line in (b"\r\n", b""):
                    break
                name, _, value = line.decode().partition(":")
                if name.lower() == "content-length":
                    length = int(value)
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            if b" 200 " not in status_line:
                failures.append(status_line.strip())
    finally:
        writer.close()


async def drive(port: int, make_request, seconds: float, connections: int) -> dict:
    import itertools

    latencies: list[float] = []
    failures: list[bytes] = []
    counter = itertools.count()
    started = time.perf_counter()
    deadline = started + seconds
    await asyncio.gather(
        *(_connection(port, make_request, deadline, latencies, failures, counter) for _ in range(connections))
    )
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "requests": len(latencies),
        "failures": len(failures),
        "failure_kinds": sorted(set(failures))[:3],
        "rps": len(latencies) / elapsed,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000,
    }


def earn_request(key: str, codes: list[int], run: str):
    def make(index: int) -> bytes:
        body = json.dumps(
            {"customer_code": codes[index % len(codes)], "amount": "12.50", "external_id": f"{run}-{index}"}
        ).encode()
        return (
            f"POST /webhook/pos HTTP/1.1\r\nHost: {HOST}\r\n{BEHIND_TLS_PROXY}X-Api-Key: {key}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode() + body

    return make


def bare_request(index: int) -> bytes:
    return f"GET /ping HTTP/1.1\r\nHost: {HOST}\r\n{BEHIND_TLS_PROXY}\r\n".encode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=1, help="uvicorn processes")
    parser.add_argument("--only", choices=["earn", "bare"], help="drive one endpoint (for profiling)")
    args = parser.parse_args()

    key, codes = prepare(args.customers)
    port = free_port()
    server = start_server(port, args.workers)
    try:
        # Warm-up (caches, connections) with external_ids of its own, so no measured call is a replay.
        asyncio.run(drive(port, earn_request(key, codes, run=secrets.token_hex(4)), 2, args.connections))
        earn = earn_request(key, codes, run=secrets.token_hex(4))
        asyncio.run(drive(port, bare_request, 2, args.connections))
        print(f"server pid {server.pid}, driving", flush=True)
        results = {}
        if args.only != "bare":
            results["earn  POST /webhook/pos"] = asyncio.run(
                drive(port, earn, args.seconds, args.connections)
            )
        if args.only != "earn":
            results["bare  GET /ping"] = asyncio.run(
                drive(port, bare_request, args.seconds, args.connections)
            )
    finally:
        server.terminate()
        server.wait(timeout=15)
        from bench.common import drop_database

        drop_database()

    print(
        f"server: uvicorn, {args.workers} process(es), DEBUG off; "
        f"{args.connections} connections, {args.seconds:.0f} s each"
    )
    for name, result in results.items():
        print(
            f"{name:24} {result['rps']:8.1f} req/s  p50 {result['p50_ms']:6.1f} ms"
            f"  p99 {result['p99_ms']:6.1f} ms  ({result['requests']} requests, {result['failures']} not 200"
            + (f": {result['failure_kinds']}" if result["failures"] else "")
            + ")"
        )
    if len(results) == 2:
        earn_rps, bare_rps = (result["rps"] for result in results.values())
        print(f"ratio earn/bare throughput: {earn_rps / bare_rps:.2f}")


if __name__ == "__main__":
    main()
