"""Outgoing webhooks (docs/decisions/0049-outgoing-webhooks.md): the merchant's endpoints, the
outbox of events written in the transaction of the change they describe, one delivery per
event and endpoint, and the log of every attempt."""

import uuid

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

# An endpoint listing this receives every event type, those added later too.
ALL_EVENTS = "*"


class WebhookEndpoint(models.Model):
    url = models.URLField(_("URL"), max_length=2000)
    description = models.CharField(_("description"), max_length=200, blank=True)
    # Event type names (webhooks.events.EVENT_TYPES) or ALL_EVENTS.
    event_types = ArrayField(models.CharField(max_length=40), verbose_name=_("events"), default=list)
    is_enabled = models.BooleanField(_("enabled"), default=True, db_default=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=200, blank=True)
    # The first failed attempt since the last success: failing for
    # WEBHOOK_DISABLE_AFTER_FAILING_DAYS disables the endpoint.
    failing_since = models.DateTimeField(null=True, blank=True)
    # The last failed attempt: a quiet spell between failures starts a new streak.
    last_failed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["pk"]
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")

    def __str__(self) -> str:
        return self.url


class WebhookSecret(models.Model):
    """A signing secret ("whsec_" and base64, the Standard Webhooks form). The newest one signs;
    one replaced by a rotation signs as well until its expires_at (the overlap)."""

    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="secrets")
    secret = models.CharField(max_length=100)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.secret[:10]}…"


class WebhookEvent(models.Model):
    """The outbox: one row per event, written by the service that made the change, in its
    transaction. `event_id` is what receivers see (the body's id and the webhook-id header);
    it is unique across organizations, the bigint id only orders a schema's events."""

    event_id = models.UUIDField(default=uuid.uuid4, unique=True)
    type = models.CharField(max_length=40)
    # The customer the event is about (none for some, e.g. an anonymous giftcard): deliveries
    # of one customer's events to one endpoint keep their order.
    customer_id = models.BigIntegerField(null=True, blank=True)
    occurred_at = models.DateTimeField(default=timezone.now)
    data = models.JSONField(default=dict)

    class Meta:
        ordering = ["-pk"]
        indexes = [models.Index(fields=["occurred_at"], name="webhook_event_occurred_idx")]

    def __str__(self) -> str:
        return f"{self.type} {self.public_id}"

    @property
    def public_id(self) -> str:
        return f"evt_{self.event_id.hex}"


class WebhookDelivery(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SUCCEEDED = "succeeded", _("Delivered")
        FAILED = "failed", _("Failed")

    event = models.ForeignKey(WebhookEvent, on_delete=models.CASCADE, related_name="deliveries")
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    # The event's customer_id, copied so the order check reads one index.
    ordering_key = models.BigIntegerField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    # Attempts in the current round (a redelivery starts a new round): the retry schedule's
    # position. attempts_total numbers the log's rows.
    attempts = models.PositiveSmallIntegerField(default=0)
    attempts_total = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    # Set while a worker sends it: until then no other worker takes it. A worker that died
    # sending leaves it set; once it has passed, the delivery is sent again (same webhook-id).
    claimed_until = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    succeeded_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-pk"]
        constraints = [
            models.UniqueConstraint(fields=["event", "endpoint"], name="webhook_delivery_once"),
        ]
        indexes = [
            # What is due, oldest first.
            models.Index(
                fields=["next_attempt_at", "id"],
                name="webhook_delivery_due_idx",
                condition=Q(status="pending"),
            ),
            # The earliest pending delivery of a customer to an endpoint (the order check).
            models.Index(
                fields=["endpoint", "ordering_key", "id"],
                name="webhook_delivery_chain_idx",
                condition=Q(status="pending"),
            ),
            # An endpoint's log, newest first, and its failures since a time.
            models.Index(fields=["endpoint", "-id"], name="webhook_delivery_log_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.event} → {self.endpoint}"


class WebhookAttempt(models.Model):
    class Outcome(models.TextChoices):
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")
        # The worker stopped between sending and recording: what the receiver answered is unknown.
        LOST = "lost", _("No outcome recorded")

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveIntegerField()
    started_at = models.DateTimeField(default=timezone.now)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    request_url = models.CharField(max_length=2000)
    request_headers = models.JSONField(default=dict)
    request_body = models.TextField(blank=True)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    # The first WEBHOOK_LOG_RESPONSE_BYTES of the answer, decoded leniently.
    response_body = models.TextField(blank=True)
    # Why it failed without an answer or was not sent: timeout, connection_failed,
    # address_refused, redirect_not_followed, ...
    error = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-pk"]
        indexes = [models.Index(fields=["delivery", "-id"], name="webhook_attempt_delivery_idx")]

    def __str__(self) -> str:
        return f"{self.delivery} #{self.number}"
