"""Watching the packets: each sandbox's own TCP and UDP packets as `packet` events
(no Django). Parsing and the kept records are playground.packets.

Rules:
- Capture happens only inside the playground's network namespace, on its loopback,
  which carries nothing but sandbox traffic: one AF_PACKET socket per process, made
  by the namespace's helper (playground.netns). Where there is no namespace,
  capture is unavailable and says why; the host's own loopback is never read.
- The kernel filters: a classic BPF program, attached before the socket is bound
  (until then it receives nothing), passes only IPv4 TCP and UDP packets whose
  source or destination is in the playground's address range, once each (loopback
  shows a packet as sent and as received: bound to ETH_P_IP the socket gets only
  the received copy, and the filter keeps only PACKET_HOST besides), cut after
  their headers and `payload_preview` bytes of payload. The server never reads
  anything else.
- A packet goes to the sandbox that holds both its addresses; one whose ends belong
  to two sandboxes (the sandbox's rules make none) goes to neither.
- A sandbox's packets are read and kept from its start, whether or not a page
  shows them, so a panel opened late (the `capture` answer) or a reload (`hello`)
  shows the handshake of a connection made before; Reset forgets them (`reset`).
  They go out as `packet` events only while the sandbox is watched: while a tab of
  it asked to (its wish ends with its attachment) or its active experiment checks
  packets (playground.labs). The cost of always keeping them: the process's packet
  socket is open (asyncio add_reader) while any sandbox lives, and each packet a
  sandbox makes is read and, within its rate, parsed and packed (about 17 µs,
  docs/benchmarks.md); a sandbox that makes no packets costs nothing, and no
  WebSocket message is sent for a packet nobody watches.
- Bounded per sandbox: at most `capture_packets_per_second` packets kept and sent
  a second (a burst of as many), the others counted into the next one's `dropped`
  and not even parsed unless they open a connection (SYN); the last
  `capture_history` of them kept as compact records (playground.limits); relative
  sequence numbers need one initial number per connection and direction, at most
  4 x sockets_per_sandbox of them. What the kept ones leave out is said, not hidden:
  `older` (in `hello.capture` and the `capture` answer) counts the packets since the
  start or the last reset that came before the first kept one, read from the kept
  packets' own numbers (`n` counts every packet, `dropped` those the rate limit left
  out before each), so it is exact without a counter of its own.
- `time` is the kernel's timestamp of the packet (SO_TIMESTAMPNS), not the moment
  the server read it.
"""

import asyncio
import contextlib
import ctypes
import ipaddress
import logging
import socket
import struct
import time
from collections import deque
from collections.abc import Callable

from playground import packets
from playground.flow import TokenBucket
from playground.limits import Limits
from playground.netns import Namespace, NamespaceLost
from playground.packets import ACK, SYN, TCP

log = logging.getLogger(__name__)

ETH_P_IP = 0x0800
SO_ATTACH_FILTER = 26
SO_TIMESTAMPNS = 35  # and SCM_TIMESTAMPNS: struct timespec in a control message
SOL_PACKET, PACKET_STATISTICS = 263, 6
PACKET_HOST = 0  # addressed to this host: the incoming copy of a loopback packet
SKF_AD_PKTTYPE = 0xFFFFF000 + 4  # SKF_AD_OFF + SKF_AD_PKTTYPE
RECEIVE_BUFFER = 2 << 20  # the kernel doubles it, up to net.core.rmem_max
BATCH = 64  # packets read per wake-up at most: the event loop's other work goes on
_TIMESPEC = struct.Struct("@ll")  # struct timespec: tv_sec, tv_nsec (longs)
_STATISTICS = struct.Struct("@II")
_ANCILLARY = socket.CMSG_SPACE(_TIMESPEC.size) if hasattr(socket, "CMSG_SPACE") else 64


# The kernel's filter ------------------------------------------------------------

_INSTRUCTION = struct.Struct("@HBBI")  # struct sock_filter: code, jt, jf, k
LD_W, LD_H, LD_B = 0x20, 0x28, 0x30  # BPF_LD | size | BPF_ABS
AND_K, JEQ_K, RET_K = 0x54, 0x15, 0x06


def filter_program(network: ipaddress.IPv4Network, snap: int) -> list[tuple]:
    """The classic BPF program: (code, jt, jf, k) each, jumps already resolved."""
    net, mask = int(network.network_address), int(network.netmask)
    # Labels: ("accept"/"drop") as jump targets, resolved below.
    program = [
        (LD_W, None, None, SKF_AD_PKTTYPE),  # the packet's type...
        (JEQ_K, None, "drop", PACKET_HOST),  # ...the incoming copy only
        (LD_H, None, None, 12),  # the Ethernet type
        (JEQ_K, None, "drop", ETH_P_IP),
        (LD_B, None, None, packets.ETHERNET + 9),  # the IP protocol
        (JEQ_K, "address", None, TCP),
        (JEQ_K, None, "drop", packets.UDP),
        "address",
        (LD_W, None, None, packets.ETHERNET + 12),  # the source address
        (AND_K, None, None, mask),
        (JEQ_K, "accept", None, net),
        (LD_W, None, None, packets.ETHERNET + 16),  # the destination address
        (AND_K, None, None, mask),
        (JEQ_K, "accept", "drop", net),
        "accept",
        (RET_K, None, None, snap),  # the first `snap` bytes
        "drop",
        (RET_K, None, None, 0),
    ]
    labels, pc = {}, 0
    for item in program:
        if isinstance(item, str):
            labels[item] = pc
        else:
            pc += 1
    resolved, pc = [], 0
    for item in program:
        if isinstance(item, str):
            continue
        code, jt, jf, k = item
        jump = {None: 0} | {name: at - pc - 1 for name, at in labels.items()}
        resolved.append((code, jump[jt], jump[jf], k))
        pc += 1
    return resolved


def attach_filter(sock: socket.socket, program: list[tuple]) -> None:
    """SO_ATTACH_FILTER: a struct sock_fprog that points at the instructions."""
    code = b"".join(_INSTRUCTION.pack(*instruction) for instruction in program)
    buffer = ctypes.create_string_buffer(code, len(code))
    fprog = struct.pack("@HP", len(program), ctypes.addressof(buffer))
    sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, fprog)


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


# One sandbox's capture ------------------------------------------------------------


class SandboxCapture:
    """A sandbox's wishes, rate limit, history and relative sequence numbers. It reads
    from the moment it is made (in the sandbox's own event loop) until it is closed."""

    __slots__ = (
        "_ip",
        "_starts",
        "addresses",
        "base",
        "bucket",
        "closed",
        "count",
        "devices",
        "dropped",
        "history",
        "lab",
        "limits",
        "on",
        "reader",
        "sandbox",
        "tabs",
        "watched",
    )

    def __init__(self, sandbox, reader: PacketReader, limits: Limits):
        self.sandbox = sandbox
        self.reader = reader
        self.limits = limits
        self.devices = {socket.inet_aton(ip): name for name, ip in sandbox.devices.items()}
        self.addresses = frozenset(self.devices)
        self._ip = {address: socket.inet_ntoa(address) for address in self.devices}
        self.tabs: set = set()  # the tabs (their sinks) that asked for packets
        self.lab = False  # the active experiment checks packets
        self.on = False  # reading this sandbox's packets
        self.watched = False  # and sending them as packet events
        self.count = 0  # packets captured, dropped ones included
        self.base = 0  # `count` at the last reset: the packets of before it are not "older"
        self.dropped = 0  # not kept since the last kept packet
        self.history: deque[bytes] = deque(maxlen=int(limits.capture_history))
        self.bucket: TokenBucket | None = None
        self._starts: dict[tuple, int] = {}  # (src, sport, dst, dport) -> initial seq
        self.closed = False
        self._update()

    # Wishes --------------------------------------------------------------------

    def want(self, tab: Callable, on: bool) -> bool:
        """A tab asks for packet events, or no longer; whether they are sent now."""
        if on:
            self.tabs.add(tab)
        else:
            self.tabs.discard(tab)
        return self._update()

    def forget(self, tab: Callable) -> None:
        """The tab detached: its wish goes with it."""
        if tab in self.tabs:
            self.tabs.discard(tab)
            self._update()

    def want_for_lab(self, on: bool) -> None:
        self.lab = on
        self._update()

    def _update(self) -> bool:
        if not self.closed and not self.on and self.reader.available and self.reader.add(self):
            self.on = True
            rate = self.limits.capture_packets_per_second
            self.bucket = TokenBucket(rate, max(1, int(rate)))
        elif self.closed and self.on:
            self.on = False
            self.bucket = None
            self.reader.remove(self)
        self.watched = self.on and bool(self.tabs or self.lab)
        return self.watched

    def stopped(self) -> None:
        """The reader stopped for good (its socket failed)."""
        self.on = self.watched = False
        self.bucket = None

    def reset(self) -> None:
        """The sandbox was reset: what was kept before is forgotten (`n` goes on)."""
        self.history.clear()
        self.dropped = 0
        self.base = self.count

    def close(self) -> None:
        """The sandbox is closed: stop, and keep nothing."""
        self.closed = True
        self.tabs.clear()
        self._update()
        self.history.clear()

    # Packets -------------------------------------------------------------------

    def frame(self, frame: bytes, ancillary: list) -> None:
        """One frame of this sandbox's, as read with its control messages. One over the
        rate is only counted, and parsed only if it is a SYN (relative numbers need it):
        a flood costs little more than its reading."""
        sent = self.bucket.take()
        if not sent and not packets.is_syn(frame):
            self.count += 1
            self.dropped += 1
            return
        packet = packets.parse(frame, self.reader.preview)
        if packet is None:
            return
        self.count += 1
        relative = self._relative(packet)
        if not sent:
            self.dropped += 1
            return
        time_ns, sockets = _time_ns(ancillary), self._sockets(packet)
        kept = packets.record(self.count, time_ns, packet, relative, self.dropped, sockets)
        self.dropped = 0
        self.history.append(kept)
        if self.watched:
            self.sandbox.emit(packets.event(kept, self.devices))

    def _relative(self, packet: packets.Packet) -> tuple[int, int]:
        """Seq and ack relative to each direction's first SYN seen, as Wireshark shows
        them; NONE when that SYN was not seen (capture began later)."""
        if packet.protocol != TCP:
            return packets.NONE, packets.NONE
        here = (packet.src, packet.sport, packet.dst, packet.dport)
        back = (packet.dst, packet.dport, packet.src, packet.sport)
        starts = self._starts
        if packet.flags & SYN:
            if not packet.flags & ACK:
                starts.pop(back, None)  # a new connection on these ports
            starts.pop(here, None)
            starts[here] = packet.seq
            while len(starts) > 4 * self.limits.sockets_per_sandbox:
                del starts[next(iter(starts))]
        start, peer = starts.get(here), starts.get(back)
        seq = packets.NONE if start is None else (packet.seq - start) & 0xFFFFFFFF
        ack = (
            (packet.ack - peer) & 0xFFFFFFFF
            if peer is not None and packet.flags & ACK
            else packets.NONE
        )
        return seq, ack

    def _sockets(self, packet: packets.Packet) -> tuple[int, int]:
        """The sending and the receiving socket's numbers (0: none known)."""
        src, dst = (self._ip[packet.src], packet.sport), (self._ip[packet.dst], packet.dport)
        protocol = packets.PROTOCOLS[packet.protocol]
        sandbox = self.sandbox
        held = [*sandbox.sockets.values(), *sandbox.lingering.values()]
        ends = []
        for local, remote in ((src, dst), (dst, src)):
            if protocol == "udp":
                found = _id_of(held, "udp", local)
            else:
                found = _connected(held, local, remote) or sandbox.connecting.get((*local, *remote))
                if found is None:
                    # A connection its listener has not handed over yet (the handshake,
                    # before the accept), else one gone since (its RST, its last ACK); a
                    # new connection's SYN is the listener's even where an old one was.
                    listener = _id_of(held, "listener", local)
                    departed = sandbox.departed.get((*local, *remote))
                    opening = packet.flags & (SYN | ACK) == SYN
                    found = (listener or departed) if opening else (departed or listener)
            ends.append(int(found[1:]) if found else 0)
        return ends[0], ends[1]

    # Hello ---------------------------------------------------------------------

    def public(self) -> dict:
        return {
            "available": self.reader.available,
            "note": self.reader.reason,
            "on": self.watched,
            "packets_per_second": self.limits.capture_packets_per_second,
            "history": self.limits.capture_history,
            "older": self.older(self.kept_events()),
        }

    def kept_events(self) -> list[dict]:
        return [packets.event(kept, self.devices) for kept in self.history]

    def older(self, kept: list[dict]) -> int:
        """How many packets since the start or the last reset came before the first of
        `kept` (this capture's kept_events()) and are not among them: those that fell out
        of the history, with the ones the rate limit left out before them."""
        if not kept:
            return 0  # any not kept yet are the next packet's `dropped`
        return kept[0]["n"] - 1 - self.base - kept[0]["dropped"]


def _time_ns(ancillary: list) -> int:
    """The kernel's timestamp of a packet (SO_TIMESTAMPNS), else now."""
    for _, kind, data in ancillary:
        if kind == SO_TIMESTAMPNS and len(data) >= _TIMESPEC.size:
            seconds, nanoseconds = _TIMESPEC.unpack_from(data)
            return seconds * 1_000_000_000 + nanoseconds
    return time.time_ns()


def _connected(held, local: tuple, remote: tuple) -> str | None:
    return next(
        (
            sock.id
            for sock in held
            if sock.protocol == "tcp" and sock.local == local and sock.remote == remote
        ),
        None,
    )


def _id_of(held, role: str, local: tuple) -> str | None:
    return next((sock.id for sock in held if sock.role == role and sock.local == local), None)


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
