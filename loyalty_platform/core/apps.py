from django.apps import AppConfig
from django.utils.module_loading import autodiscover_modules


class CoreConfig(AppConfig):
    name = "loyalty_platform.core"
    label = "core"

    def ready(self) -> None:
        # django.contrib.admin runs as SimpleAdminConfig (no default site); every app's
        # admin.py registers on platform_admin_site or merchant_admin_site instead.
        autodiscover_modules("admin")
        # Registers its system check.
        from loyalty_platform.core import page_middleware  # noqa: F401
