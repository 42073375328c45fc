from datetime import datetime

from django.db.models import Q
from django.utils import timezone

from loyalty_platform.coupons.models import Coupon


def coupon_by_token(token: str) -> Coupon | None:
    return Coupon.objects.select_related("customer").filter(qr_token=token).first()


def coupons_waiting(*, customer_id: int, program_id: int, now: datetime | None = None) -> list[Coupon]:
    """The customer's coupons of the program that can still be used (active, not past their
    date), oldest first: full stamp cards whose reward waits."""
    now = now or timezone.now()
    return list(
        Coupon.objects.filter(customer_id=customer_id, program_id=program_id, status=Coupon.Status.ACTIVE)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        .order_by("issued_at", "pk")
    )
