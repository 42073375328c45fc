"""URLs of an organization's host: staff admin, customer profile, plus what every host serves."""

from django.urls import include, path

from loyalty_platform.branding.views import organization_logo
from loyalty_platform.core.admin_sites import merchant_admin_site
from loyalty_platform.core.views import organization_home

urlpatterns = [
    # First: the POS API is the busiest path (see urls_common).
    path("", include("loyalty_platform.urls_common")),
    path("", organization_home, name="organization-home"),
    path("admin/", merchant_admin_site.urls),
    path("", include("loyalty_platform.profile.urls")),
    path("", include("loyalty_platform.campaigns.urls")),
    path("", include("loyalty_platform.wallet.urls")),
    path("logo.png", organization_logo, name="organization-logo"),
]

handler400 = "loyalty_platform.core.views.bad_request"
handler404 = "loyalty_platform.core.views.not_found"
handler500 = "loyalty_platform.core.views.server_error"
