"""The browser till's pages on the merchant portal (core's site knows no domain app)."""

from functools import partial

from django.shortcuts import redirect
from django.urls import path

from loyalty_platform.core.admin_sites import merchant_admin_site
from loyalty_platform.till import views

merchant_admin_site.page_urls += [
    path(
        "till/",
        merchant_admin_site.admin_view(partial(views.till_page, site=merchant_admin_site)),
        name="till",
    ),
    path(
        "till/key/",
        merchant_admin_site.admin_view(partial(views.till_key, site=merchant_admin_site)),
        name="till_key",
    ),
]
merchant_admin_site.landing_pages.append(
    ("accounts.use_till", lambda request: redirect("merchant_admin:till"))
)
