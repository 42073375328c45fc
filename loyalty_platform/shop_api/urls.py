"""The Loyalty.lt Shop API, mounted under /<locale>/shop/ on every host (urls_common): the
locale (lt or en) is the language of its messages. One module of paths per area."""

from django.urls import include, path, re_path

from loyalty_platform.shop_api import system_views as system
from loyalty_platform.shop_api.wire import shop_not_supported, shop_unknown_operation

urlpatterns = [
    path("validate-credentials", system.ValidateCredentialsView.as_view(), name="shop-validate-credentials"),
    path("system/health", system.HealthView.as_view(), name="shop-system-health"),
    path("shops", system.ShopsView.as_view(), name="shop-shops"),
    path("qr-card/generate", system.QrCardGenerateView.as_view(), name="shop-qr-card-generate"),
    path("qr-card/status/<str:session_id>", system.QrCardStatusView.as_view(), name="shop-qr-card-status"),
    path("realtime/config", system.RealtimeConfigView.as_view(), name="shop-realtime-config"),
    path("", include("loyalty_platform.shop_api.urls_cards")),
    path("", include("loyalty_platform.shop_api.urls_offers")),
    path("", include("loyalty_platform.shop_api.urls_coupons")),
    path("", include("loyalty_platform.shop_api.urls_games")),
    path("", include("loyalty_platform.shop_api.urls_auth")),
    # The XML product import fetches a URL the caller names: not offered (decision 0050).
    re_path(r"^xml-import/", shop_not_supported),
    re_path(r"^", shop_unknown_operation),
]
