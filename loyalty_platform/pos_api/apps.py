from django.apps import AppConfig


class PosApiConfig(AppConfig):
    name = "loyalty_platform.pos_api"
    label = "pos_api"

    def ready(self) -> None:
        # Registers the OpenAPI extensions (drf-spectacular finds them by subclassing).
        from loyalty_platform.pos_api import schema  # noqa: F401
