from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "loyalty_platform.orders"
    label = "orders"

    def ready(self) -> None:
        from loyalty_platform.orders import signals  # noqa: F401
