"""The dashboard's URL, for the merchant admin to include (the lead mounts it as the
admin's landing page): `path("admin/", include("loyalty_platform.reports.urls"))` or the
pattern itself in the site's get_urls."""

from django.urls import path

from loyalty_platform.reports.views import URL_NAME, dashboard_view

urlpatterns = [path("dashboard/", dashboard_view, name=URL_NAME)]
