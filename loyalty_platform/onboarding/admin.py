"""The onboarding pages on the merchant portal (core's site knows no domain app)."""

from django.urls import path

from loyalty_platform.core.admin_sites import merchant_admin_site
from loyalty_platform.onboarding import views

merchant_admin_site.page_urls += [
    path("share/", merchant_admin_site.admin_view(views.share_page), name="onboarding_share"),
    path("share/poster.pdf", merchant_admin_site.admin_view(views.poster), name="onboarding_poster"),
    path("share/copied/", merchant_admin_site.admin_view(views.link_copied), name="onboarding_link_copied"),
    path("onboarding/dismiss/", merchant_admin_site.admin_view(views.dismiss), name="onboarding_dismiss"),
]
