import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "loyalty_platform.settings")

from loyalty_platform.core.asgi_handler import get_sync_stack_asgi_application

# Django must be set up before anything imports models.
django_asgi_app = get_sync_stack_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from loyalty_platform.routing import websocket_urlpatterns  # noqa: E402
from tenants.asgi import TenantWebsocketMiddleware  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": TenantWebsocketMiddleware(URLRouter(websocket_urlpatterns)),
    }
)
