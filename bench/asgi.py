"""The site's ASGI app with a bare Channels echo consumer in front of it at /ws/echo/,
so the benchmarks compare the playground with the cheapest possible WebSocket on the
same server: one Daphne (bench/playground.py) or a sandbox process of the scaled site
(`manage.py playground_process --asgi bench.asgi.application`, bench/scaled.py), where
the echo is reached through the same nginx and the same `auth_request` routing.

Rules: everything but /ws/echo/ is `sockets_site.asgi.application` itself, untouched;
the echo passes the site's Origin check and reads the session and user as the
playground's consumer does, so only what happens per message differs.
"""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sockets_site.settings")

# Django is set up by the site's module before anything below imports models.
from sockets_site.asgi import application as site

# isort: split
from channels.auth import AuthMiddlewareStack
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.routing import URLRouter
from django.urls import path

from sockets_site.origins import SameOriginValidator

ECHO_PATH = "/ws/echo/"


class Echo(AsyncWebsocketConsumer):
    async def receive(self, text_data=None, bytes_data=None):
        await self.send(text_data=text_data)


echo = SameOriginValidator(AuthMiddlewareStack(URLRouter([path("ws/echo/", Echo.as_asgi())])))


async def application(scope, receive, send):
    if scope["type"] == "websocket" and scope["path"] == ECHO_PATH:
        return await echo(scope, receive, send)
    return await site(scope, receive, send)
