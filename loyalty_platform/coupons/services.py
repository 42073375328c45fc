import secrets
import uuid
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.crypto import constant_time_compare

from loyalty_platform.audit.services import audit_record
from loyalty_platform.core import errors
from loyalty_platform.core.tokens import token_hash
from loyalty_platform.coupons.models import Coupon
from loyalty_platform.customers.blocks import refuse_blocked_customer
from loyalty_platform.customers.models import Customer
from loyalty_platform.programs.models import LedgerEntry, Program
from loyalty_platform.verification.services import pin_challenge_spend
from loyalty_platform.webhooks import outbox, payloads

QR_TOKEN_PREFIX = "cq_"  # noqa: S105 - a prefix, not a secret


def coupon_issue(*, customer: Customer, program: Program, issuing_entry: LedgerEntry | None = None) -> Coupon:
    """The coupon of a full stamp card: `issuing_entry` is the reward entry that emptied it
    (its card attached). Records coupon.issued."""
    expires_at = None
    if program.coupon_valid_days:
        expires_at = timezone.now() + timedelta(days=program.coupon_valid_days)
    coupon = Coupon.objects.create(
        customer=customer,
        program=program,
        name=program.reward_name or program.name,
        qr_token=QR_TOKEN_PREFIX + secrets.token_urlsafe(24),
        expires_at=expires_at,
        issuing_entry=issuing_entry,
    )
    if outbox.is_subscribed("coupon.issued"):
        outbox.event_record(
            "coupon.issued",
            customer_id=customer.pk,
            data=payloads.coupon_issued(
                coupon,
                customer_code=customer.customer_code,
                card_number=issuing_entry.card.card_number if issuing_entry else None,
            ),
        )
    return coupon


def _coupon_refusal(coupon: Coupon | None, now, hold_key: str = "") -> errors.ErrorType | None:
    if coupon is None or coupon.status == Coupon.Status.VOID:
        return errors.COUPON_NOT_FOUND
    if coupon.status == Coupon.Status.REDEEMED:
        return errors.COUPON_ALREADY_USED
    if coupon.status == Coupon.Status.EXPIRED or (coupon.expires_at and coupon.expires_at <= now):
        return errors.COUPON_EXPIRED
    if coupon_held_elsewhere(coupon, now, hold_key):
        return errors.COUPON_HELD_ELSEWHERE
    return None


def _refused(refusal: errors.ErrorType, coupon: Coupon) -> errors.DomainError:
    if refusal is errors.COUPON_HELD_ELSEWHERE:
        return refusal(locked_until=coupon.held_until.isoformat())
    return refusal()


def coupon_held_elsewhere(coupon: Coupon, now, hold_key: str = "") -> bool:
    """Held for a checkout (coupon_hold) by someone whose key this is not."""
    if not (coupon.held_until and coupon.held_until > now):
        return False
    return not (hold_key and constant_time_compare(token_hash(hold_key), coupon.held_by))


def coupon_redeem_check(*, coupon: Coupon, hold_key: str = "") -> None:
    """The refusals of a coupon redemption that need no PIN (coupon_not_found,
    coupon_already_used, coupon_expired, coupon_held_elsewhere unless `hold_key` is the
    holder's, customer_blocked), from the coupon as read: call it before the PIN step.
    coupon_redeem checks again under its lock."""
    refusal = _coupon_refusal(coupon, timezone.now(), hold_key)
    if refusal:
        raise _refused(refusal, coupon)
    refuse_blocked_customer(coupon.customer)


def coupon_redeem(
    *,
    coupon_id,
    external_id: str = "",
    api_key_lookup_id: str = "",
    pin_challenge_id: uuid.UUID | None = None,
    hold_key: str = "",
) -> Coupon:
    """Mark a coupon used, exactly once: the row lock makes concurrent attempts wait, and
    every one after the first finds it redeemed. Spends the verified PIN challenge. A coupon
    held for a checkout needs its holder's `hold_key`."""
    with transaction.atomic(savepoint=False):
        pin_challenge_spend(challenge_id=pin_challenge_id)
        coupon = (
            Coupon.objects.select_for_update(of=("self",))
            .select_related("customer")
            .filter(pk=coupon_id)
            .first()
        )
        now = timezone.now()
        refusal = _coupon_refusal(coupon, now, hold_key)
        if refusal:
            raise _refused(refusal, coupon)
        refuse_blocked_customer(coupon.customer)  # read by the statement that took the lock
        coupon.held_until, coupon.held_by = None, ""
        coupon.status = Coupon.Status.REDEEMED
        coupon.redeemed_at = now
        coupon.redeemed_external_id = external_id
        coupon.redeemed_api_key_lookup_id = api_key_lookup_id
        coupon.save(
            update_fields=[
                "status",
                "redeemed_at",
                "redeemed_external_id",
                "redeemed_api_key_lookup_id",
                "held_until",
                "held_by",
            ]
        )
        outbox.event_record(
            "coupon.redeemed",
            customer_id=coupon.customer_id,
            data=payloads.coupon_redeemed(coupon, customer_code=coupon.customer.customer_code),
        )
        return coupon


@transaction.atomic
def coupon_void(*, coupon_id, actor=None) -> bool:
    """Withdraw an active coupon; returns False when it was no longer active. A staff
    member's void is in the audit log."""
    voided = bool(
        Coupon.objects.filter(pk=coupon_id, status=Coupon.Status.ACTIVE).update(status=Coupon.Status.VOID)
    )
    if voided and actor is not None:
        coupon = Coupon.objects.get(pk=coupon_id)
        audit_record(
            actor=actor, action="coupon_void", target=coupon, details={"customer": coupon.customer_id}
        )
    return voided


EXPIRE_CHUNK = 1000


def coupons_expire_chunk(*, now: datetime, size: int = EXPIRE_CHUNK) -> int:
    """Mark up to `size` active coupons whose date passed by `now` expired, in one
    transaction; returns how many. The rows are locked before they change (SKIP LOCKED: a
    till holding one is redeeming it, and a second run of the job takes other rows), so a
    redemption and the job never both win: the redemption that took the lock first commits
    `redeemed`, one that came after finds the coupon `expired` (or refuses it by its date)."""
    with transaction.atomic():
        due = list(
            Coupon.objects.select_for_update(skip_locked=True)
            .filter(status=Coupon.Status.ACTIVE, expires_at__lte=now)
            .order_by("expires_at", "pk")
            .values_list("pk", flat=True)[:size]
        )
        if not due:
            return 0
        return Coupon.objects.filter(pk__in=due, status=Coupon.Status.ACTIVE).update(
            status=Coupon.Status.EXPIRED
        )


def coupons_expire(*, now: datetime | None = None, chunk_size: int = EXPIRE_CHUNK) -> int:
    """Every active coupon whose `expires_at` passed becomes expired, chunk by chunk (each
    commits, so a run stopped half-way leaves only the rest for the next). Use-time checks
    still refuse a coupon past its date that no run has marked yet."""
    now = now or timezone.now()
    expired = 0
    while count := coupons_expire_chunk(now=now, size=chunk_size):
        expired += count
    return expired


# --- Holding a coupon for a checkout (the Shop API's /coupons/pending) ------------------------


def _locked_coupon(coupon_id) -> Coupon:
    coupon = (
        Coupon.objects.select_for_update(of=("self",)).select_related("customer").filter(pk=coupon_id).first()
    )
    if coupon is None or coupon.status == Coupon.Status.VOID:
        raise errors.COUPON_NOT_FOUND()
    return coupon


def coupon_hold(*, coupon_id, hold_key: str, ttl_seconds: int) -> Coupon:
    """Hold a usable coupon for the holder of `hold_key` for `ttl_seconds`: coupon_redeem
    refuses everyone else meanwhile; the time running out frees it. The holder may hold
    it again (a new deadline)."""
    with transaction.atomic(savepoint=False):
        coupon = _locked_coupon(coupon_id)
        now = timezone.now()
        refusal = _coupon_refusal(coupon, now, hold_key)
        if refusal:
            raise _refused(refusal, coupon)
        refuse_blocked_customer(coupon.customer)
        coupon.held_until, coupon.held_by = now + timedelta(seconds=ttl_seconds), token_hash(hold_key)
        coupon.save(update_fields=["held_until", "held_by"])
    return coupon


def coupon_hold_release(*, coupon_id, hold_key: str) -> Coupon:
    """End the holder's hold; no hold (or one that ran out) is nothing to release."""
    with transaction.atomic(savepoint=False):
        coupon = _locked_coupon(coupon_id)
        now = timezone.now()
        if not (coupon.held_until and coupon.held_until > now):
            return coupon
        if coupon_held_elsewhere(coupon, now, hold_key):
            raise errors.COUPON_HELD_ELSEWHERE(locked_until=coupon.held_until.isoformat())
        coupon.held_until, coupon.held_by = None, ""
        coupon.save(update_fields=["held_until", "held_by"])
    return coupon
