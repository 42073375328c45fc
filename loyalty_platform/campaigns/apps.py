from django.apps import AppConfig


class CampaignsConfig(AppConfig):
    name = "loyalty_platform.campaigns"
    label = "campaigns"
    verbose_name = "Campaigns"

    def ready(self) -> None:
        from loyalty_platform.campaigns import signals  # noqa: F401
