"""The Shop API's coupons paths."""

from django.urls import path

from loyalty_platform.shop_api import coupons_views as coupons

urlpatterns: list = [
    path("coupons", coupons.CouponsView.as_view(), name="shop-coupons"),
    path("coupons/card", coupons.CardCouponsView.as_view(), name="shop-coupons-card"),
    path("coupons/verify", coupons.CouponVerifyView.as_view(), name="shop-coupons-verify"),
    path("coupons/redeem", coupons.CouponRedeemView.as_view(), name="shop-coupons-redeem"),
    path("coupons/calculate-discount", coupons.CouponDiscountView.as_view(), name="shop-coupons-discount"),
    path("coupons/products", coupons.ProductsView.as_view(), name="shop-coupons-products"),
    path("coupons/pending", coupons.CouponPendingView.as_view(), name="shop-coupons-pending"),
    path(
        "coupons/cancel-pending",
        coupons.CouponCancelPendingView.as_view(),
        name="shop-coupons-cancel-pending",
    ),
]
