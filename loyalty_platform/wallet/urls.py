from django.urls import path

from loyalty_platform.wallet import views

urlpatterns = [
    path("me/wallet/apple.pkpass", views.apple_pass, name="wallet-apple"),
    path("me/wallet/google", views.google_save, name="wallet-google"),
    path("wallet/logo.png", views.program_logo, name="wallet-logo"),
]
