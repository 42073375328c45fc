"""Outgoing webhooks at size: 10,000 events delivered to a receiver on this machine.

1. One organization (production settings, its own database and Redis namespace; http:// and
   loopback addresses allowed for the receiver) with one endpoint that receives every type.
2. A receiver in a process of its own (ThreadingHTTPServer, answers 204) notes when each
   request arrived and checks every X-Loyalite-Signature-256 and one in 100 webhook-signatures
   with the standardwebhooks library.
3. One Celery worker (solo pool, as deployed per process) delivers; the organization's
   delivery task runs once at a time, sending on its threads (WEBHOOK_SEND_THREADS).
4. Burst: --events events committed as fast as --producers threads can, one transaction each
   (outbox.event_record, as a till's earn records its event); the time each committed is
   noted. Then paced: --paced-rate events a second for --paced-seconds, the lag of a platform
   that keeps up.
5. Every event must arrive exactly once, signed; the figures: events a second from the first
   commit to the last arrival, the lag from commit to arrival (p50, p99, max), and, for a
   ratio that does not depend on the machine, the same receiver's rate under plain POSTs of
   the same bodies on as many threads, without the platform.

    python -m loyalty_platform.embedded run -- .venv/bin/python bench/webhooks.py
    make bench-webhooks BENCH_ARGS="--events 2000"      # a quick run
"""

import argparse
import hashlib
import hmac
import json
import multiprocessing
import os
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

from bench.common import configure_production, drop_database, recreate_database, start_worker, stop_worker  # noqa: E402

DATABASE_NAME = "bench_webhooks"
TIMEOUT_SECONDS = 600.0


def receive(port_out, results_out, stop_event, secret: str) -> None:
    """The receiver process: arrival time per sequence number, and what failed a check."""
    from standardwebhooks import Webhook

    arrivals: dict[int, list[float]] = {}
    problems: list[str] = []
    lock = threading.Lock()
    verifier = Webhook(secret)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            arrived = time.time()
            expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
            data = json.loads(body)["data"]
            sequence = data.get("seq", -1)
            # The ceiling's plain POSTs (/plain) are not signed.
            ok = self.path == "/plain" or hmac.compare_digest(
                self.headers.get("X-Loyalite-Signature-256", ""), expected
            )
            if ok and sequence >= 0 and sequence % 100 == 0:
                try:
                    verifier.verify(body, dict(self.headers))
                except Exception as error:  # noqa: BLE001
                    ok = False
                    problems.append(f"webhook-signature of {sequence}: {error}")
            with lock:
                arrivals.setdefault(sequence, []).append(arrived)
                if not ok:
                    problems.append(f"signature of {sequence} did not verify")
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    class Server(ThreadingHTTPServer):
        request_queue_size = 256  # the default 5 drops connections under 16 senders

    server = Server(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    port_out.put(server.server_address[1])
    threading.Thread(target=server.serve_forever, daemon=True).start()
    stop_event.wait()
    server.shutdown()
    with lock:
        results_out.put((arrivals, problems))


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def produce(organization, *, first: int, count: int, producers: int, rate: float | None) -> dict[int, float]:
    """Commits `count` events (sequence numbers from `first`), each in its own transaction;
    the wall-clock time each committed. With `rate`, paced at that many a second in all."""
    from django.db import connection, transaction
    from django_tenants.utils import tenant_context

    from loyalty_platform.webhooks.outbox import event_record

    committed: dict[int, float] = {}
    lock = threading.Lock()
    started = time.monotonic()

    def work(worker_index: int) -> None:
        with tenant_context(organization):
            for sequence in range(first + worker_index, first + count, producers):
                if rate:
                    due = started + (sequence - first) / rate
                    time.sleep(max(0.0, due - time.monotonic()))
                with transaction.atomic():
                    event_record(
                        "points.earned",
                        customer_id=1 + sequence % 1000,
                        data={"seq": sequence, "points": 10, "balance": 10 + sequence},
                    )
                with lock:
                    committed[sequence] = time.time()
        connection.close()

    with ThreadPoolExecutor(producers) as pool:
        list(pool.map(work, range(producers)))
    return committed


def wait_for(organization, expected: int, results_probe) -> None:
    """Until the outbox has nothing pending (the receiver's count is read at the end)."""
    from django_tenants.utils import tenant_context

    from loyalty_platform.webhooks.models import WebhookDelivery

    deadline = time.monotonic() + TIMEOUT_SECONDS
    with tenant_context(organization):
        while WebhookDelivery.objects.filter(status="pending").exists() or (
            WebhookDelivery.objects.count() < expected
        ):
            if time.monotonic() > deadline:
                raise SystemExit(f"deliveries still pending after {TIMEOUT_SECONDS:.0f} s")
            results_probe()
            time.sleep(0.05)


def plain_posts(port: int, bodies: list[bytes], threads: int) -> float:
    """Events a second the receiver takes from plain POSTs on `threads` threads, a connection
    each, as the platform sends them."""
    from http.client import HTTPConnection

    started = time.perf_counter()

    def post(body: bytes) -> None:
        connection = HTTPConnection("127.0.0.1", port, timeout=10)
        connection.request("POST", "/plain", body=body, headers={"content-type": "application/json"})
        connection.getresponse().read()
        connection.close()

    with ThreadPoolExecutor(threads) as executor:
        list(executor.map(post, bodies))
    return len(bodies) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--producers", type=int, default=4)
    parser.add_argument("--paced-rate", type=float, default=100.0)
    parser.add_argument("--paced-seconds", type=float, default=20.0)
    args = parser.parse_args()

    configure_production(database_name=DATABASE_NAME, redis_namespace=f"bench-webhooks-{os.getpid()}")
    os.environ.update(WEBHOOK_REQUIRE_HTTPS="false", WEBHOOK_ALLOW_PRIVATE_ADDRESSES="true")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import transaction
    from django_tenants.utils import tenant_context

    from loyalty_platform.webhooks.models import ALL_EVENTS, WebhookEndpoint, WebhookSecret
    from tenants.services import organization_create

    secret = "whsec_" + "YmVuY2gtd2ViaG9va3Mtc2VjcmV0LTMyYnl0ZXMhIQ=="
    context = multiprocessing.get_context("spawn")
    port_queue, results_queue, stop_event = context.Queue(), context.Queue(), context.Event()
    receiver = context.Process(target=receive, args=(port_queue, results_queue, stop_event, secret))
    receiver.start()
    port = port_queue.get(timeout=30)

    recreate_database()
    worker = None
    try:
        call_command("migrate_platform", verbosity=0)
        organization = organization_create(slug="bench", name="Bench Café")
        with tenant_context(organization), transaction.atomic():
            endpoint = WebhookEndpoint.objects.create(
                url=f"http://127.0.0.1:{port}/hook", event_types=[ALL_EVENTS]
            )
            WebhookSecret.objects.create(endpoint=endpoint, secret=secret)
        worker = start_worker("bench-webhooks")
        print("load average before measuring: {:.1f} {:.1f} {:.1f}".format(*os.getloadavg()))

        runs = {}
        started = time.time()
        committed = produce(organization, first=0, count=args.events, producers=args.producers, rate=None)
        produced_seconds = time.time() - started
        wait_for(organization, args.events, lambda: None)
        runs["burst"] = (committed, started, produced_seconds)

        paced_count = int(args.paced_rate * args.paced_seconds)
        started = time.time()
        committed = produce(
            organization, first=args.events, count=paced_count, producers=args.producers, rate=args.paced_rate
        )
        produced_seconds = time.time() - started
        wait_for(organization, args.events + paced_count, lambda: None)
        runs["paced"] = (committed, started, produced_seconds)
        stop_worker(worker)
        worker = None
    finally:
        if worker is not None:
            stop_worker(worker)
        drop_database()

    # The receiver's ceiling with plain POSTs (after the platform is gone: nothing else runs).
    body = json.dumps({"id": "evt_x", "type": "points.earned", "data": {"seq": -1, "points": 10}}).encode()
    plain_rate = plain_posts(port, [body] * min(args.events, 5000), settings.WEBHOOK_SEND_THREADS)
    stop_event.set()
    arrivals, problems = results_queue.get(timeout=60)
    receiver.join(timeout=30)
    arrivals.pop(-1, None)

    print(
        f"{args.events:,} events in a burst from {args.producers} threads, "
        f"then {args.paced_rate:.0f}/s paced:"
    )
    for label, (committed, started, produced_seconds) in runs.items():
        missing = [sequence for sequence in committed if sequence not in arrivals]
        doubled = [sequence for sequence in committed if len(arrivals.get(sequence, ())) > 1]
        if missing:
            problems.append(f"{label}: {len(missing)} events never arrived")
        if doubled:
            problems.append(f"{label}: {len(doubled)} events arrived more than once")
        lags = [(arrivals[s][0] - committed[s]) * 1000 for s in committed if s in arrivals]
        last = max(arrivals[s][0] for s in committed if s in arrivals)
        rate = len(committed) / (last - started)
        print(
            f"  {label:>5}: {len(committed):,} events, "
            f"committed at {len(committed) / produced_seconds:,.0f}/s, "
            f"delivered at {rate:,.0f}/s (first commit to last arrival), "
            f"{rate / plain_rate:.2f}x the receiver's plain POSTs ({plain_rate:,.0f}/s on "
            f"{settings.WEBHOOK_SEND_THREADS} threads); lag from commit to arrival p50 "
            f"{statistics.median(lags):,.0f} ms, p99 {percentile(lags, 0.99):,.0f} ms, "
            f"max {max(lags):,.0f} ms"
        )
    print("load average after: {:.1f} {:.1f} {:.1f} ({} cores)".format(*os.getloadavg(), os.cpu_count()))
    for problem in problems[:20]:
        print(f"CHECK FAILED: {problem}")
    if not problems:
        print("checked: every event arrived exactly once, every signature verified")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
