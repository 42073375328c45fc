"""What staff do with webhooks (webhooks.services): the rows each call writes, its audit record,
its after-commit kick, and that a refused call changed nothing."""

import base64
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test import override_settings

from loyalty_platform.audit.models import AuditLogEntry
from loyalty_platform.core.errors import DomainError
from loyalty_platform.webhooks import services
from loyalty_platform.webhooks.models import (
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
    WebhookSecret,
)
from tests.factories import StaffUserFactory
from tests.webhooks.event_helpers import delivery_row

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
URL = "http://127.0.0.1:9/hook"


@pytest.fixture
def staff(in_organization):
    return StaffUserFactory(role="developer", email="dev@example.com")


@pytest.fixture
def endpoint(staff):
    """Made a day before NOW, where the tests' clocks stand."""
    with time_machine.travel(NOW - timedelta(days=1), tick=False):
        created, _secret = services.endpoint_create(
            url=URL, description="CRM", event_types=["points.earned"], staff_user=staff
        )
    AuditLogEntry.objects.all().delete()
    return created


def kicks(callbacks) -> list[str]:
    """The schemas whose delivery task the callbacks queue (others forget caches)."""
    return [
        callback.webhooks_kick_schema for callback in callbacks if hasattr(callback, "webhooks_kick_schema")
    ]


def snapshot() -> dict:
    """Every webhook row and audit record, to compare before and after a refused call."""
    return {
        "endpoints": list(
            WebhookEndpoint.objects.order_by("pk").values(
                "pk", "url", "description", "event_types", "is_enabled", "disabled_at", "failing_since"
            )
        ),
        "secrets": list(
            WebhookSecret.objects.order_by("pk").values("pk", "secret", "created_at", "expires_at")
        ),
        "events": list(WebhookEvent.objects.order_by("pk").values("pk", "type")),
        "deliveries": list(
            WebhookDelivery.objects.order_by("pk").values(
                "pk", "status", "attempts", "attempts_total", "next_attempt_at", "claimed_until"
            )
        ),
        "audit": list(AuditLogEntry.objects.order_by("pk").values("pk", "action")),
    }


def delivery_of(endpoint, *, status, created_at=NOW, attempts=6, claimed_until=None) -> WebhookDelivery:
    return delivery_row(
        endpoint, status=status, at=created_at, attempts=attempts, claimed_until=claimed_until
    )


# --- endpoint_create ------------------------------------------------------------------------


def test_create_writes_the_endpoint_its_secret_and_an_audit_record(staff):
    with time_machine.travel(NOW, tick=False):
        endpoint, secret = services.endpoint_create(
            url=" http://127.0.0.1:9/hook ",
            description=" CRM sync ",
            event_types=["tier.changed", "customer.enrolled", "tier.changed"],
            staff_user=staff,
        )

    endpoint.refresh_from_db()
    assert (
        endpoint.url,
        endpoint.description,
        endpoint.event_types,
        endpoint.is_enabled,
        endpoint.created_by,
        endpoint.created_at,
        endpoint.failing_since,
    ) == (URL, "CRM sync", ["customer.enrolled", "tier.changed"], True, staff, NOW, None)
    assert list(WebhookSecret.objects.values_list("endpoint", "secret", "created_at", "expires_at")) == [
        (endpoint.pk, secret, NOW, None)
    ]
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"), validate=True)) == 24
    entry = AuditLogEntry.objects.get()
    assert (entry.actor, entry.action, entry.target_type, entry.target_id, entry.details) == (
        staff,
        "webhook_endpoint_create",
        "webhooks.WebhookEndpoint",
        str(endpoint.pk),
        {"url": URL, "description": "CRM sync", "event_types": ["customer.enrolled", "tier.changed"]},
    )
    assert secret not in str(entry.details)


def test_two_endpoints_get_different_secrets(staff):
    _first, one = services.endpoint_create(url=URL, description="", event_types=["*"], staff_user=staff)
    _second, other = services.endpoint_create(url=URL, description="", event_types=["*"], staff_user=staff)
    assert one != other


def test_all_events_with_others_is_stored_as_all_events(staff):
    endpoint, _secret = services.endpoint_create(
        url=URL, description="", event_types=["points.earned", "*"], staff_user=staff
    )
    assert WebhookEndpoint.objects.get(pk=endpoint.pk).event_types == ["*"]


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://127.0.0.1/hook", "url_invalid"),
        ("not a url", "url_invalid"),
        ("http://127.0.0.1:9/ho\nok", "url_invalid"),
        ("http://user:pass@127.0.0.1/hook", "url_invalid"),
        ("http://127.0.0.1:99999/hook", "url_invalid"),
        ("", "url_invalid"),
        ("http://" + "a" * 2000 + ".example/", "url_invalid"),
        ("http://no-such-host.invalid/hook", "host_unresolvable"),
    ],
)
def test_create_refuses_a_url_that_cannot_be_used_and_writes_nothing(staff, url, reason):
    with pytest.raises(DomainError) as refused:
        services.endpoint_create(url=url, description="", event_types=["*"], staff_user=staff)
    assert (refused.value.code, refused.value.status, refused.value.extra) == (
        "webhook_url_refused",
        422,
        {"reason": reason},
    )
    assert snapshot() == {"endpoints": [], "secrets": [], "events": [], "deliveries": [], "audit": []}


@override_settings(WEBHOOK_ALLOW_PRIVATE_ADDRESSES=False)
@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:9/hook", "http://10.1.2.3/hook", "http://[::1]/hook", "http://localhost/x"]
)
def test_create_refuses_a_private_address_outside_development(staff, url):
    with pytest.raises(DomainError) as refused:
        services.endpoint_create(url=url, description="", event_types=["*"], staff_user=staff)
    assert (refused.value.code, refused.value.extra) == ("webhook_url_refused", {"reason": "address_refused"})
    assert WebhookEndpoint.objects.count() == 0 and AuditLogEntry.objects.count() == 0


@override_settings(WEBHOOK_REQUIRE_HTTPS=True)
def test_create_refuses_plain_http_where_https_is_required(staff):
    with pytest.raises(DomainError) as refused:
        services.endpoint_create(url=URL, description="", event_types=["*"], staff_user=staff)
    assert refused.value.extra == {"reason": "https_required"}
    assert WebhookEndpoint.objects.count() == 0


@pytest.mark.parametrize(
    ("event_types", "code", "extra"),
    [
        ([], "webhook_event_types_required", {}),
        (["points.earned", "points.stolen"], "webhook_event_type_unknown", {"event_type": "points.stolen"}),
        (["webhook.test"], "webhook_event_type_unknown", {"event_type": "webhook.test"}),
    ],
)
def test_create_refuses_event_types_that_do_not_exist(staff, event_types, code, extra):
    with pytest.raises(DomainError) as refused:
        services.endpoint_create(url=URL, description="", event_types=event_types, staff_user=staff)
    assert (refused.value.code, refused.value.extra) == (code, extra)
    assert snapshot() == {"endpoints": [], "secrets": [], "events": [], "deliveries": [], "audit": []}


@pytest.mark.parametrize("description", ["x" * 201, "two\nlines"])
def test_create_refuses_a_description_too_long_or_with_control_characters(staff, description):
    with pytest.raises(DomainError) as refused:
        services.endpoint_create(url=URL, description=description, event_types=["*"], staff_user=staff)
    assert refused.value.code == "webhook_description_invalid"
    assert WebhookEndpoint.objects.count() == 0


# --- endpoint_update ------------------------------------------------------------------------


def test_update_changes_url_description_and_events_and_audits_each_change(endpoint, staff):
    updated = services.endpoint_update(
        endpoint=endpoint,
        url="http://127.0.0.1:10/new",
        description="CRM",
        event_types=["coupon.issued", "points.earned"],
        staff_user=staff,
    )

    endpoint.refresh_from_db()
    assert updated == endpoint
    assert (endpoint.url, endpoint.description, endpoint.event_types) == (
        "http://127.0.0.1:10/new",
        "CRM",
        ["points.earned", "coupon.issued"],
    )
    entry = AuditLogEntry.objects.get()
    assert (entry.action, entry.details) == (
        "webhook_endpoint_update",
        {
            "changes": {
                "url": [URL, "http://127.0.0.1:10/new"],
                "event_types": [["points.earned"], ["points.earned", "coupon.issued"]],
            }
        },
    )


def test_an_update_that_changes_nothing_writes_no_audit_record(endpoint, staff):
    services.endpoint_update(
        endpoint=endpoint, url=URL, description="CRM", event_types=["points.earned"], staff_user=staff
    )
    assert AuditLogEntry.objects.count() == 0


@override_settings(WEBHOOK_ALLOW_PRIVATE_ADDRESSES=False)
def test_a_refused_update_changes_nothing(endpoint, staff):
    before = snapshot()
    with pytest.raises(DomainError) as refused:
        services.endpoint_update(
            endpoint=endpoint,
            url="http://192.168.1.1/x",
            description="new",
            event_types=["*"],
            staff_user=staff,
        )
    assert refused.value.extra == {"reason": "address_refused"}
    assert snapshot() == before


# --- endpoint_set_enabled -------------------------------------------------------------------


def test_disabling_records_when_and_who(endpoint, staff, django_capture_on_commit_callbacks):
    with time_machine.travel(NOW, tick=False), django_capture_on_commit_callbacks() as callbacks:
        services.endpoint_set_enabled(endpoint=endpoint, enabled=False, staff_user=staff)

    endpoint.refresh_from_db()
    assert (endpoint.is_enabled, endpoint.disabled_at, endpoint.disabled_reason) == (
        False,
        NOW,
        "disabled by dev@example.com",
    )
    assert list(AuditLogEntry.objects.values_list("action", "target_id")) == [
        ("webhook_endpoint_disable", str(endpoint.pk))
    ]
    assert connection.schema_name not in kicks(callbacks)


def test_enabling_forgets_the_failure_and_kicks_delivery(endpoint, staff, django_capture_on_commit_callbacks):
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        is_enabled=False,
        disabled_at=NOW,
        disabled_reason="failing for 3 days",
        failing_since=NOW - timedelta(days=3),
    )
    endpoint.refresh_from_db()

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.endpoint_set_enabled(endpoint=endpoint, enabled=True, staff_user=staff)

    endpoint.refresh_from_db()
    assert (endpoint.is_enabled, endpoint.disabled_at, endpoint.disabled_reason, endpoint.failing_since) == (
        True,
        None,
        "",
        None,
    )
    assert list(AuditLogEntry.objects.values_list("action", flat=True)) == ["webhook_endpoint_enable"]
    assert kicks(callbacks) == [connection.schema_name]


def test_enabling_an_enabled_endpoint_changes_nothing(endpoint, staff):
    before = snapshot()
    services.endpoint_set_enabled(endpoint=endpoint, enabled=True, staff_user=staff)
    assert snapshot() == before


# --- secret_rotate --------------------------------------------------------------------------


@pytest.mark.parametrize(("overlap", "expected_expiry"), [(24, NOW + timedelta(hours=24)), (0, NOW)])
def test_rotation_keeps_the_replaced_secret_for_the_overlap(endpoint, staff, overlap, expected_expiry):
    first = endpoint.secrets.get()

    with time_machine.travel(NOW, tick=False):
        secret = services.secret_rotate(endpoint=endpoint, overlap_hours=overlap, staff_user=staff)

    assert list(endpoint.secrets.values_list("pk", "secret", "created_at", "expires_at")) == [
        (endpoint.secrets.first().pk, secret, NOW, None),
        (first.pk, first.secret, first.created_at, expected_expiry),
    ]
    assert secret.startswith("whsec_") and secret != first.secret
    entry = AuditLogEntry.objects.get()
    assert (entry.action, entry.details) == (
        "webhook_secret_rotate",
        {"overlap_hours": overlap, "previous_secret_expires_at": expected_expiry.isoformat()},
    )
    assert secret not in str(entry.details) and first.secret not in str(entry.details)


def test_a_second_rotation_ends_the_oldest_secret_now(endpoint, staff):
    first = endpoint.secrets.get()
    with time_machine.travel(NOW, tick=False):
        second = services.secret_rotate(endpoint=endpoint, overlap_hours=168, staff_user=staff)
    later = NOW + timedelta(hours=1)
    with time_machine.travel(later, tick=False):
        third = services.secret_rotate(endpoint=endpoint, overlap_hours=24, staff_user=staff)

    assert list(endpoint.secrets.values_list("secret", "expires_at")) == [
        (third, None),
        (second, later + timedelta(hours=24)),
        (first.secret, later),
    ]


def test_an_expired_secret_keeps_its_expiry(endpoint, staff):
    first = endpoint.secrets.get()
    with time_machine.travel(NOW, tick=False):
        services.secret_rotate(endpoint=endpoint, overlap_hours=1, staff_user=staff)
    with time_machine.travel(NOW + timedelta(days=2), tick=False):
        services.secret_rotate(endpoint=endpoint, overlap_hours=0, staff_user=staff)

    assert WebhookSecret.objects.get(pk=first.pk).expires_at == NOW + timedelta(hours=1)


@pytest.mark.parametrize("overlap", [2, -1, 10000])
def test_an_overlap_not_offered_is_refused_and_changes_nothing(endpoint, staff, overlap):
    before = snapshot()
    with pytest.raises(DomainError) as refused:
        services.secret_rotate(endpoint=endpoint, overlap_hours=overlap, staff_user=staff)
    assert (refused.value.code, refused.value.extra) == (
        "webhook_overlap_invalid",
        {"allowed": [0, 1, 24, 168]},
    )
    assert snapshot() == before


# --- Redelivery -----------------------------------------------------------------------------


def test_redeliver_starts_a_new_round_and_keeps_the_log(endpoint, staff, django_capture_on_commit_callbacks):
    delivery = delivery_of(endpoint, status="failed")
    WebhookAttempt.objects.create(
        delivery=delivery, number=6, outcome="failed", request_url=URL, response_status=500
    )
    later = NOW + timedelta(days=1)

    with (
        time_machine.travel(later, tick=False),
        django_capture_on_commit_callbacks(execute=False) as callbacks,
    ):
        services.delivery_redeliver(delivery=delivery, staff_user=staff)

    assert WebhookDelivery.objects.filter(pk=delivery.pk).values(
        "status", "attempts", "attempts_total", "next_attempt_at", "claimed_until", "last_response_status"
    ).get() == {
        "status": "pending",
        "attempts": 0,
        "attempts_total": 6,
        "next_attempt_at": later,
        "claimed_until": None,
        "last_response_status": 500,
    }
    assert list(delivery.attempt_log.values_list("number", "outcome")) == [(6, "failed")]
    entry = AuditLogEntry.objects.get()
    assert (entry.action, entry.target_type, entry.target_id, entry.details) == (
        "webhook_redeliver",
        "webhooks.WebhookDelivery",
        str(delivery.pk),
        {"event": delivery.event.public_id, "endpoint": endpoint.pk},
    )
    assert kicks(callbacks) == [connection.schema_name]


def test_redelivering_a_succeeded_delivery_sends_it_again(endpoint, staff):
    delivery = delivery_of(endpoint, status="succeeded", attempts=1)
    services.delivery_redeliver(delivery=delivery, staff_user=staff)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.attempts_total) == ("pending", 0, 1)


def test_a_delivery_being_sent_is_not_redelivered(endpoint, staff):
    with time_machine.travel(NOW, tick=False):
        delivery = delivery_of(
            endpoint, status="pending", attempts=2, claimed_until=NOW + timedelta(seconds=30)
        )
        before = snapshot()
        with pytest.raises(DomainError) as refused:
            services.delivery_redeliver(delivery=delivery, staff_user=staff)
    assert (refused.value.code, refused.value.status) == ("webhook_delivery_in_progress", 409)
    assert snapshot() == before


def test_a_delivery_whose_lease_ran_out_is_redelivered(endpoint, staff):
    with time_machine.travel(NOW, tick=False):
        delivery = delivery_of(
            endpoint, status="pending", attempts=2, claimed_until=NOW - timedelta(seconds=1)
        )
        services.delivery_redeliver(delivery=delivery, staff_user=staff)
    delivery.refresh_from_db()
    # The passed lease stays, so that the next claim logs the attempt whose outcome was lost.
    assert (delivery.status, delivery.attempts, delivery.claimed_until, delivery.next_attempt_at) == (
        "pending",
        0,
        NOW - timedelta(seconds=1),
        NOW,
    )


def test_nothing_is_redelivered_to_a_disabled_endpoint(endpoint, staff):
    delivery = delivery_of(endpoint, status="failed")
    services.endpoint_set_enabled(endpoint=endpoint, enabled=False, staff_user=staff)
    before = snapshot()
    with pytest.raises(DomainError) as one:
        services.delivery_redeliver(delivery=delivery, staff_user=staff)
    with pytest.raises(DomainError) as failed:
        services.deliveries_redeliver_failed(
            endpoint=endpoint, since=NOW - timedelta(days=1), staff_user=staff
        )
    with pytest.raises(DomainError) as test:
        services.test_event_send(endpoint=endpoint, staff_user=staff)
    assert [one.value.code, failed.value.code, test.value.code] == ["webhook_endpoint_disabled"] * 3
    assert snapshot() == before


def test_redeliver_failed_since_resets_only_failed_deliveries_from_then_on(
    endpoint, staff, django_capture_on_commit_callbacks
):
    other, _secret = services.endpoint_create(url=URL, description="", event_types=["*"], staff_user=staff)
    AuditLogEntry.objects.all().delete()
    since = NOW - timedelta(hours=2)
    before_since = delivery_of(endpoint, status="failed", created_at=since - timedelta(seconds=1))
    at_since = delivery_of(endpoint, status="failed", created_at=since)
    after = delivery_of(endpoint, status="failed", created_at=NOW)
    succeeded = delivery_of(endpoint, status="succeeded", created_at=NOW, attempts=1)
    pending = delivery_of(endpoint, status="pending", created_at=NOW, attempts=2)
    elsewhere = delivery_of(other, status="failed", created_at=NOW)

    with time_machine.travel(NOW, tick=False), django_capture_on_commit_callbacks(execute=False) as callbacks:
        count = services.deliveries_redeliver_failed(endpoint=endpoint, since=since, staff_user=staff)

    assert count == 2
    rows = dict(WebhookDelivery.objects.values_list("pk", "status"))
    assert {
        name: rows[delivery.pk]
        for name, delivery in {
            "before_since": before_since,
            "at_since": at_since,
            "after": after,
            "succeeded": succeeded,
            "pending": pending,
            "elsewhere": elsewhere,
        }.items()
    } == {
        "before_since": "failed",
        "at_since": "pending",
        "after": "pending",
        "succeeded": "succeeded",
        "pending": "pending",
        "elsewhere": "failed",
    }
    assert (
        list(
            WebhookDelivery.objects.filter(pk__in=[at_since.pk, after.pk]).values_list(
                "attempts", "attempts_total", "next_attempt_at", "claimed_until"
            )
        )
        == [(0, 6, NOW, None)] * 2
    )
    assert WebhookDelivery.objects.get(pk=pending.pk).attempts == 2
    entry = AuditLogEntry.objects.get()
    assert (entry.action, entry.target_id, entry.details) == (
        "webhook_redeliver_failed",
        str(endpoint.pk),
        {"since": since.isoformat(), "count": 2},
    )
    assert kicks(callbacks) == [connection.schema_name]


def test_redeliver_failed_with_nothing_failed_counts_zero_and_kicks_nothing(
    endpoint, staff, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        count = services.deliveries_redeliver_failed(endpoint=endpoint, since=NOW, staff_user=staff)
    assert count == 0
    assert kicks(callbacks) == []
    assert AuditLogEntry.objects.get().details == {"since": NOW.isoformat(), "count": 0}


# --- test_event_send ------------------------------------------------------------------------


def test_a_test_event_goes_to_that_endpoint_only(endpoint, staff, django_capture_on_commit_callbacks):
    services.endpoint_create(url=URL, description="", event_types=["*"], staff_user=staff)
    AuditLogEntry.objects.all().delete()

    with time_machine.travel(NOW, tick=False), django_capture_on_commit_callbacks(execute=False) as callbacks:
        delivery = services.test_event_send(endpoint=endpoint, staff_user=staff)

    event = WebhookEvent.objects.get()
    assert (event.type, event.customer_id, event.occurred_at, event.data) == (
        "webhook.test",
        None,
        NOW,
        {"message": "A test event sent from the portal.", "endpoint": URL},
    )
    assert list(
        WebhookDelivery.objects.values_list(
            "pk",
            "event",
            "endpoint",
            "ordering_key",
            "status",
            "attempts",
            "attempts_total",
            "next_attempt_at",
        )
    ) == [(delivery.pk, event.pk, endpoint.pk, None, "pending", 0, 0, NOW)]
    entry = AuditLogEntry.objects.get()
    assert (entry.action, entry.target_id, entry.details) == (
        "webhook_test_send",
        str(endpoint.pk),
        {"event": event.public_id, "delivery": delivery.pk},
    )
    assert kicks(callbacks) == [connection.schema_name]
