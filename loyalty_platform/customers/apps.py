from django.apps import AppConfig


class CustomersConfig(AppConfig):
    name = "loyalty_platform.customers"
    label = "customers"
