"""What the site and the playground both say about clients and WebSockets (no Django).

Rules:
- Nothing here imports Django or an app: the playground's Django-free layers use it
  (tests/playground/test_layers.py lists it in OUTSIDE and proves it loads no Django),
  and so do the site's log-in throttling and its outage guard.
- A client counts as its network (network_of): an IPv4 address alone, an IPv6 address
  by its /64, since one customer gets a whole /64 and could otherwise use each of its
  2^64 addresses with a fresh budget. The playground's quotas and log-in throttling
  count the same unit, so it has this one definition.
- CLOSE_FULL (4503) is the one "try again soon" WebSocket close code: the playground
  closes with it when it is full, the outage guard when the database is away.
"""

import ipaddress

# autobahn, under Daphne, sends only 1000 and 3000-4999.
CLOSE_FULL = 4503


def network_of(address: str) -> str:
    """The unit a quota counts: the IPv4 address, or the IPv6 address's /64."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address  # not an IP address (a Unix socket, a test client): itself
    if ip.version == 6:
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)
