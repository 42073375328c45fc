"""Send events to websocket listeners through the channel layer, after the transaction
that caused them commits. Group names carry the schema, so no event crosses organizations."""

import json

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import connection, transaction


def customer_group(schema_name: str, customer_id: int) -> str:
    return f"{schema_name}.customer.{customer_id}"


def _send(group: str, event: str, data: dict) -> None:
    layer = get_channel_layer()
    async_to_sync(layer.group_send)(group, {"type": "pusher.event", "event": event, "data": json.dumps(data)})


def publish_to_customer_on_commit(*, customer_id: int, event: str, data: dict) -> None:
    group = customer_group(connection.schema_name, customer_id)
    transaction.on_commit(lambda: _send(group, event, data))
