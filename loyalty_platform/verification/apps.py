from django.apps import AppConfig


class VerificationConfig(AppConfig):
    name = "loyalty_platform.verification"
    label = "verification"
