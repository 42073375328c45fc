from django.urls import path

from loyalty_platform.pos_api import views

urlpatterns = [
    path("webhook/customer", views.CustomerView.as_view(), name="pos-customer"),
    path("webhook/pos", views.EarnView.as_view(), name="pos-earn"),
    path("webhook/redeem", views.RedeemView.as_view(), name="pos-redeem"),
    path("webhook/coupons/redeem", views.CouponRedeemView.as_view(), name="pos-coupon-redeem"),
]
