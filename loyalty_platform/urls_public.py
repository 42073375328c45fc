"""URLs of the platform host: operators' admin, API docs, health."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from loyalty_platform.core.admin_sites import platform_admin_site
from loyalty_platform.core.views import healthz, ping, platform_home

urlpatterns = [
    path("", platform_home, name="platform-home"),
    path("admin/", platform_admin_site.urls),
    path("healthz", healthz, name="healthz"),
    path("ping", ping, name="ping"),
    # The POS API answers on both hosts; on this one the API key names the organization.
    path("", include("loyalty_platform.pos_api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
]

handler404 = "loyalty_platform.core.views.not_found"
