"""One socket of a sandbox, as the engine keeps it, and its row, as the page shows it.

Rules: a SandboxSocket is plain data; the sandbox (playground.sandbox.sandbox, where
the numbered safety rules are) and the event loop's reports of it
(playground.sandbox.transports) change it, and every change that the page should see
is followed by its `row()` in a `socket` event. `generation` is stamped
(playground.host.kernel.CHANGES) whenever the engine changes what the kernel also
reports, so a kernel dump read before the change is known to be older.
"""

import asyncio
import socket
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TypedDict


class Address(TypedDict):
    ip: str
    port: int


class Row(TypedDict):
    """A socket as the page's table shows it: the `socket` of a `socket` event."""

    id: str
    device: str
    protocol: str
    role: str
    local: Address
    remote: Address | None
    state: str
    state_source: str  # engine | kernel: who said what `state` is
    recv_queue: int
    send_queue: int
    bytes_sent: int
    bytes_received: int
    received_dropped: int
    created: str  # ISO 8601, UTC
    closed_by_program: bool
    write_shutdown: bool
    peer_finished: bool
    listener: str | None
    auto_read: bool
    auto_accept: bool | None
    expires_in: float | None  # seconds the kernel keeps its TIME_WAIT record


@dataclass(eq=False)
class SandboxSocket:
    id: str
    device: str
    protocol: str  # tcp | udp
    role: str  # listener | client | accepted | udp
    local: tuple[str, int]
    remote: tuple[str, int] | None = None
    state: str = ""
    state_source: str = "engine"
    recv_queue: int = 0
    send_queue: int = 0
    bytes_sent: int = 0
    bytes_received: int = 0
    received: bytearray = field(default_factory=bytearray)
    received_dropped: int = 0
    created: float = field(default_factory=time.time)
    closed_by_program: bool = False
    # When the engine last changed it (kernel.CHANGES): a kernel row read before is older.
    generation: int = 0
    expires_at: float | None = None  # monotonic time the kernel drops its TIME_WAIT record
    write_shut: bool = False
    peer_finished: bool = False
    reset: bool = False  # closed by tcp_reset (an RST)
    listener: str | None = None
    # Whether the program reads what arrives by itself, or only on `recv`; for a
    # listener, what the sockets it accepts do.
    auto_read: bool = True
    auto_accept: bool | None = None  # a listener's: accepts by itself, or only on `accept`
    inode: int = 0
    transport: asyncio.BaseTransport | None = None
    server: asyncio.AbstractServer | None = None
    # The socket itself: a listener that accepts only when told, a UDP socket (to connect).
    raw: socket.socket | None = None
    connecting: asyncio.Task | None = None  # a connect still waiting for its handshake
    reading: asyncio.Future | None = None  # a `recv` waiting for the event loop's read
    sending: bool = False  # a datagram being sent: an error the kernel reports is its
    send_error: OSError | None = None

    def row(self) -> Row:
        return {
            "id": self.id,
            "device": self.device,
            "protocol": self.protocol,
            "role": self.role,
            "local": {"ip": self.local[0], "port": self.local[1]},
            "remote": {"ip": self.remote[0], "port": self.remote[1]} if self.remote else None,
            "state": self.state,
            "state_source": self.state_source,
            "recv_queue": self.recv_queue,
            "send_queue": self.send_queue,
            "bytes_sent": self.bytes_sent,
            "bytes_received": self.bytes_received,
            "received_dropped": self.received_dropped,
            "created": datetime.fromtimestamp(self.created, UTC).isoformat(),
            "closed_by_program": self.closed_by_program,
            "write_shutdown": self.write_shut,
            "peer_finished": self.peer_finished,
            "listener": self.listener,
            "auto_read": self.auto_read,
            "auto_accept": self.auto_accept,
            "expires_in": (
                None
                if self.expires_at is None
                else round(max(0.0, self.expires_at - time.monotonic()), 1)
            ),
        }
