from django.apps import AppConfig


class BrandingConfig(AppConfig):
    name = "loyalty_platform.branding"
    label = "branding"
    verbose_name = "Branding"
