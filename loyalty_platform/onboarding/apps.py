from django.apps import AppConfig


class OnboardingConfig(AppConfig):
    name = "loyalty_platform.onboarding"
    label = "onboarding"
    verbose_name = "Onboarding"
