from django.apps import AppConfig


class RewardsConfig(AppConfig):
    name = "loyalty_platform.rewards"
    label = "rewards"
