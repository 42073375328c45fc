"""URLs served on every host: health, the API schema and docs, and the POS API (on the
platform host the API key names the organization)."""

from django.templatetags.static import static
from django.urls import include, path, re_path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from loyalty_platform.core.views import healthz, ping, qr_image
from loyalty_platform.realtime.views import realtime_config
from loyalty_platform.shop_api.schema import SHOP_SCHEMA_SETTINGS

urlpatterns = [
    # First, under its own prefix: a POS call is matched without trying the other patterns.
    path("webhook/", include("loyalty_platform.pos_api.urls")),
    # The Loyalty.lt Shop API; the locale is the language of its messages.
    re_path(r"^(?P<locale>lt|en)/shop/", include("loyalty_platform.shop_api.urls")),
    path("healthz", healthz, name="healthz"),
    path("ping", ping, name="ping"),
    # Browsers ask every host for /favicon.ico; without it each page view logged a 404.
    path("favicon.ico", RedirectView.as_view(url=static("img/favicon.svg"), permanent=True)),
    path("qr.<str:image_format>", qr_image, name="qr-image"),
    path("realtime/config", realtime_config, name="realtime-config"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves its init script from ?script, so the page needs no inline script.
    path(
        "api/docs/",
        SpectacularSwaggerSplitView.as_view(url_name="schema", template_name="api_docs/swagger_ui.html"),
        name="api-docs",
    ),
    path(
        "api/shop/schema/",
        SpectacularAPIView.as_view(custom_settings=SHOP_SCHEMA_SETTINGS),
        name="shop-schema",
    ),
    path(
        "api/shop/docs/",
        SpectacularSwaggerSplitView.as_view(url_name="shop-schema", template_name="api_docs/swagger_ui.html"),
        name="shop-api-docs",
    ),
]
