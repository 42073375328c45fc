from django.apps import AppConfig


class StoredValueConfig(AppConfig):
    name = "loyalty_platform.stored_value"
    label = "stored_value"
    verbose_name = "Giftcards and prepaid credit"
