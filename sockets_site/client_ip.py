"""The address a request or a WebSocket came from, for log-in throttling and quotas.

Rules: the peer's address (REMOTE_ADDR, or an ASGI scope's `client`) is the
client unless DJANGO_BEHIND_PROXY=1; only then is the first address of
X-Forwarded-For believed, because without a proxy that sets it any client
could write the header and pick a fresh address for every attempt. The proxy
must replace the header, not append to it, for the same reason. A forwarded
value is an address, or an address with a port (`203.0.113.9:4711`,
`[2001:db8::1]:4711`); anything else is ignored for the peer's address (it would
be stored in an IP address column, which PostgreSQL refuses).

Log-in throttling, like the playground's quotas, counts a client's network
(sockets_site.networks.network_of, the one definition): an IPv6 address by its /64,
since one customer gets a whole /64 and could otherwise try each of its 2^64
addresses with a fresh budget.
"""

import ipaddress

from django.conf import settings

from sockets_site.networks import network_of


def _address(value: str) -> str | None:
    """The IP address in `value` (with or without a port), or None."""
    value = value.strip()
    if value.startswith("[") and "]" in value:  # [v6] or [v6]:port
        value = value[1 : value.index("]")]
    elif value.count(":") == 1:  # v4:port (a bare v6 address has several colons)
        value = value.split(":")[0]
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    return str(address).split("%")[0]  # a zone (fe80::1%eth0) is no column's


def choose(peer: str, forwarded_for: str) -> str:
    """The client's address, from the peer's and the X-Forwarded-For header's."""
    if settings.BEHIND_PROXY:
        forwarded = _address(forwarded_for.split(",")[0])
        if forwarded:
            return forwarded
    return peer


def client_ip(request) -> str:
    return choose(request.META.get("REMOTE_ADDR", ""), request.META.get("HTTP_X_FORWARDED_FOR", ""))


def throttled_network(request) -> str:
    """The client's network as log-in throttling counts it (AXES_CLIENT_IP_CALLABLE).

    Axes keeps it in an IP address column, so a /64 is written as its first address.
    """
    network = network_of(client_ip(request))
    if "/" in network:
        return str(ipaddress.ip_network(network).network_address)
    return network


def scope_client_ip(scope: dict) -> str:
    """The same rule for an ASGI scope (a WebSocket's)."""
    client = scope.get("client")
    peer = str(client[0]) if client else ""
    forwarded = ""
    for name, value in scope.get("headers", ()):
        if name.lower() == b"x-forwarded-for":
            forwarded = value.decode("latin-1")
            break  # the proxy replaces the header: the first is the one it wrote
    return choose(peer, forwarded)
