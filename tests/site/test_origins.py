"""Who may open the playground's WebSocket (Origin), and which address it counts against."""

import pytest
from channels.testing import WebsocketCommunicator

from sockets_site.asgi import application
from sockets_site.client_ip import scope_client_ip
from sockets_site.networks import network_of
from tests.support.consumer_helpers import new_session

pytestmark = pytest.mark.django_db(transaction=True)


async def opens(origin: str, host: str = "127.0.0.1:8000", scheme: str = "ws", **extra) -> bool:
    key = await new_session()
    headers = [(b"origin", origin.encode()), (b"host", host.encode())]
    headers += [(k.encode(), v.encode()) for k, v in extra.items()]
    headers.append((b"cookie", f"sessionid={key}".encode()))
    ws = WebsocketCommunicator(application, "/ws/playground/", headers=headers)
    ws.scope["scheme"] = scheme
    connected, _ = await ws.connect()
    await ws.disconnect()
    return connected


async def test_it_accepts_only_the_pages_own_origin(registry):
    assert await opens("http://127.0.0.1:8000")
    assert not await opens("http://localhost:1")  # an allowed host on another port
    assert not await opens("http://127.0.0.1:1")
    assert not await opens("https://127.0.0.1:8000")  # the wrong scheme
    assert not await opens("null")
    assert await opens("https://127.0.0.1:8000", scheme="wss")
    assert not await opens("http://127.0.0.1:8000", scheme="wss")


async def test_it_accepts_trusted_origins_and_allowed_hosts_on_the_default_port(
    registry,
    settings,
):
    settings.CSRF_TRUSTED_ORIGINS = ["https://*.example.org", "http://other.test:9000"]
    assert await opens("https://sockets.example.org", host="proxy.internal")
    assert not await opens("http://sockets.example.org", host="proxy.internal")
    assert await opens("http://other.test:9000", host="proxy.internal")
    assert not await opens("http://other.test:9001", host="proxy.internal")
    # A proxy that rewrites Host: an allowed host, with the site's scheme and its port.
    assert await opens("http://localhost", host="proxy.internal")
    assert not await opens("http://localhost:8080", host="proxy.internal")


async def test_it_believes_the_proxys_scheme_only_behind_a_proxy(registry, settings):
    settings.BEHIND_PROXY = False
    assert not await opens("https://127.0.0.1:8000", **{"x-forwarded-proto": "https"})
    settings.BEHIND_PROXY = True
    assert await opens("https://127.0.0.1:8000", **{"x-forwarded-proto": "https"})


def test_it_counts_a_websocket_against_the_forwarded_address_only_behind_a_proxy(settings):
    scope = {
        "client": ("10.0.0.9", 5000),
        "headers": [(b"x-forwarded-for", b"203.0.113.7, 10.0.0.1")],
    }
    settings.BEHIND_PROXY = False
    assert scope_client_ip(scope) == "10.0.0.9"
    settings.BEHIND_PROXY = True
    assert scope_client_ip(scope) == "203.0.113.7"


def test_it_counts_ipv6_visitors_by_their_64():
    assert network_of("2001:db8:1:2:aaaa::1") == network_of("2001:db8:1:2:bbbb::2")
    assert network_of("2001:db8:1:2::1") == "2001:db8:1:2::/64"
    assert network_of("2001:db8:1:3::1") != network_of("2001:db8:1:2::1")
    assert network_of("127.0.0.2") != network_of("127.0.0.3")
    assert network_of("::ffff:192.0.2.1") == "192.0.2.1"
