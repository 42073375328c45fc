from django.urls import path

from loyalty_platform.profile import api, views, webapp
from loyalty_platform.realtime.views import realtime_auth

urlpatterns = [
    path("me/", views.dashboard, name="profile"),
    path("me/login", views.login, name="profile-login"),
    path("me/signup", views.signup, name="profile-signup"),
    path("me/login/phone", views.login_by_phone, name="profile-login-phone"),
    path("me/login/<str:token>", views.login_with_link, name="profile-login-link"),
    path("me/finish/<str:token>", views.finish_joining, name="profile-finish-joining"),
    path("me/logout", views.logout, name="profile-logout"),
    path("me/language", views.language, name="profile-language"),
    path("me/export", views.export, name="profile-export"),
    path("me/delete", views.delete_account, name="profile-delete"),
    path("me/birth-date", views.birth_date, name="profile-birth-date"),
    path("me/details", views.details, name="profile-details"),
    path("me/details/phone", views.details_phone, name="profile-details-phone"),
    path("me/details/phone/confirm", views.details_phone_confirm, name="profile-details-phone-confirm"),
    path("me/consent", views.consent, name="profile-consent"),
    path("me/expiry-warnings", views.expiry_warnings, name="profile-expiry-warnings"),
    path("me/rewards/take", views.take_reward, name="profile-reward-take"),
    path("me/manifest.webmanifest", webapp.manifest, name="profile-manifest"),
    path("me/icons/<str:name>.png", webapp.icon, name="profile-icon"),
    path("me/sw.js", webapp.service_worker, name="profile-service-worker"),
    path("me/offline", webapp.offline, name="profile-offline"),
    path("me/api/profile", api.profile),
    path("me/api/cards", api.cards),
    path("me/api/qr", api.qr),
    path("me/api/pins", api.pins),
    path("me/api/history", api.history),
    path("me/api/rewards", api.rewards),
    path("identify/<str:session_id>", views.identify, name="identify"),
    path("qr-login/<str:session_id>", views.qr_login, name="qr-login"),
    path("join/<str:invitation_id>", views.join, name="join"),
    path("claim", views.claim, name="receipt-claim"),
    path("realtime/auth", realtime_auth, name="realtime-auth"),
]
