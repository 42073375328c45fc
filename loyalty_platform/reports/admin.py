"""The dashboard is the merchant portal's landing page (core's site knows no domain app)."""

from loyalty_platform.core.admin_sites import merchant_admin_site
from loyalty_platform.reports.views import DASHBOARD_PERMISSION, dashboard_view

merchant_admin_site.landing_pages.insert(0, (DASHBOARD_PERMISSION, dashboard_view))
