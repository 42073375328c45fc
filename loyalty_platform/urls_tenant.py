"""URLs of an organization's host: staff admin, POS API, customer profile."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from loyalty_platform.core.admin_sites import merchant_admin_site
from loyalty_platform.core.views import healthz, organization_home, ping

urlpatterns = [
    path("", organization_home, name="organization-home"),
    path("admin/", merchant_admin_site.urls),
    path("healthz", healthz, name="healthz"),
    path("ping", ping, name="ping"),
    path("", include("loyalty_platform.pos_api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
]

handler404 = "loyalty_platform.core.views.not_found"
