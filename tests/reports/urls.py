"""The organization's URLs with the dashboard mounted, as the lead will mount it in the
merchant admin (until then the tests point ROOT_URLCONF here)."""

from django.urls import include, path

from loyalty_platform import urls_tenant

urlpatterns = [
    path("admin/", include("loyalty_platform.reports.urls")),
    *urls_tenant.urlpatterns,
]

handler400 = urls_tenant.handler400
handler404 = urls_tenant.handler404
handler500 = urls_tenant.handler500
