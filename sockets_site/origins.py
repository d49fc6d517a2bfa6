"""The WebSocket Origin check: scheme, host and port, as Django's CSRF check does.

Rules: a WebSocket is accepted only if its Origin is
- the request's own origin: the scheme the site runs under (https when the
  connection is wss, or DJANGO_BEHIND_PROXY=1 and the proxy says
  X-Forwarded-Proto: https), and the Host header's host and port, that host
  being in ALLOWED_HOSTS;
- or an origin of CSRF_TRUSTED_ORIGINS (`https://*.example.org` for subdomains);
- or a host of ALLOWED_HOSTS with the site's scheme and that scheme's default
  port (a proxy that rewrites the Host header).
A host alone is not enough: `http://localhost:1` is another origin than
`http://localhost:8000`, and so is `https://` on a site served over `http://`.
"""

from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import is_same_domain, split_domain_port, validate_host

DEFAULT_PORTS = {"http": 80, "https": 443}


def _origin(text: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) of an origin such as `https://example.org:8443`."""
    try:
        parts = urlsplit(text.strip())
        scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
        port = parts.port
    except ValueError:  # a port that is not a number, or out of range
        return None
    if scheme not in DEFAULT_PORTS or not host:
        return None
    return scheme, host, port or DEFAULT_PORTS[scheme]


def _header(scope: dict, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return value.decode("latin-1")
    return None


def site_scheme(scope: dict) -> str:
    if scope.get("scheme") == "wss":
        return "https"
    if settings.BEHIND_PROXY and (_header(scope, b"x-forwarded-proto") or "").strip() == "https":
        return "https"
    return "http"


def allowed(scope: dict) -> bool:
    origin = _origin(_header(scope, b"origin") or "")
    if origin is None:
        return False
    scheme = site_scheme(scope)
    host_header = (_header(scope, b"host") or "").strip().lower()
    host, port = split_domain_port(host_header)
    if host and validate_host(host, settings.ALLOWED_HOSTS):
        own = (scheme, host, int(port) if port.isdigit() else DEFAULT_PORTS[scheme])
        if origin == own:
            return True
    for trusted in settings.CSRF_TRUSTED_ORIGINS:
        pattern = _origin(trusted)
        if pattern is None or pattern[0] != origin[0] or pattern[2] != origin[2]:
            continue
        if pattern[1].startswith("*."):  # the domain's subdomains, as Django's CSRF check
            if is_same_domain(origin[1], pattern[1][1:]):
                return True
        elif pattern[1] == origin[1]:
            return True
    return (
        origin[0] == scheme
        and origin[2] == DEFAULT_PORTS[scheme]
        and validate_host(origin[1], settings.ALLOWED_HOSTS)
    )


class SameOriginValidator:
    """ASGI middleware: refuse (HTTP 403) a WebSocket from another origin."""

    def __init__(self, application):
        self.application = application

    async def __call__(self, scope, receive, send):
        if scope["type"] != "websocket":
            raise ValueError("SameOriginValidator is for WebSocket connections only")
        if allowed(scope):
            return await self.application(scope, receive, send)
        return await WebsocketDenier()(scope, receive, send)
