"""URLs of the platform host: operators' admin, plus everything every host serves."""

from django.urls import include, path

from loyalty_platform.core.admin_sites import platform_admin_site
from loyalty_platform.core.views import platform_home
from tenants import signup_views

urlpatterns = [
    # First: the POS API is the busiest path (see urls_common).
    path("", include("loyalty_platform.urls_common")),
    path("", platform_home, name="platform-home"),
    path("admin/", platform_admin_site.urls),
    path("signup", signup_views.signup_page, name="signup"),
    path("signup/address", signup_views.signup_address, name="signup-address"),
    path("signup/resend", signup_views.signup_resend, name="signup-resend"),
    path("signup/verify/<str:token>", signup_views.signup_verify, name="signup-verify"),
    path("terms", signup_views.terms, name="platform-terms"),
]

handler400 = "loyalty_platform.core.views.bad_request"
handler404 = "loyalty_platform.core.views.not_found"
handler500 = "loyalty_platform.core.views.server_error"
