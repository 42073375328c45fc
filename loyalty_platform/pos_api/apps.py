from django.apps import AppConfig


class PosApiConfig(AppConfig):
    name = "loyalty_platform.pos_api"
    label = "pos_api"
