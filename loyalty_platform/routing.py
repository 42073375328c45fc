"""Websocket routes: the Pusher-protocol endpoint."""

from django.urls import re_path

from loyalty_platform.realtime.consumers import PusherConsumer

websocket_urlpatterns = [
    re_path(r"^app/(?P<app_key>[A-Za-z0-9_-]{1,64})$", PusherConsumer.as_asgi()),
]
