from django.apps import AppConfig


class CouponsConfig(AppConfig):
    name = "loyalty_platform.coupons"
    label = "coupons"
