"""The one packet socket of a server process, and the packets it hands each sandbox (no Django).

Rules: the capture's rules are stated once, in playground.capture.sandbox.
"""

import asyncio
import contextlib
import ipaddress
import logging
import socket
import struct
import time
from typing import TYPE_CHECKING

from playground.capture import packets
from playground.capture.bpf import attach_filter, filter_program
from playground.host.netns import Namespace, NamespaceLost
from playground.wire.limits import Limits

if TYPE_CHECKING:  # each sandbox's capture registers with the reader it reads from
    from playground.capture.sandbox import SandboxCapture

log = logging.getLogger(__name__)

ETH_P_IP = 0x0800
SO_TIMESTAMPNS = 35  # and SCM_TIMESTAMPNS: struct timespec in a control message
SOL_PACKET, PACKET_STATISTICS = 263, 6
RECEIVE_BUFFER = 2 << 20  # the kernel doubles it, up to net.core.rmem_max
BATCH = 64  # packets read per wake-up at most: the event loop's other work goes on
_TIMESPEC = struct.Struct("@ll")  # struct timespec: tv_sec, tv_nsec (longs)
_STATISTICS = struct.Struct("@II")
_ANCILLARY = socket.CMSG_SPACE(_TIMESPEC.size) if hasattr(socket, "CMSG_SPACE") else 64


# The process's packet socket ------------------------------------------------------


class PacketReader:
    """The one packet socket of a server process, open while some sandbox captures."""

    def __init__(self, namespace: Namespace, network: ipaddress.IPv4Network, limits: Limits):
        self.namespace = namespace
        self.network = network
        self.snap = packets.ETHERNET + packets.MAX_HEADERS + int(limits.payload_preview)
        self.preview = int(limits.payload_preview)
        self._owners: dict[bytes, SandboxCapture] = {}  # address -> capturing sandbox
        self._capturing: set[SandboxCapture] = set()
        self._sock: socket.socket | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.failure = ""  # why the last opening failed
        # Figures: frames read, and frames the kernel dropped for a full receive buffer.
        self.read = 0
        self.kernel_drops = 0

    @property
    def available(self) -> bool:
        return self.namespace.available and not self.failure

    @property
    def reason(self) -> str:
        if not self.namespace.available:
            return (
                "Packet capture needs the playground's own network, and there is none here ("
                f"{self.namespace.reason or 'no network namespace'}). The server never watches "
                "its own network."
            )
        if self.failure:
            return f"Packet capture is not possible on this server: {self.failure}."
        return ""

    @property
    def reading(self) -> bool:
        return self._sock is not None

    def probe(self) -> bool:
        """Whether a packet socket can be made and set up here (made and closed again)."""
        if not self.namespace.available:
            return False
        try:
            self._make().close()
        except (OSError, ValueError) as exc:
            self.failure = str(exc)
            return False
        self.failure = ""
        return True

    def _make(self) -> socket.socket:
        sock = self.namespace.packet_socket()
        try:
            # Filtered before bound: the socket receives nothing until the bind.
            attach_filter(sock, filter_program(self.network, self.snap))
            sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
            sock.setblocking(False)
            # ETH_P_IP, not ETH_P_ALL: only the receive path delivers to it.
            sock.bind(("lo", ETH_P_IP))
        except BaseException:
            sock.close()
            raise
        return sock

    def add(self, capture: "SandboxCapture") -> bool:
        """Start reading this sandbox's packets; False if the socket cannot be made."""
        if self._sock is None:
            try:
                self._sock = self._make()
            except (NamespaceLost, OSError, ValueError) as exc:
                log.warning("playground: packet capture could not start: %s", exc)
                return False
            self._loop = asyncio.get_running_loop()
            self._loop.add_reader(self._sock.fileno(), self._readable)
        self._capturing.add(capture)
        for address in capture.addresses:
            self._owners[address] = capture
        return True

    def remove(self, capture: "SandboxCapture") -> None:
        """Stop; with no sandbox left capturing, close the socket."""
        self._capturing.discard(capture)
        for address in capture.addresses:
            if self._owners.get(address) is capture:
                del self._owners[address]
        if not self._capturing:
            self.close()

    def close(self) -> None:
        sock, self._sock = self._sock, None
        if sock is None:
            return
        self._statistics(sock)
        if self._loop is not None and not self._loop.is_closed():
            self._loop.remove_reader(sock.fileno())
        sock.close()

    def _statistics(self, sock: socket.socket) -> None:
        with contextlib.suppress(OSError):  # read and reset by the kernel
            raw = sock.getsockopt(SOL_PACKET, PACKET_STATISTICS, _STATISTICS.size)
            self.kernel_drops += _STATISTICS.unpack(raw)[1]

    def _broken(self, exc: OSError) -> None:
        """The socket failed: a fresh one, or capture off for every sandbox (each keeps
        its wishes; `available` says why)."""
        log.error("playground: reading captured packets failed: %s", exc)
        self.close()
        try:
            self._sock = self._make()
        except (NamespaceLost, OSError, ValueError) as again:
            self.failure = f"the packet socket failed ({again})"
            for capture in list(self._capturing):
                capture.stopped()
            self._capturing.clear()
            self._owners.clear()
            return
        self._loop.add_reader(self._sock.fileno(), self._readable)

    def _readable(self) -> None:
        sock = self._sock
        if sock is None:
            return
        owners = self._owners
        for _ in range(BATCH):
            try:
                frame, ancillary, _, _ = sock.recvmsg(self.snap, _ANCILLARY)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                self._broken(exc)
                return
            self.read += 1
            source, destination = frame[26:30], frame[30:34]
            capture = owners.get(source) or owners.get(destination)
            if (
                capture is None
                or source not in capture.addresses
                or destination not in capture.addresses
            ):
                continue  # no capturing sandbox's own packet
            capture.frame(frame, ancillary)


def kernel_time_ns(ancillary: list) -> int:
    """The kernel's timestamp of a packet (SO_TIMESTAMPNS), else now."""
    for _, kind, data in ancillary:
        if kind == SO_TIMESTAMPNS and len(data) >= _TIMESPEC.size:
            seconds, nanoseconds = _TIMESPEC.unpack_from(data)
            return seconds * 1_000_000_000 + nanoseconds
    return time.time_ns()


def unavailable(reader: PacketReader | None, limits: Limits) -> dict:
    """`hello.capture` where the sandbox has no capture at all."""
    return {
        "available": False,
        "note": reader.reason if reader is not None else "Packet capture is not available here.",
        "on": False,
        "packets_per_second": limits.capture_packets_per_second,
        "history": limits.capture_history,
        "older": 0,
    }
