from django.apps import AppConfig


class ShopsConfig(AppConfig):
    name = "loyalty_platform.shops"
    label = "shops"
