from django.urls import path

from loyalty_platform.campaigns import referral_views, unsubscribe_views

urlpatterns = [
    path("unsubscribe/<str:token>/", unsubscribe_views.unsubscribe, name="campaign-unsubscribe"),
    path("r/<str:code>/", referral_views.referral_landing, name="referral-landing"),
]
