"""The Shop API's auth paths: sign-in by QR and the profile link."""

from django.urls import path

from loyalty_platform.shop_api import auth_views as auth

urlpatterns = [
    path("auth/qr-login/generate", auth.QrLoginGenerateView.as_view(), name="shop-qr-login-generate"),
    path("auth/qr-login/poll/<str:session_id>", auth.QrLoginPollView.as_view(), name="shop-qr-login-poll"),
    path("auth/send-app-link", auth.SendAppLinkView.as_view(), name="shop-send-app-link"),
]
