"""The clean-up of short-lived records (core.retention): what each purge deletes or clears
and what it keeps (records inside their retention, orders, other organizations' rows), that
nothing goes early, and the chunks."""

import time
import uuid
from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.utils import timezone
from django_tenants.utils import tenant_context

from loyalty_platform.accounts.models import StaffInvitation, User
from loyalty_platform.core import errors, retention
from loyalty_platform.core import redis as lp_redis
from loyalty_platform.core.errors import DomainError
from loyalty_platform.core.retention import expired_records_purge, platform_records_purge
from loyalty_platform.customers.models import LoginLink
from loyalty_platform.identification.models import Invitation, QrCardSession
from loyalty_platform.orders.models import Order
from loyalty_platform.orders.services import order_claim
from loyalty_platform.realtime.publish import listening_count_args
from loyalty_platform.verification.models import PinChallenge
from loyalty_platform.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent
from tenants.models import PortalHandoff
from tests.pos_fixtures import create_customer

KINDS = {
    "pin_challenges": (PinChallenge, "pin_challenge"),
    "login_links": (LoginLink, "login_link"),
    "qr_card_sessions": (QrCardSession, "qr_card_session"),
    "invitations": (Invitation, "invitation"),
    "staff_invitations": (StaffInvitation, "staff_invitation"),
}
NOTHING_IN_REDIS = {"realtime_listeners": 0}


def _make(kind: str, customer, staff: User, *, expires_at, **fields):
    """One record of `kind` (a key of KINDS) expiring at `expires_at`."""
    token = uuid.uuid4().hex
    if kind == "pin_challenges":
        fields.setdefault("status", "spent")  # one open challenge per customer and action
        return PinChallenge.objects.create(
            customer=customer, action="redeem", pin_hash=token, pin_length=4, expires_at=expires_at, **fields
        )
    if kind == "login_links":
        return LoginLink.objects.create(customer=customer, token_hash=token, expires_at=expires_at, **fields)
    if kind == "qr_card_sessions":
        return QrCardSession.objects.create(expires_at=expires_at, **fields)
    if kind == "invitations":
        return Invitation.objects.create(email=f"{token[:8]}@example.com", expires_at=expires_at, **fields)
    return StaffInvitation.objects.create(user=staff, token_hash=token, expires_at=expires_at, **fields)


def _staff() -> User:
    return User.objects.create_user(f"staff-{uuid.uuid4().hex[:8]}@example.com", None)


def _remaining(kind: str) -> set:
    model, _ = KINDS[kind]
    return set(model.objects.values_list("pk", flat=True))


def _make_each(organization, *, expires_at) -> dict[str, object]:
    customer = create_customer(organization)
    with tenant_context(organization):
        staff = _staff()
        return {kind: _make(kind, customer, staff, expires_at=expires_at).pk for kind in KINDS}


def test_each_kind_is_deleted_once_its_retention_passed_and_kept_inside_it(organization, other_organization):
    now = timezone.now()
    kept, purged = {}, {}
    customer = create_customer(organization)
    with tenant_context(organization):
        staff = _staff()
        for kind, (_model, name) in KINDS.items():
            days = settings.RETENTION_DAYS[name]
            kept[kind] = {
                _make(kind, customer, staff, expires_at=now - timedelta(days=days) + timedelta(minutes=5)).pk,
                _make(kind, customer, staff, expires_at=now + timedelta(minutes=5)).pk,
            }
            purged[kind] = _make(kind, customer, staff, expires_at=now - timedelta(days=days, minutes=5)).pk
    # Another organization's old rows: its own purge's business, not this one's.
    others = _make_each(other_organization, expires_at=now - timedelta(days=400))

    with tenant_context(organization):
        counts = expired_records_purge(schema_name=organization.schema_name)
        remaining = {kind: _remaining(kind) for kind in KINDS}

    assert counts == {**dict.fromkeys(KINDS, 1), "receipt_claims": 0, "webhook_events": 0, **NOTHING_IN_REDIS}
    for kind in KINDS:
        assert remaining[kind] == kept[kind], kind
        assert purged[kind] not in remaining[kind]
    with tenant_context(other_organization):
        assert {kind: _remaining(kind) for kind in KINDS} == {kind: {pk} for kind, pk in others.items()}


def test_used_spent_and_accepted_records_go_by_their_expiry_like_the_rest(in_organization):
    customer = create_customer(in_organization)
    staff = _staff()
    old = timezone.now() - timedelta(days=400)
    _make("pin_challenges", customer, staff, expires_at=old, status="spent")
    _make("login_links", customer, staff, expires_at=old, used_at=old - timedelta(minutes=1))
    _make(
        "qr_card_sessions", customer, staff, expires_at=old, status="authenticated", customer_id=customer.pk
    )
    _make("invitations", customer, staff, expires_at=old, status="accepted", customer_id=customer.pk)
    _make("staff_invitations", customer, staff, expires_at=old, accepted_at=old - timedelta(hours=1))

    counts = expired_records_purge(schema_name=in_organization.schema_name)

    assert counts == {**dict.fromkeys(KINDS, 1), "receipt_claims": 0, "webhook_events": 0, **NOTHING_IN_REDIS}
    assert {kind: _remaining(kind) for kind in KINDS} == {kind: set() for kind in KINDS}
    # What referred to them stays: the customer and the staff member.
    assert customer.__class__.objects.filter(pk=customer.pk).exists()
    assert User.objects.filter(pk=staff.pk, is_active=True).exists()


@pytest.mark.parametrize("kind", list(KINDS))
def test_nothing_is_purged_a_moment_before_its_retention_ends(in_organization, kind):
    customer = create_customer(in_organization)
    expires_at = timezone.now() + timedelta(minutes=5)
    pk = _make(kind, customer, _staff(), expires_at=expires_at).pk
    purge_from = expires_at + timedelta(days=settings.RETENTION_DAYS[KINDS[kind][1]])

    with time_machine.travel(purge_from - timedelta(seconds=1), tick=False):
        early = expired_records_purge(schema_name=in_organization.schema_name)
        assert pk in _remaining(kind)
    with time_machine.travel(purge_from, tick=False):
        at_the_end = expired_records_purge(schema_name=in_organization.schema_name)
        assert pk in _remaining(kind)
    with time_machine.travel(purge_from + timedelta(seconds=1), tick=False):
        after = expired_records_purge(schema_name=in_organization.schema_name)

    assert (early[kind], at_the_end[kind], after[kind]) == (0, 0, 1)
    assert pk not in _remaining(kind)


def _order(external_id: str, **fields) -> Order:
    return Order.objects.create(
        external_id=external_id, currency="EUR", total="10.00", points_earned=10, **fields
    )


def test_a_claimed_orders_deadline_is_cleared_after_its_retention_and_orders_stay(in_organization):
    customer = create_customer(in_organization)
    now = timezone.now()
    days = settings.RETENTION_DAYS["receipt_claim"]
    old_claim = _order(
        "claimed-long-ago",
        customer=customer,
        claimed_at=now - timedelta(days=days, minutes=1),
        claim_expires_at=now - timedelta(days=days - 20),
    )
    recent_claim = _order(
        "claimed-recently",
        customer=customer,
        claimed_at=now - timedelta(days=days - 1),
        claim_expires_at=now - timedelta(days=days - 25),
    )
    never_claimed = _order("never-claimed", claim_expires_at=now - timedelta(days=days * 3))
    named_at_the_till = _order("named-at-the-till", customer=customer)

    counts = expired_records_purge(schema_name=in_organization.schema_name)

    assert counts["receipt_claims"] == 1
    rows = dict(Order.objects.values_list("external_id", "claim_expires_at"))
    assert rows == {
        "claimed-long-ago": None,
        "claimed-recently": recent_claim.claim_expires_at,
        "never-claimed": never_claimed.claim_expires_at,
        "named-at-the-till": None,
    }
    assert Order.objects.get(pk=old_claim.pk).claimed_at == old_claim.claimed_at
    assert Order.objects.get(pk=named_at_the_till.pk).customer_id == customer.pk
    # The unclaimed receipt stays closed: its deadline is what refuses it.
    with pytest.raises(DomainError) as refused:
        order_claim(order_external_id="never-claimed", customer=customer)
    assert refused.value.error is errors.CLAIM_EXPIRED
    assert Order.objects.get(pk=never_claimed.pk).customer_id is None
    assert expired_records_purge(schema_name=in_organization.schema_name)["receipt_claims"] == 0


def test_purges_work_in_chunks_until_nothing_is_left(in_organization, settings, monkeypatch):
    settings.RETENTION_CHUNK_SIZE = 2
    monkeypatch.setattr(retention, "CHUNKS_PER_SCAN", 2)  # several scans of four rows
    customer = create_customer(in_organization)
    old = timezone.now() - timedelta(days=400)
    for _ in range(9):
        _make("login_links", customer, None, expires_at=old)
    recent = _make("login_links", customer, None, expires_at=timezone.now())

    counts = expired_records_purge(schema_name=in_organization.schema_name)

    assert counts["login_links"] == 9
    assert _remaining("login_links") == {recent.pk}


def test_redis_entries_without_a_lifetime_are_removed_and_the_rest_left_alone(
    organization, other_organization
):
    client = lp_redis.client()
    listening, live_since = listening_count_args(organization.schema_name)
    client.zadd(
        listening,
        # "live 1" a minute inside the window: the purge reads the clock again later, and on a
        # loaded machine an entry scored at the very edge had aged out by then (seen in CI).
        {
            "dead 1": live_since - 3600,
            "dead 2": live_since - 1,
            "live 1": live_since + 60,
            "live 2": time.time(),
        },
    )
    client.expire(listening, 86400)
    other_listening, _ = listening_count_args(other_organization.schema_name)
    client.zadd(other_listening, {"dead elsewhere": live_since - 3600})

    with tenant_context(organization):
        counts = expired_records_purge(schema_name=organization.schema_name)

    assert counts == {
        **dict.fromkeys(KINDS, 0),
        "receipt_claims": 0,
        "webhook_events": 0,
        "realtime_listeners": 2,
    }
    assert client.zrange(listening, 0, -1) == [b"live 1", b"live 2"]
    assert client.ttl(listening) > 0
    assert client.zrange(other_listening, 0, -1) == [b"dead elsewhere"]


def _handoff(organization, *, expires_at, used_at=None) -> PortalHandoff:
    return PortalHandoff.objects.create(
        organization=organization,
        token_hash=uuid.uuid4().hex,
        purpose="support",
        staff_email="support@example.com",
        expires_at=expires_at,
        used_at=used_at,
    )


def test_portal_handoffs_of_every_organization_go_after_their_retention(db, organization, other_organization):
    now = timezone.now()
    days = settings.RETENTION_DAYS["portal_handoff"]
    old = now - timedelta(days=days, seconds=1)
    gone = {
        _handoff(organization, expires_at=old).pk,
        _handoff(organization, expires_at=old, used_at=old - timedelta(minutes=1)).pk,
        _handoff(other_organization, expires_at=old).pk,
    }
    kept = {
        _handoff(organization, expires_at=now - timedelta(days=days) + timedelta(minutes=1)).pk,
        _handoff(other_organization, expires_at=now + timedelta(minutes=2)).pk,
    }

    counts = platform_records_purge()

    assert counts == {"portal_handoffs": 3}
    remaining = set(PortalHandoff.objects.filter(pk__in=gone | kept).values_list("pk", flat=True))
    assert remaining == kept
    assert platform_records_purge() == {"portal_handoffs": 0}


def test_a_purge_that_died_after_a_chunk_is_finished_by_the_next_run(in_organization, settings):
    settings.RETENTION_CHUNK_SIZE = 2
    customer = create_customer(in_organization)
    old = timezone.now() - timedelta(days=400)
    for _ in range(5):
        _make("login_links", customer, None, expires_at=old)
    chunks = []

    def die_after_one_chunk(chunk) -> int:
        if chunks:
            raise RuntimeError("the worker died")
        chunks.append(chunk)
        return retention._delete(chunk)

    with pytest.raises(RuntimeError):
        retention.in_chunks(LoginLink.objects.filter(expires_at__lt=timezone.now()), die_after_one_chunk)
    assert len(_remaining("login_links")) == 3

    counts = expired_records_purge(schema_name=in_organization.schema_name)

    assert counts["login_links"] == 3
    assert _remaining("login_links") == set()


def _webhook_event(endpoint: WebhookEndpoint, *, occurred_at, statuses: tuple[str, ...]) -> int:
    """An event with one delivery per status (to `endpoint`, then to fresh endpoints), each
    with an attempt in the log."""
    event = WebhookEvent.objects.create(type="points.earned", occurred_at=occurred_at, data={"points": 1})
    for index, status in enumerate(statuses):
        target = (
            endpoint if index == 0 else WebhookEndpoint.objects.create(url=endpoint.url, event_types=["*"])
        )
        delivery = WebhookDelivery.objects.create(
            event=event, endpoint=target, status=status, attempts_total=1
        )
        WebhookAttempt.objects.create(delivery=delivery, number=1, outcome="failed", request_url=endpoint.url)
    return event.pk


def test_webhook_events_go_after_their_retention_once_no_delivery_is_pending(
    organization, other_organization
):
    now = timezone.now()
    days = settings.RETENTION_DAYS["webhook_event"]
    old, recent = now - timedelta(days=days, seconds=1), now - timedelta(days=days) + timedelta(minutes=1)
    with tenant_context(other_organization):
        elsewhere = _webhook_event(
            WebhookEndpoint.objects.create(url="http://127.0.0.1:9/", event_types=["*"]),
            occurred_at=old,
            statuses=("succeeded",),
        )
    with tenant_context(organization):
        endpoint = WebhookEndpoint.objects.create(url="http://127.0.0.1:9/", event_types=["*"])
        gone = {
            _webhook_event(endpoint, occurred_at=old, statuses=("succeeded",)),
            _webhook_event(endpoint, occurred_at=old, statuses=("failed", "succeeded")),
            _webhook_event(endpoint, occurred_at=old, statuses=()),
        }
        kept = {
            _webhook_event(endpoint, occurred_at=old, statuses=("succeeded", "pending")),
            _webhook_event(endpoint, occurred_at=recent, statuses=("succeeded",)),
        }

        counts = expired_records_purge(schema_name=organization.schema_name)

        assert counts["webhook_events"] == 3
        assert set(WebhookEvent.objects.values_list("pk", flat=True)) == kept
        assert set(WebhookDelivery.objects.values_list("event_id", flat=True)) == kept
        assert set(WebhookAttempt.objects.values_list("delivery__event_id", flat=True)) == kept
        assert WebhookDelivery.objects.filter(event_id__in=gone).count() == 0
        assert expired_records_purge(schema_name=organization.schema_name)["webhook_events"] == 0
    with tenant_context(other_organization):
        assert list(WebhookEvent.objects.values_list("pk", flat=True)) == [elsewhere]


def test_webhook_events_are_purged_in_chunks(in_organization, settings, monkeypatch):
    settings.RETENTION_CHUNK_SIZE = 2
    monkeypatch.setattr(retention, "CHUNKS_PER_SCAN", 2)
    endpoint = WebhookEndpoint.objects.create(url="http://127.0.0.1:9/", event_types=["*"])
    old = timezone.now() - timedelta(days=400)
    for _ in range(7):
        _webhook_event(endpoint, occurred_at=old, statuses=("succeeded",))
    waiting = _webhook_event(endpoint, occurred_at=old, statuses=("pending",))

    assert expired_records_purge(schema_name=in_organization.schema_name)["webhook_events"] == 7
    assert list(WebhookEvent.objects.values_list("pk", flat=True)) == [waiting]
