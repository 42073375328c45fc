"""What the event tests share: an endpoint receiving every event type, and the events and
deliveries an organization holds."""

from django_tenants.utils import tenant_context

from loyalty_platform.programs.models import Card, LedgerEntry
from loyalty_platform.webhooks.models import ALL_EVENTS, WebhookDelivery, WebhookEndpoint, WebhookEvent


def subscribe(organization, event_types=(ALL_EVENTS,)) -> WebhookEndpoint:
    with tenant_context(organization):
        return WebhookEndpoint.objects.create(url="http://127.0.0.1:9/hook", event_types=list(event_types))


def recorded(organization) -> list[tuple[str, int | None, dict]]:
    """(type, customer_id, data) of every event, oldest first."""
    with tenant_context(organization):
        return list(WebhookEvent.objects.order_by("pk").values_list("type", "customer_id", "data"))


def deliveries(organization) -> list[tuple[str, int]]:
    with tenant_context(organization):
        return list(WebhookDelivery.objects.order_by("pk").values_list("event__type", "endpoint_id"))


def card_of(organization, customer, kind: str) -> Card:
    with tenant_context(organization):
        return Card.objects.get(customer=customer, program__kind=kind)


def newest_entry(organization, customer, kind: str, **filters) -> LedgerEntry:
    with tenant_context(organization):
        return LedgerEntry.objects.filter(
            card__customer=customer, card__program__kind=kind, **filters
        ).latest("pk")


def delivery_row(
    endpoint: WebhookEndpoint,
    *,
    status: str,
    at,
    attempts: int = 6,
    claimed_until=None,
    last_response_status=500,
) -> WebhookDelivery:
    """A delivery of a points.earned event of customer 7, last tried at `at` (current schema)."""
    event = WebhookEvent.objects.create(
        type="points.earned", customer_id=7, data={"points": 5}, occurred_at=at
    )
    return WebhookDelivery.objects.create(
        event=event,
        endpoint=endpoint,
        ordering_key=7,
        status=status,
        attempts=attempts,
        attempts_total=attempts,
        next_attempt_at=at,
        claimed_until=claimed_until,
        last_attempt_at=at,
        last_response_status=last_response_status,
        created_at=at,
    )
