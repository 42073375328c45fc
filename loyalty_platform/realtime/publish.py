"""Send events to websocket listeners through the channel layer, after the transaction
that caused them commits. Private channels map to groups that carry the schema; public
channels carry a globally unique id. No event crosses organizations."""

import asyncio
import json
import time
from contextvars import ContextVar

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import connection, transaction

from loyalty_platform.core import redis as lp_redis
from loyalty_platform.core.faults import REDIS_FAULTS, warn_degraded
from loyalty_platform.realtime.layer import listening_key

# Set by a POS call's rate limit: (schema, live subscriptions to its customers' groups).
# A request-scoped value: pos_api.endpoints.PosApiView resets it when the request ends.
schema_listeners: ContextVar[tuple[str, int] | None] = ContextVar("schema_listeners", default=None)

# Set by the ASGI handler for the request it serves: the server's event loop.
server_event_loop: ContextVar[asyncio.AbstractEventLoop | None] = ContextVar(
    "server_event_loop", default=None
)


def customer_group(schema_name: str, customer_id: int) -> str:
    return f"{schema_name}.customer.{customer_id}"


def customer_channel(customer_id: int) -> str:
    return f"private-customer.{customer_id}"


def listening_count_args(schema_name: str) -> tuple[str, int]:
    """The key and minimum score that count the organization's live customer subscriptions
    (realtime.layer), for a round trip that already goes to Redis."""
    return listening_key(schema_name), _members_since(get_channel_layer())


def listeners_seen(schema_name: str, count: int | None) -> None:
    """What the request's rate-limit round trip counted (None: not known)."""
    schema_listeners.set(None if count is None else (schema_name, count))


def someone_listens() -> bool:
    """Whether any customer of the organization has a live subscription, in one Redis read:
    a job that changes many customers asks once before it sends to each. A Redis fault
    answers False: the pushes are best effort and listeners poll."""
    key, minimum = listening_count_args(connection.schema_name)
    try:
        return bool(lp_redis.client().zcount(key, minimum, "+inf"))
    except REDIS_FAULTS as error:
        warn_degraded("realtime event", error)
        return False


def nobody_listens(schema_name: str) -> bool:
    """True when this request counted no live subscription to any customer of the
    organization: then a customer event has nobody to reach. A subscription made after the
    count misses this request's events, as one made just after an event would."""
    return schema_listeners.get() == (schema_name, 0)


def _log_failure(future) -> None:
    if not future.cancelled() and future.exception() is not None:
        warn_degraded("realtime event", future.exception())


def _members_since(layer) -> int:
    """The oldest score of a live member of a group: channels_redis scores members by the
    time they joined and drops those older than the group expiry."""
    return int(time.time()) - layer.group_expiry


async def _send_if_listened(layer, group: str, message: dict) -> None:
    # Most customers have no profile open: one read finds that out, where group_send would
    # make two round trips to find no member.
    connection = layer.connection(layer.consistent_hash(group))
    if await connection.zcount(layer._group_key(group), _members_since(layer), "+inf"):
        await layer.group_send(group, message)


def _listened(layer, group: str) -> bool:
    """Whether the group has a live member, from this thread without an event loop (the
    channel layer's own connections belong to one)."""
    return bool(lp_redis.client().zcount(layer._group_key(group), _members_since(layer), "+inf"))


def send_event(*, group: str, channel: str, event: str, data: dict) -> None:
    message = {"type": "pusher.event", "channel": channel, "event": event, "data": json.dumps(data)}
    layer = get_channel_layer()
    loop = server_event_loop.get()
    if loop is not None and loop.is_running():
        # Inside the web server: hand the send to its event loop instead of waiting for it,
        # so the response does not wait on Redis. Listeners that miss it can poll.
        asyncio.run_coroutine_threadsafe(_send_if_listened(layer, group, message), loop).add_done_callback(
            _log_failure
        )
    else:
        try:
            # async_to_sync runs a new event loop with a new Redis connection: worth it only
            # when somebody listens.
            if _listened(layer, group):
                async_to_sync(layer.group_send)(group, message)
        except (*REDIS_FAULTS, OSError) as error:
            # The change is committed; listeners that miss the push see it when they poll.
            warn_degraded("realtime event", error)


def publish_to_customer_on_commit(*, customer_id: int, event: str, data: dict) -> None:
    if nobody_listens(connection.schema_name):
        return
    group = customer_group(connection.schema_name, customer_id)
    channel = customer_channel(customer_id)
    transaction.on_commit(lambda: send_event(group=group, channel=channel, event=event, data=data))


def publish_public_on_commit(*, channel: str, event: str, data: dict) -> None:
    """Public channels are named by an unguessable, globally unique id; the group is the name."""
    transaction.on_commit(lambda: send_event(group=channel, channel=channel, event=event, data=data))
