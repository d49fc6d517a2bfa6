"""What a sandbox command is given, checked before anything is made (no Django).

Rules (the numbered rules are playground.sandbox.sandbox's): each check either
returns the value to use or raises SandboxError with the code and the message the
visitor sees, and none of them touches the network. A device is looked up in the
sandbox's own table and nowhere else (rule 1); ports are playground.wire.limits'
range; backlogs, sends and descriptors are bounded by the Limits (rules 3 and 4);
data is valid Unicode text (rule 5).
"""

import resource
import socket

from playground.wire import explain
from playground.wire.errors import SandboxError
from playground.wire.limits import FIRST_PORT, LAST_PORT, Limits


def device_ip(devices: dict[str, str], device) -> str:
    if not isinstance(device, str) or device not in devices:
        names = ", ".join(sorted(devices))
        raise SandboxError(
            "unknown_device", f"There is no device {device!r} here. Use one of: {names}."
        )
    return devices[device]


def port(port, pick: bool = True) -> int:
    """A port to bind (`pick`: 0 lets the system pick one) or to reach (0 is no
    destination); the range is playground.wire.limits', which the page reads too."""
    first, last = FIRST_PORT, LAST_PORT
    if isinstance(port, bool) or not isinstance(port, int) or not first <= port <= last:
        if pick and port == 0 and not isinstance(port, bool):
            return port
        privileged = (
            f" Ports 1 to {first - 1} exist too, but on Linux binding one needs the "
            "CAP_NET_BIND_SERVICE privilege, so the sandbox leaves them out."
        )
        raise SandboxError(
            "bad_port",
            f"In this sandbox, ports are whole numbers from {first} to {last}, or 0 to let "
            f"the operating system pick a free one.{privileged}"
            if pick
            else f"Connect or send to a port from {first} to {last}: the port a socket of "
            f"yours is bound to (0 is no port to reach).{privileged}",
        )
    return port


def backlog(backlog, limits: Limits) -> int:
    largest = int(limits.listen_backlog)
    if backlog is None:
        return largest
    if not 0 <= backlog <= largest:
        raise SandboxError(
            "limit_listen_backlog",
            f"A backlog is a whole number from 0 to {largest} here (listen_backlog); "
            f"{backlog} is not.",
            limit="listen_backlog",
        )
    return backlog


def payload(data, limits: Limits) -> bytes:
    if not isinstance(data, str):
        raise SandboxError("bad_data", "Data must be text.")
    try:
        payload = data.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate such as "\ud800" is not text
        raise SandboxError(
            "bad_data", "Data must be valid Unicode text; it holds a lone surrogate."
        ) from None
    if len(payload) > limits.send_bytes:
        raise SandboxError(
            "limit_send_bytes",
            f"That is {len(payload):,} bytes; this sandbox sends at most "
            f"{limits.send_bytes:,} bytes at a time. Send the rest in another message.",
            limit="send_bytes",
        )
    return payload


def descriptor_room(raw: socket.socket, limits: Limits) -> None:
    """Refuse a socket that leaves the site fewer than `descriptor_reserve` descriptors.

    The kernel hands out the lowest free descriptor, so a new socket numbered
    n means descriptors 0..n are all in use: past the soft limit minus the
    reserve, pages and WebSockets would be the next to fail with EMFILE."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and raw.fileno() >= soft - limits.descriptor_reserve:
        raw.close()
        raise SandboxError("limit_descriptors", explain.descriptors(), limit="descriptor_reserve")
