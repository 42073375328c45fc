from django.apps import AppConfig


class VouchersConfig(AppConfig):
    name = "loyalty_platform.vouchers"
    label = "vouchers"
    verbose_name = "Promotions and vouchers"
