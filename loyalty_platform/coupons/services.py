import secrets
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from loyalty_platform.core import errors
from loyalty_platform.coupons.models import Coupon
from loyalty_platform.customers.models import Customer
from loyalty_platform.programs.models import LedgerEntry, Program

QR_TOKEN_PREFIX = "cq_"  # noqa: S105 - a prefix, not a secret


def coupon_issue(*, customer: Customer, program: Program, issuing_entry: LedgerEntry | None = None) -> Coupon:
    expires_at = None
    if program.coupon_valid_days:
        expires_at = timezone.now() + timedelta(days=program.coupon_valid_days)
    return Coupon.objects.create(
        customer=customer,
        program=program,
        name=program.reward_name or program.name,
        qr_token=QR_TOKEN_PREFIX + secrets.token_urlsafe(24),
        expires_at=expires_at,
        issuing_entry=issuing_entry,
    )


def coupon_redeem(*, coupon_id, external_id: str = "", api_key_lookup_id: str = "") -> Coupon:
    """Mark a coupon used, exactly once: the row lock makes concurrent attempts wait, and
    every one after the first finds it redeemed."""
    with transaction.atomic(savepoint=False):
        coupon = Coupon.objects.select_for_update().filter(pk=coupon_id).first()
        if coupon is None:
            raise errors.COUPON_NOT_FOUND()
        if coupon.status == Coupon.Status.REDEEMED:
            raise errors.COUPON_ALREADY_USED()
        if coupon.status == Coupon.Status.VOID:
            raise errors.COUPON_NOT_FOUND()
        now = timezone.now()
        if coupon.status == Coupon.Status.EXPIRED or (coupon.expires_at and coupon.expires_at <= now):
            raise errors.COUPON_EXPIRED()
        coupon.status = Coupon.Status.REDEEMED
        coupon.redeemed_at = now
        coupon.redeemed_external_id = external_id
        coupon.redeemed_api_key_lookup_id = api_key_lookup_id
        coupon.save(
            update_fields=["status", "redeemed_at", "redeemed_external_id", "redeemed_api_key_lookup_id"]
        )
        return coupon


def coupon_void(*, coupon_id) -> bool:
    """Withdraw an active coupon; returns False when it was no longer active."""
    return bool(
        Coupon.objects.filter(pk=coupon_id, status=Coupon.Status.ACTIVE).update(status=Coupon.Status.VOID)
    )
