"""Watching the packets: each sandbox's own TCP and UDP packets as `packet` events
(no Django). Parsing and the kept records are playground.capture.packets.

Rules:
- Capture happens only inside the playground's network namespace, on its loopback,
  which carries nothing but sandbox traffic: one AF_PACKET socket per process, made
  by the namespace's helper (playground.host.netns). Where there is no namespace,
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
  packets (playground.labs.lab). The cost of always keeping them: the process's packet
  socket is open (asyncio add_reader) while any sandbox lives, and each packet a
  sandbox makes is read and, within its rate, parsed and packed (about 17 µs,
  docs/benchmarks.md); a sandbox that makes no packets costs nothing, and no
  WebSocket message is sent for a packet nobody watches.
- Bounded per sandbox: at most `capture_packets_per_second` packets kept and sent
  a second (a burst of as many), the others counted into the next one's `dropped`
  and not even parsed unless they open a connection (SYN); the last
  `capture_history` of them kept as compact records (playground.wire.limits); relative
  sequence numbers need one initial number per connection and direction, at most
  4 x sockets_per_sandbox of them. What the kept ones leave out is said, not hidden:
  `older` (in `hello.capture` and the `capture` answer) counts the packets since the
  start or the last reset that came before the first kept one, read from the kept
  packets' own numbers (`n` counts every packet, `dropped` those the rate limit left
  out before each), so it is exact without a counter of its own.
- `time` is the kernel's timestamp of the packet (SO_TIMESTAMPNS), not the moment
  the server read it.
"""

import logging
import socket
from collections import deque
from collections.abc import Callable

from playground.capture import packets
from playground.capture.packets import ACK, SYN, TCP
from playground.capture.reader import PacketReader, kernel_time_ns
from playground.sandbox.flow import TokenBucket
from playground.wire.limits import Limits

log = logging.getLogger(__name__)


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
        time_ns, sockets = kernel_time_ns(ancillary), self._sockets(packet)
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
        # A new connection's SYN is the listener's even where an old one was.
        opening = protocol == "tcp" and packet.flags & (SYN | ACK) == SYN
        table = self.sandbox.table
        ends = []
        for local, remote in ((src, dst), (dst, src)):
            found = table.owner_of((*local, *remote), protocol, opening)
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
