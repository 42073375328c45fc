from django.apps import AppConfig


class ProgramsConfig(AppConfig):
    name = "loyalty_platform.programs"
    label = "programs"

    def ready(self) -> None:
        from loyalty_platform.programs import signals  # noqa: F401
