"""The Pusher channels protocol (version 7), the subset in shared/contracts/realtime.md."""

import asyncio
import json
import secrets
import time

from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from loyalty_platform.realtime.publish import customer_group
from loyalty_platform.realtime.signing import PRIVATE_CUSTOMER, PUBLIC_CHANNEL, app_key, signature_is_valid

ERROR_UNKNOWN_APP = 4001
ERROR_OVER_CAPACITY = 4100
ERROR_PONG_NOT_RECEIVED = 4201
ERROR_SUBSCRIPTION_REFUSED = 4009
MAX_SUBSCRIPTIONS = 20
MAX_MESSAGE_BYTES = 10_000


class PusherConsumer(AsyncWebsocketConsumer):
    async def connect(self) -> None:
        await self.accept()
        if self.scope["url_route"]["kwargs"].get("app_key") != app_key():
            await self._error(ERROR_UNKNOWN_APP, "App key not in this server")
            await self.close(code=ERROR_UNKNOWN_APP)
            return
        self.socket_id = f"{secrets.randbelow(10**9)}.{secrets.randbelow(10**9)}"
        self.tenant = self.scope.get("tenant")
        self.subscriptions: dict[str, str] = {}
        self.last_seen = time.monotonic()
        self.timeout = settings.REALTIME_ACTIVITY_TIMEOUT
        await self._send(
            "pusher:connection_established",
            data={"socket_id": self.socket_id, "activity_timeout": self.timeout},
        )
        self.watchdog = asyncio.ensure_future(self._close_when_idle())

    async def disconnect(self, code) -> None:
        watchdog = getattr(self, "watchdog", None)
        if watchdog is not None:
            watchdog.cancel()
        for group in getattr(self, "subscriptions", {}).values():
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive(self, text_data=None, bytes_data=None) -> None:
        self.last_seen = time.monotonic()
        if text_data is None or len(text_data) > MAX_MESSAGE_BYTES:
            return
        try:
            message = json.loads(text_data)
        except ValueError:
            return
        if not isinstance(message, dict):
            return
        event, data = message.get("event"), message.get("data")
        if event == "pusher:ping":
            await self._send("pusher:pong", data={})
        elif event == "pusher:subscribe" and isinstance(data, dict):
            await self._subscribe(data.get("channel"), data.get("auth"))
        elif event == "pusher:unsubscribe" and isinstance(data, dict):
            group = self.subscriptions.pop(data.get("channel"), None)
            if group:
                await self.channel_layer.group_discard(group, self.channel_name)

    async def _subscribe(self, channel: object, auth: object) -> None:
        if not isinstance(channel, str):
            return
        group = None
        if PUBLIC_CHANNEL.match(channel):
            group = channel
        elif (
            (match := PRIVATE_CUSTOMER.match(channel))
            and self.tenant is not None
            and signature_is_valid(
                auth=auth, schema_name=self.tenant.schema_name, socket_id=self.socket_id, channel_name=channel
            )
        ):
            group = customer_group(self.tenant.schema_name, int(match.group(1)))
        if group is None or len(self.subscriptions) >= MAX_SUBSCRIPTIONS:
            await self._error(ERROR_SUBSCRIPTION_REFUSED, f"Subscription to {channel[:100]} refused")
            return
        await self.channel_layer.group_add(group, self.channel_name)
        self.subscriptions[channel] = group
        await self._send("pusher_internal:subscription_succeeded", channel=channel, data={})

    async def pusher_event(self, message: dict) -> None:
        """An event from the channel layer, for one of this connection's channels."""
        channel = message.get("channel")
        if channel in self.subscriptions:
            await self.send(
                text_data=json.dumps({"event": message["event"], "channel": channel, "data": message["data"]})
            )

    async def _send(self, event: str, *, data: dict, channel: str | None = None) -> None:
        frame = {"event": event, "data": json.dumps(data)}
        if channel is not None:
            frame["channel"] = channel
        await self.send(text_data=json.dumps(frame))

    async def _error(self, code: int, text: str) -> None:
        # pusher:error carries its data as an object, unlike other server events.
        await self.send(
            text_data=json.dumps({"event": "pusher:error", "data": {"code": code, "message": text}})
        )

    async def _close_when_idle(self) -> None:
        while True:
            await asyncio.sleep(min(10, self.timeout))
            if time.monotonic() - self.last_seen > self.timeout + 30:
                await self._error(ERROR_PONG_NOT_RECEIVED, "Activity timeout")
                await self.close(code=ERROR_PONG_NOT_RECEIVED)
                return
