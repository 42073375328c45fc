from django.apps import AppConfig


class TiersConfig(AppConfig):
    name = "loyalty_platform.tiers"
    label = "tiers"

    def ready(self) -> None:
        from loyalty_platform.tiers import signals  # noqa: F401
