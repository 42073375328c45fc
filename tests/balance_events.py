"""Listening to a customer's private channel on the real channel layer (Redis), as the
profile's socket would, to count the events a service published after commit."""

import asyncio
import json

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from loyalty_platform.realtime.publish import customer_channel, customer_group

MARKER = "test_marker"


class CustomerListener:
    """Joins the customer's group; `events()` returns what arrived since, in order. It sends a
    marker to the group and reads up to it, so it waits for nothing that may still come."""

    def __init__(self, organization, customer):
        self.layer = get_channel_layer()
        self.group = customer_group(organization.schema_name, customer.pk)
        self.channel_name = customer_channel(customer.pk)
        self.channel = async_to_sync(self.layer.new_channel)()
        async_to_sync(self.layer.group_add)(self.group, self.channel)

    async def _drain(self) -> list[tuple[str, dict]]:
        marker = {"type": "pusher.event", "channel": self.channel_name, "event": MARKER, "data": "{}"}
        await self.layer.group_send(self.group, marker)
        received = []
        while True:
            # A guard against a hang, not a timed assertion: the marker is already queued.
            message = await asyncio.wait_for(self.layer.receive(self.channel), timeout=30)
            if message["event"] == MARKER:
                return received
            received.append((message["event"], json.loads(message["data"])))

    def events(self, name: str | None = None) -> list:
        received = async_to_sync(self._drain)()
        return [data for event, data in received if event == name] if name else received

    def close(self) -> None:
        async_to_sync(self.layer.group_discard)(self.group, self.channel)
