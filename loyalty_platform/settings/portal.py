"""django-unfold, the portals' theme (docs/decisions/0027-portal-theme.md): one configuration
per admin site, read by the site's ``settings_name``."""

from django.utils.translation import gettext_lazy as _

# Teal, dark enough at 600 (buttons, links) for white text at a 4.5:1 contrast.
_PRIMARY = {
    "50": "#f0fdfa",
    "100": "#ccfbf1",
    "200": "#99f6e4",
    "300": "#5eead4",
    "400": "#14b8a6",
    "500": "#0d9488",
    "600": "#0f766e",
    "700": "#115e59",
    "800": "#134e4a",
    "900": "#0b3b38",
    "950": "#042f2e",
}

_COMMON = {
    "SITE_SYMBOL": "loyalty",
    "SITE_FAVICONS": "loyalty_platform.core.portal.favicons",
    "SHOW_HISTORY": True,
    "SHOW_VIEW_ON_SITE": False,
    "COLORS": {"primary": _PRIMARY},
    "SCRIPTS": [],
    "STYLES": ["loyalty_platform.core.portal.portal_stylesheet"],
}

UNFOLD = {
    **_COMMON,
    "SITE_TITLE": "loyalty_platform.core.portal.merchant_site_header",
    "SITE_HEADER": "loyalty_platform.core.portal.merchant_site_header",
    "SITE_ICON": "loyalty_platform.core.portal.merchant_site_icon",
    "SITE_SUBHEADER": _("Loyalty portal"),
    "SITE_URL": "/",
    "SIDEBAR": {
        "show_search": False,
        "show_all_applications": False,
        "navigation": "loyalty_platform.core.portal.merchant_navigation",
    },
    "ACCOUNT": {"navigation": "loyalty_platform.core.portal.merchant_account_links"},
}

UNFOLD_PLATFORM = {
    **_COMMON,
    "SITE_TITLE": _("Platform admin"),
    "SITE_HEADER": _("Loyalty platform"),
    "SITE_SUBHEADER": _("Operators"),
    "SITE_URL": "/",
    "SIDEBAR": {
        "show_search": False,
        "show_all_applications": False,
        "navigation": "loyalty_platform.core.portal.platform_navigation",
    },
}
LOGIN_REDIRECT_URL = "/admin/"
