from django.apps import AppConfig


class TillConfig(AppConfig):
    name = "loyalty_platform.till"
    label = "till"
    verbose_name = "Browser till"

    def ready(self) -> None:
        from loyalty_platform.till import signals  # noqa: F401 (connects the receivers)
