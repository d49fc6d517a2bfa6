"""ASGI entry point: HTTP through Django, WebSockets through Channels.

The Django HTTP app is built first so that apps are loaded before anything
imports models. WebSockets pass the Origin check (scheme, host and port; see
sockets_site.origins) and get the session and user from the same cookies as
the pages.
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sockets_site.settings")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from playground.routing import websocket_urlpatterns  # noqa: E402
from sockets_site.origins import SameOriginValidator  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": SameOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)
