"""WebSocket routes of the playground; `sockets_site.asgi` mounts them.

Empty until the playground engine lands: an unknown WebSocket path is refused.
"""

websocket_urlpatterns: list = []
