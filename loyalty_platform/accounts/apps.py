from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "loyalty_platform.accounts"
    label = "accounts"
    verbose_name = "Staff accounts"

    def ready(self) -> None:
        from loyalty_platform.accounts import signals  # noqa: F401
