"""The Redis channel layer, also keeping per organization the set of live subscriptions to
its customers' groups, so that a POS call can tell in its rate-limit round trip whether
anyone listens to any customer of the organization (realtime.publish, pos_api.throttling).

Every group_add and group_discard of a customer group goes through here, whoever calls
it (the websocket consumer, tests, scripts), so the set cannot miss a member the group
has. Entries age like the group's own members (channels_redis scores both by join time and
drops them after `group_expiry`): a process that died without discarding leaves an entry
that only costs a group check per event until it ages out."""

import time

from channels_redis.core import RedisChannelLayer

from loyalty_platform.core import redis as lp_redis

CUSTOMER_GROUP_INFIX = ".customer."


def listening_key(schema_name: str) -> str:
    return lp_redis.key("realtime-listening", schema_name)


def customer_group_schema(group: str) -> str | None:
    schema_name, infix, customer_id = group.partition(CUSTOMER_GROUP_INFIX)
    return schema_name if infix and customer_id.isdigit() else None


class ListenerCountingChannelLayer(RedisChannelLayer):
    async def group_add(self, group: str, channel: str) -> None:
        await super().group_add(group, channel)
        if (schema_name := customer_group_schema(group)) is not None:
            connection = self.connection(self.consistent_hash(group))
            key = listening_key(schema_name)
            await connection.zadd(key, {f"{group} {channel}": time.time()})
            await connection.expire(key, self.group_expiry)

    async def group_discard(self, group: str, channel: str) -> None:
        await super().group_discard(group, channel)
        if (schema_name := customer_group_schema(group)) is not None:
            connection = self.connection(self.consistent_hash(group))
            await connection.zrem(listening_key(schema_name), f"{group} {channel}")
