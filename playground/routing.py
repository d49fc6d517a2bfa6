"""WebSocket routes of the playground; `sockets_site.asgi` mounts them."""

from django.urls import path

from playground.consumer import PlaygroundConsumer

websocket_urlpatterns = [
    path("ws/playground/", PlaygroundConsumer.as_asgi()),
]
