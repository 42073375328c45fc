"""Time from a customer's identify request to the card_identified frame at the till's socket,
with many idle websocket connections open on the same server (one run).

The server runs as deployed (uvicorn, DEBUG off, real PostgreSQL and Redis, a database of
its own). Idle connections subscribe to channels of their own and stay quiet. For each
identification a till socket subscribes to a fresh QR session's channel, then the customer's
request to /identify/<id> is sent; the clock stops when the frame arrives.

    python -m loyalty_platform.embedded run -- python bench/identify_latency.py [--idle 1000] [--count 200]
"""

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "loyalty_platform.settings")
os.environ["DATABASE_NAME"] = "bench_identify"
os.environ["REDIS_NAMESPACE"] = "bench"

HOST = "bench.localhost"


def prepare() -> tuple[str, str]:
    """Fresh database, one organization, a key and a signed-in customer's login path."""
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connections
    from django_tenants.utils import tenant_context

    from bench.common import recreate_database, unlimited_api_key
    from loyalty_platform.customers.login import login_link_create
    from loyalty_platform.customers.services import customer_enroll
    from loyalty_platform.programs.models import Program
    from tenants.services import organization_create

    recreate_database()
    call_command("migrate_platform", verbosity=0)
    organization = organization_create(slug="bench", name="Bench Café")
    secret_key = unlimited_api_key(organization)
    with tenant_context(organization):
        Program.objects.create(kind="point", name="Points")
        customer, _ = customer_enroll(email="bench@example.com", consent_terms=True, consent_privacy=True)
        login_path = "/" + login_link_create(customer=customer).split("/", 3)[3]
    connections.close_all()
    return secret_key, login_path


async def http(
    port: int, method: str, path: str, headers: dict, body: bytes = b""
) -> tuple[int, dict, bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    lines = [
        f"{method} {path} HTTP/1.1",
        f"Host: {HOST}:{port}",
        "Connection: close",
        # Production redirects plain HTTP; as deployed, a TLS-terminating proxy says it was HTTPS.
        "X-Forwarded-Proto: https",
        f"Content-Length: {len(body)}",
        *(f"{k}: {v}" for k, v in headers.items()),
    ]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
    await writer.drain()
    raw = await reader.read()
    writer.close()
    head, _, payload = raw.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    response_headers = {}
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.decode().partition(":")
        response_headers.setdefault(name.strip().lower(), []).append(value.strip())
    return status, response_headers, payload


async def open_socket(port: int, key: str):
    import websockets

    socket = await websockets.connect(
        f"ws://127.0.0.1:{port}/app/{key}?protocol=7&client=bench&version=1",
        additional_headers={"Host": f"{HOST}:{port}"},
        max_queue=None,
    )
    json.loads(await socket.recv())  # connection_established
    return socket


async def subscribe(socket, channel: str) -> None:
    await socket.send(json.dumps({"event": "pusher:subscribe", "data": {"channel": channel}}))
    while json.loads(await socket.recv()).get("event") != "pusher_internal:subscription_succeeded":
        pass


async def run(
    port: int, api_key: str, login_path: str, app_key: str, idle: int, count: int, rate: float
) -> dict:
    idle_sockets = []
    for _ in range(idle):
        socket = await open_socket(port, app_key)
        await subscribe(socket, f"qr-card.{uuid.uuid4().hex}")
        idle_sockets.append(socket)
    status, headers, _ = await http(port, "GET", login_path, {})
    cookie = "; ".join(value.split(";")[0] for value in headers.get("set-cookie", []))
    assert status == 302 and "sessionid" in cookie, "could not sign the customer in"

    till = await open_socket(port, app_key)
    latencies, lost = [], 0
    for _ in range(count):
        status, _, payload = await http(
            port,
            "POST",
            "/webhook/qr-card-sessions",
            {"X-Api-Key": api_key, "Content-Type": "application/json"},
            b"{}",
        )
        session = json.loads(payload)["data"]
        await subscribe(till, session["channel"])
        started = time.perf_counter()
        identify = asyncio.ensure_future(
            http(port, "GET", f"/identify/{session['session_id']}", {"Cookie": cookie})
        )
        try:
            while True:
                frame = json.loads(await asyncio.wait_for(till.recv(), timeout=5))
                if frame.get("event") == "card_identified" and frame.get("channel") == session["channel"]:
                    latencies.append(time.perf_counter() - started)
                    break
        except TimeoutError:
            lost += 1
        await identify
        await till.send(json.dumps({"event": "pusher:unsubscribe", "data": {"channel": session["channel"]}}))
        await asyncio.sleep(1 / rate)
    still_open = sum(1 for socket in idle_sockets if socket.state.name == "OPEN")
    for socket in [*idle_sockets, till]:
        await socket.close()
    latencies.sort()
    return {
        "identified": len(latencies),
        "lost": lost,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[max(0, int(len(latencies) * 0.99) - 1)] * 1000,
        "idle_open_at_end": still_open,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--idle", type=int, default=1000)
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--rate", type=float, default=20, help="identifications per second at most")
    args = parser.parse_args()

    from bench.pos_earn import free_port, start_server

    api_key, login_path = prepare()
    from django.conf import settings

    port = free_port()
    server = start_server(port, 1)
    try:
        result = asyncio.run(
            run(port, api_key, login_path, settings.REALTIME_APP_KEY, args.idle, args.count, args.rate)
        )
    finally:
        server.terminate()
        server.wait(timeout=15)
        from bench.common import drop_database

        drop_database()
    print(f"server: uvicorn, 1 process, DEBUG off; {args.idle} idle websocket connections")
    print(
        f"identify -> card_identified: p50 {result['p50_ms']:.1f} ms, p99 {result['p99_ms']:.1f} ms; "
        f"{result['identified']} identified, {result['lost']} lost; "
        f"{result['idle_open_at_end']} of {args.idle} idle connections still open"
    )


if __name__ == "__main__":
    main()
