from django.apps import AppConfig


class AttributesConfig(AppConfig):
    name = "loyalty_platform.attributes"
    label = "attributes"
    verbose_name = "Custom attributes"
