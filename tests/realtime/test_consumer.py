"""The Pusher-protocol consumer through the full ASGI stack (tenant middleware included)."""

import asyncio
import json
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from channels.db import database_sync_to_async
from channels.layers import channel_layers, get_channel_layer
from channels.testing.websocket import WebsocketCommunicator
from django.conf import settings
from django.db import connections

from loyalty_platform.asgi import application
from loyalty_platform.realtime.publish import customer_group
from loyalty_platform.realtime.signing import channel_signature

pytestmark = pytest.mark.usefixtures("committed_db")


def communicator(host: str, key: str | None = None) -> WebsocketCommunicator:
    path = f"/app/{key or settings.REALTIME_APP_KEY}?protocol=7&client=test&version=1"
    return WebsocketCommunicator(application, path, headers=[(b"host", host.encode())])


async def connect(host: str) -> tuple[WebsocketCommunicator, str]:
    socket = communicator(host)
    connected, _ = await socket.connect()
    assert connected
    frame = await socket.receive_json_from()
    assert frame["event"] == "pusher:connection_established"
    data = json.loads(frame["data"])
    assert data["activity_timeout"] == 120
    return socket, data["socket_id"]


def run(coroutine):
    async def with_cleanup():
        try:
            return await coroutine
        finally:
            # The tenant look-up ran in channels' database thread; close what it opened there.
            await database_sync_to_async(connections.close_all)()

    # Every run has an event loop of its own, and channels-redis binds its receive lock and
    # connection pools to the loop that first used them: a layer left over from an earlier
    # run's loop failed now and then ("bound to a different event loop").
    channel_layers.backends.clear()
    # A thread of its own: Playwright's sync API may keep an event loop running in this one.
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, with_cleanup()).result()


def test_connection_established_and_ping():
    async def scenario():
        socket, socket_id = await connect("test-a.localhost")
        assert socket_id.count(".") == 1
        await socket.send_json_to({"event": "pusher:ping", "data": {}})
        assert await socket.receive_json_from() == {"event": "pusher:pong", "data": "{}"}
        await socket.disconnect()

    run(scenario())


def test_unknown_app_key_gets_error_4001_and_close():
    async def scenario():
        socket = communicator("test-a.localhost", key="wrong-key")
        await socket.connect()
        frame = await socket.receive_json_from()
        assert frame["event"] == "pusher:error" and frame["data"]["code"] == 4001
        closed = await socket.receive_output()
        assert closed == {"type": "websocket.close", "code": 4001}

    run(scenario())


def test_unknown_host_is_refused():
    async def scenario():
        socket = communicator("nobody.localhost")
        connected, _ = await socket.connect()
        assert not connected

    run(scenario())


def test_public_channel_receives_its_events():
    channel = f"qr-card.{uuid.uuid4().hex}"

    async def scenario():
        socket, _ = await connect("localhost")
        await socket.send_json_to({"event": "pusher:subscribe", "data": {"channel": channel}})
        assert await socket.receive_json_from() == {
            "event": "pusher_internal:subscription_succeeded",
            "channel": channel,
            "data": "{}",
        }
        await get_channel_layer().group_send(
            channel,
            {"type": "pusher.event", "channel": channel, "event": "card_identified", "data": '{"a": 1}'},
        )
        assert await socket.receive_json_from() == {
            "event": "card_identified",
            "channel": channel,
            "data": '{"a": 1}',
        }
        await socket.disconnect()

    run(scenario())


@pytest.mark.parametrize("channel", ["qr-card.short", "presence-x", "private-other.1", "x" * 300, 5])
def test_malformed_channels_are_refused(channel):
    async def scenario():
        socket, _ = await connect("test-a.localhost")
        await socket.send_json_to({"event": "pusher:subscribe", "data": {"channel": channel}})
        if isinstance(channel, str):
            frame = await socket.receive_json_from()
            assert frame["event"] == "pusher:error" and frame["data"]["code"] == 4009
        assert await socket.receive_nothing(timeout=0.2)
        await socket.disconnect()

    run(scenario())


def test_private_channel_needs_a_valid_signature_for_this_socket():
    async def scenario():
        socket, socket_id = await connect("test-a.localhost")
        # signed for another socket
        forged = channel_signature(
            schema_name="org_test_a", socket_id="1.2", channel_name="private-customer.7"
        )
        await socket.send_json_to(
            {"event": "pusher:subscribe", "data": {"channel": "private-customer.7", "auth": forged}}
        )
        frame = await socket.receive_json_from()
        assert frame["event"] == "pusher:error" and frame["data"]["code"] == 4009

        good = channel_signature(
            schema_name="org_test_a", socket_id=socket_id, channel_name="private-customer.7"
        )
        await socket.send_json_to(
            {"event": "pusher:subscribe", "data": {"channel": "private-customer.7", "auth": good}}
        )
        assert (await socket.receive_json_from())["event"] == "pusher_internal:subscription_succeeded"
        await socket.disconnect()

    run(scenario())


def test_private_channels_need_an_organization_host():
    async def scenario():
        socket, socket_id = await connect("localhost")
        auth = channel_signature(schema_name="public", socket_id=socket_id, channel_name="private-customer.7")
        await socket.send_json_to(
            {"event": "pusher:subscribe", "data": {"channel": "private-customer.7", "auth": auth}}
        )
        frame = await socket.receive_json_from()
        assert frame["event"] == "pusher:error" and frame["data"]["code"] == 4009
        await socket.disconnect()

    run(scenario())


def test_an_event_for_a_customer_of_a_never_reaches_the_same_id_on_b():
    async def scenario():
        socket_a, id_a = await connect("test-a.localhost")
        socket_b, id_b = await connect("test-b.localhost")
        for socket, socket_id, schema in ((socket_a, id_a, "org_test_a"), (socket_b, id_b, "org_test_b")):
            auth = channel_signature(
                schema_name=schema, socket_id=socket_id, channel_name="private-customer.7"
            )
            await socket.send_json_to(
                {"event": "pusher:subscribe", "data": {"channel": "private-customer.7", "auth": auth}}
            )
            assert (await socket.receive_json_from())["event"] == "pusher_internal:subscription_succeeded"
        await get_channel_layer().group_send(
            customer_group("org_test_a", 7),
            {"type": "pusher.event", "channel": "private-customer.7", "event": "pin_issued", "data": "{}"},
        )
        assert (await socket_a.receive_json_from())["event"] == "pin_issued"
        assert await socket_b.receive_nothing(timeout=0.3)
        await socket_a.disconnect()
        await socket_b.disconnect()

    run(scenario())


HOSTS_AND_SCHEMAS = [("test-a.localhost", "org_test_a"), ("test-b.localhost", "org_test_b")]
OTHER_SIGNERS = [("test-a.localhost", signer) for signer in ("org_test_b", "public", "template")] + [
    ("test-b.localhost", signer) for signer in ("org_test_a", "public", "template")
]
CHANNELS = ["private-customer.7", "private-customer.8"]


def subscribe_signed(socket_host: str, signing_schema: str, channel: str) -> dict:
    async def scenario():
        socket, socket_id = await connect(socket_host)
        auth = channel_signature(schema_name=signing_schema, socket_id=socket_id, channel_name=channel)
        await socket.send_json_to({"event": "pusher:subscribe", "data": {"channel": channel, "auth": auth}})
        frame = await socket.receive_json_from()
        await socket.disconnect()
        return frame

    return run(scenario())


@pytest.mark.parametrize("socket_host, signing_schema", HOSTS_AND_SCHEMAS)
@pytest.mark.parametrize("channel", CHANNELS)
def test_a_signature_of_the_sockets_own_organization_opens_the_channel(socket_host, signing_schema, channel):
    frame = subscribe_signed(socket_host, signing_schema, channel)
    assert frame == {"event": "pusher_internal:subscription_succeeded", "channel": channel, "data": "{}"}


@pytest.mark.parametrize("socket_host, signing_schema", OTHER_SIGNERS)
@pytest.mark.parametrize("channel", CHANNELS)
def test_a_signature_of_another_organization_opens_nothing(socket_host, signing_schema, channel):
    """Primary keys repeat across schemas: a signature made for customer 7 of one organization
    must not open customer 7 of another, whichever host the socket was opened on."""
    frame = subscribe_signed(socket_host, signing_schema, channel)
    assert (frame["event"], frame["data"]["code"]) == ("pusher:error", 4009)


def test_garbage_frames_are_ignored():
    async def scenario():
        socket, _ = await connect("test-a.localhost")
        for text in (
            "not json",
            "[1,2]",
            '{"event": 5}',
            "x" * 20000,
            '{"event":"pusher:subscribe","data":"x"}',
        ):
            await socket.send_to(text_data=text)
        assert await socket.receive_nothing(timeout=0.2)
        await socket.send_json_to({"event": "pusher:ping", "data": {}})
        assert (await socket.receive_json_from())["event"] == "pusher:pong"
        await socket.disconnect()

    run(scenario())
