from loyalty_platform.coupons.models import Coupon


def coupon_by_token(token: str) -> Coupon | None:
    return Coupon.objects.select_related("customer").filter(qr_token=token).first()
