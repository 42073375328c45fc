from django.apps import AppConfig


class WalletConfig(AppConfig):
    name = "loyalty_platform.wallet"
    label = "wallet"
    verbose_name = "Wallet passes"

    def ready(self) -> None:
        from loyalty_platform.wallet import checks  # noqa: F401 (registers the checks)
