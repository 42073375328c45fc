"""Clean-up of what only lives for a while, once its retention has passed (settings.
RETENTION_DAYS; the README's "Data retention" table and docs/decisions/0045-retention.md say
what is kept how long and why).

Runs in one organization's schema (core.tasks.purge_expired_records, hourly). What it does:

- deletes PIN challenges, sign-in links, QR card sessions, POS invitations and staff
  invitations whose `expires_at` lies more than their retention in the past (a used one was
  used before it expired, so it is kept at least as long after its use). Nothing references
  these rows by foreign key;
- clears the claim deadline of orders claimed more than the receipt-claim retention ago.
  Orders are business records and stay. An unclaimed order keeps its deadline for good:
  `orders.services.order_claim` reads an empty deadline as "no deadline", so clearing it
  would make an old receipt claimable again;
- deletes outgoing webhook events (webhooks.WebhookEvent, the outbox) that occurred more than
  their retention ago once none of their deliveries is still pending; their deliveries and
  the attempt log go with them. A pending one (retried, or waiting for a disabled endpoint)
  keeps its event until it is done;
- removes what Redis keeps without a time-to-live under the organization's schema: the
  organization's set of live customer subscriptions (realtime.layer) is refreshed with every
  new subscription, so members left by processes that died age out of the count but never
  out of the set. (Campaign mail counters given back after their minute no longer outlive it:
  campaigns.messages.rate_release gives back only to a key that exists.) The rate limits' own
  counters (core.throttle, core.redis.window_incr) always carry one and need nothing.

Work goes in chunks of RETENTION_CHUNK_SIZE rows, each its own transaction, so no busy table
is locked for long; a second worker running at once, or a run after a crash, only finds what
is left. The public schema's counterpart, platform_records_purge, runs from tenants.tasks.
purge_platform_records."""

from collections.abc import Callable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import models, transaction
from django.utils import timezone

from loyalty_platform.accounts.models import StaffInvitation
from loyalty_platform.core import redis as lp_redis
from loyalty_platform.customers.models import LoginLink
from loyalty_platform.identification.models import Invitation, QrCardSession
from loyalty_platform.orders.models import Order
from loyalty_platform.realtime.publish import listening_count_args
from loyalty_platform.verification.models import PinChallenge
from loyalty_platform.webhooks.models import WebhookDelivery, WebhookEvent
from tenants.models import PortalHandoff

# The rows a purge reads at once before deleting them chunk by chunk: one scan of a table
# without an index on its deadline finds many chunks, not one.
CHUNKS_PER_SCAN = 50

# Kind in a run's summary: (model, its entry in settings.RETENTION_DAYS). Each row is purged
# once its `expires_at` is that many days old.
EXPIRING: dict[str, tuple[type[models.Model], str]] = {
    "pin_challenges": (PinChallenge, "pin_challenge"),
    "login_links": (LoginLink, "login_link"),
    "qr_card_sessions": (QrCardSession, "qr_card_session"),
    "invitations": (Invitation, "invitation"),
    "staff_invitations": (StaffInvitation, "staff_invitation"),
}


def retention_cutoff(name: str, *, now: datetime) -> datetime:
    """The moment before which a record of kind `name` (a key of RETENTION_DAYS) is purged."""
    return now - timedelta(days=settings.RETENTION_DAYS[name])


def in_chunks(queryset: models.QuerySet, apply: Callable[[models.QuerySet], int]) -> int:
    """`apply` (a delete or an update) to the rows `queryset` matches, RETENTION_CHUNK_SIZE
    rows per transaction, in primary-key order (two workers at once lock in the same order);
    the rows it changed. `queryset` must stop matching a row once `apply` has changed it."""
    chunk = settings.RETENTION_CHUNK_SIZE
    scan = chunk * CHUNKS_PER_SCAN
    total = 0
    while True:
        ids = list(queryset.order_by("pk").values_list("pk", flat=True)[:scan])
        changed = 0
        for start in range(0, len(ids), chunk):
            with transaction.atomic():
                changed += apply(queryset.filter(pk__in=ids[start : start + chunk]))
        total += changed
        # Fewer than a scan: that was all. Nothing changed: another worker has these rows.
        if len(ids) < scan or changed == 0:
            return total


def _delete(queryset: models.QuerySet) -> int:
    deleted, _per_model = queryset.delete()
    return deleted


def purge_queryset(queryset: models.QuerySet) -> int:
    """Delete what `queryset` matches in chunks; the rows deleted."""
    return in_chunks(queryset, _delete)


def expiring_records_purge(*, now: datetime) -> dict[str, int]:
    """Delete the short-lived records of this schema past their retention; counts per kind."""
    counts = {}
    for kind, (model, retention) in EXPIRING.items():
        cutoff = retention_cutoff(retention, now=now)
        counts[kind] = purge_queryset(model._base_manager.filter(expires_at__lt=cutoff))
    return counts


def receipt_claims_clear(*, now: datetime) -> int:
    """Clear the claim deadline of orders claimed before the receipt-claim retention; the
    orders changed. Unclaimed orders keep theirs (see the module's docstring)."""
    cutoff = retention_cutoff("receipt_claim", now=now)
    claimed = Order.objects.filter(
        customer__isnull=False, claimed_at__lt=cutoff, claim_expires_at__isnull=False
    )
    return in_chunks(claimed, lambda chunk: chunk.update(claim_expires_at=None))


def _delete_webhook_events(chunk: models.QuerySet) -> int:
    # The chunk's query still asks for no pending delivery, so one redelivered meanwhile stays.
    _deleted, per_model = chunk.delete()
    return per_model.get(WebhookEvent._meta.label, 0)


def webhook_events_purge(*, now: datetime) -> int:
    """Delete the webhook events past their retention whose deliveries are all done (with
    those deliveries and their attempts); the events deleted."""
    cutoff = retention_cutoff("webhook_event", now=now)
    done = WebhookEvent.objects.filter(occurred_at__lt=cutoff).exclude(
        deliveries__status=WebhookDelivery.Status.PENDING
    )
    return in_chunks(done, _delete_webhook_events)


def redis_leftovers_purge(*, schema_name: str) -> dict[str, int]:
    """Remove the organization's Redis entries that no time-to-live would ever remove;
    counts per kind. Redis' own clock decides, as it does for the keys' lifetimes."""
    client = lp_redis.client()
    key, live_since = listening_count_args(schema_name)
    # Members scored before live_since are no longer counted (realtime.publish).
    listeners = client.zremrangebyscore(key, "-inf", f"({live_since}")
    return {"realtime_listeners": listeners}


def expired_records_purge(*, schema_name: str, now: datetime | None = None) -> dict[str, int]:
    """Everything this module purges in the organization whose schema is current."""
    now = now or timezone.now()
    counts = expiring_records_purge(now=now)
    counts["receipt_claims"] = receipt_claims_clear(now=now)
    counts["webhook_events"] = webhook_events_purge(now=now)
    counts.update(redis_leftovers_purge(schema_name=schema_name))
    return counts


def platform_records_purge(*, now: datetime | None = None) -> dict[str, int]:
    """In the public schema: the portal sign-in links (tenants.PortalHandoff, used or not)
    past their retention. Unconfirmed sign-ups have their own job (tenants.signup)."""
    now = now or timezone.now()
    cutoff = retention_cutoff("portal_handoff", now=now)
    return {"portal_handoffs": purge_queryset(PortalHandoff.objects.filter(expires_at__lt=cutoff))}
