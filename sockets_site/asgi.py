"""ASGI entry point: HTTP through Django, WebSockets through Channels.

The Django HTTP app is built first so that apps are loaded before anything
imports models. WebSockets pass the Origin check (scheme, host and port; see
sockets_site.origins) and get the session and user from the same cookies as
the pages; a WebSocket that cannot be served because the database is away
ends quietly (sockets_site.outage).

A server started straight from this module (Daphne runs no system check) still
keeps the playground within the process's file descriptors: see
playground.checks.fit_to_descriptors, which lowers the playground's share, saying
so in one log line, or refuses to start when not one sandbox fits.
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sockets_site.settings")
django_asgi_app = get_asgi_application()

from playground.checks import fit_to_descriptors  # noqa: E402

fit_to_descriptors()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from playground.routing import websocket_urlpatterns  # noqa: E402
from sockets_site.origins import SameOriginValidator  # noqa: E402
from sockets_site.outage import WebSocketOutageGuard  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": SameOriginValidator(
            WebSocketOutageGuard(AuthMiddlewareStack(URLRouter(websocket_urlpatterns)))
        ),
    }
)
