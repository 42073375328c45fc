"""The outbox (webhooks.outbox): an event is written with its change or not at all, one
delivery per enabled endpoint that subscribes, nothing while none does."""

import pytest
from django.db import transaction
from django_tenants.utils import tenant_context

from loyalty_platform.webhooks.models import ALL_EVENTS, WebhookDelivery, WebhookEndpoint, WebhookEvent
from loyalty_platform.webhooks.outbox import event_record, events_record_many


@pytest.fixture
def endpoints(organization):
    with tenant_context(organization):
        earned = WebhookEndpoint.objects.create(url="http://127.0.0.1:9/a", event_types=["points.earned"])
        everything = WebhookEndpoint.objects.create(url="http://127.0.0.1:9/b", event_types=[ALL_EVENTS])
        WebhookEndpoint.objects.create(
            url="http://127.0.0.1:9/c", event_types=["points.earned"], is_enabled=False
        )
        yield earned, everything


def test_an_event_gets_one_delivery_per_enabled_subscribed_endpoint(endpoints, organization):
    earned, everything = endpoints
    with tenant_context(organization), transaction.atomic():
        event_record("points.earned", customer_id=7, data={"points": 5})
        event_record("coupon.issued", customer_id=7, data={"code": "X"})
    with tenant_context(organization):
        events = {event.type: event for event in WebhookEvent.objects.all()}
        assert set(events) == {"points.earned", "coupon.issued"}
        assert events["points.earned"].data == {"points": 5}
        assert events["points.earned"].customer_id == 7
        deliveries = sorted(
            WebhookDelivery.objects.values_list(
                "event__type", "endpoint_id", "ordering_key", "status", "attempts"
            )
        )
        assert deliveries == sorted(
            [
                ("points.earned", earned.pk, 7, "pending", 0),
                ("points.earned", everything.pk, 7, "pending", 0),
                ("coupon.issued", everything.pk, 7, "pending", 0),
            ]
        )


def test_a_rolled_back_change_leaves_no_event(endpoints, organization):
    with tenant_context(organization):
        with pytest.raises(ZeroDivisionError), transaction.atomic():
            event_record("points.earned", customer_id=7, data={"points": 5})
            1 / 0  # noqa: B018
        assert WebhookEvent.objects.count() == 0
        assert WebhookDelivery.objects.count() == 0


def test_nothing_is_written_while_no_endpoint_subscribes(organization):
    with tenant_context(organization), transaction.atomic():
        WebhookEndpoint.objects.create(url="http://127.0.0.1:9/a", event_types=["tier.changed"])
        event_record("points.earned", customer_id=7, data={"points": 5})
        events_record_many("points.expired", [(1, {"points": 1}), (2, {"points": 2})])
        assert WebhookEvent.objects.count() == 0


def test_many_events_in_one_statement(endpoints, organization):
    with tenant_context(organization), transaction.atomic():
        events_record_many("points.earned", [(1, {"points": 1}), (None, {"points": 2})])
        assert list(WebhookEvent.objects.order_by("pk").values_list("customer_id", "data")) == [
            (1, {"points": 1}),
            (None, {"points": 2}),
        ]
        assert WebhookDelivery.objects.count() == 4


def test_an_unknown_type_is_refused(endpoints, organization):
    with tenant_context(organization):
        with pytest.raises(ValueError), transaction.atomic():
            event_record("points.earnt", customer_id=7, data={})
        assert WebhookEvent.objects.count() == 0


def test_a_kick_the_broker_refused_gives_its_key_back(organization, monkeypatch):
    """With no task queued, nothing holds the organization's kick key: the next commit tries
    again instead of waiting up to a minute for the sweep."""
    from kombu.exceptions import OperationalError

    from loyalty_platform.celery import app
    from loyalty_platform.core import redis as lp_redis
    from loyalty_platform.webhooks.delivery import deliveries_kick, kick_key

    def refuse(*args, **kwargs):
        raise OperationalError("broker down")

    monkeypatch.setattr(app, "send_task", refuse)
    deliveries_kick(schema_name=organization.schema_name)
    assert lp_redis.client().exists(kick_key(organization.schema_name)) == 0

    sent = []
    monkeypatch.setattr(app, "send_task", lambda name, *args, **kwargs: sent.append(name))
    deliveries_kick(schema_name=organization.schema_name)
    deliveries_kick(schema_name=organization.schema_name)
    assert sent == ["loyalty_platform.webhooks.tasks.send_webhooks"]
    assert lp_redis.client().exists(kick_key(organization.schema_name)) == 1
