from django.apps import AppConfig


class IdentificationConfig(AppConfig):
    name = "loyalty_platform.identification"
    label = "identification"
    verbose_name = "QR identification and invitations"
