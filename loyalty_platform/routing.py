"""Websocket routes. The realtime issue adds the Pusher-protocol endpoint here."""

websocket_urlpatterns: list = []
