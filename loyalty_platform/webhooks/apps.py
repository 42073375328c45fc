from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "loyalty_platform.webhooks"
    label = "webhooks"
    verbose_name = "Webhooks"

    def ready(self) -> None:
        from loyalty_platform.webhooks import checks, signals  # noqa: F401
