"""Delivering the outbox (docs/decisions/0049-outgoing-webhooks.md)."""

from __future__ import annotations

import logging

from django_tenants.utils import schema_context

from loyalty_platform.core import redis as lp_redis
from loyalty_platform.core.faults import REDIS_FAULTS, BrokerError

logger = logging.getLogger(__name__)

DELIVER_TASK = "loyalty_platform.webhooks.tasks.deliver_webhooks"
# A queued or running delivery task of the organization holds this key; it deletes it before
# each look for due deliveries, so an event committed after that look queues a task again.
KICK_SECONDS = 120


def kick_key(schema_name: str) -> str:
    return lp_redis.key("webhooks-kick", schema_name)


def deliveries_kick(*, schema_name: str) -> None:
    """Queue the organization's delivery task unless one holds the kick key. With Redis
    unreachable nothing is queued: the minute's sweep (beat "deliver-webhooks") delivers."""
    from loyalty_platform.celery import app

    try:
        if not lp_redis.client().set(kick_key(schema_name), b"1", nx=True, ex=KICK_SECONDS):
            return
        with schema_context(schema_name):
            app.send_task(DELIVER_TASK)
    except (BrokerError, *REDIS_FAULTS) as error:
        logger.warning("webhook deliveries of %s not queued (%s): the sweep sends them", schema_name, error)


def deliveries_deliver() -> dict[str, int]:
    """Send what is due in the current schema. (Written by the delivery work.)"""
    return {}
