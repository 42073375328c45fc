from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "loyalty_platform.reports"
    label = "reports"
    verbose_name = "Reports"
