from django.apps import AppConfig


class ProgramsConfig(AppConfig):
    name = "loyalty_platform.programs"
    label = "programs"
