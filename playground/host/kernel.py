"""The kernel's own socket table, read through the sock_diag netlink interface.

Rules: one dump per tick for the whole process, whatever the number of
sandboxes, filtered to the sandbox address range and handed to each sandbox
by its addresses. With the playground's network namespace (playground.host.netns)
the dump reads that namespace's table, which holds only sandbox sockets, so
the host's sockets cost nothing; the WebSockets' own connections, which live
in the host's namespace, are looked up there one by one (an exact sock_diag
request per connection, all sent in one message), so their cost grows with the
number of WebSockets, not with the number of sockets on the host. The dump
runs in one worker thread, so a slow kernel read never stalls the event loop.
Where sock_diag is missing (not Linux, or no netlink), `KernelTable.available`
is False with the reason, and sandboxes report the states they know themselves.

A reading never overrides the engine: each change the engine makes to a socket
(made, connected, shut down, read from, closed) is stamped on CHANGES, each dump notes
the stamp it began at, and a sandbox takes nothing from a dump about a socket changed
since (Sandbox.apply_kernel). Every change asks for a reading (`kick`); a kick that comes
while a dump is under way asks for the next one, so it is never lost.

A reset sandbox's connections that only the kernel still holds (TIME_WAIT ...) are
ended with SOCK_DESTROY (`KernelTable.destroy`), as `ss -K` does: the playground's
namespace is ours (its user namespace gives the server CAP_NET_ADMIN over it), so
nothing else's sockets are touched.

The records are read with the standard library's AF_NETLINK socket and one
struct per record: `inet_diag_msg` is a fixed 72-byte layout of the kernel ABI
(linux/inet_diag.h). pyroute2 read the same dump, but decoding each message in
Python cost about 0.14 ms a row, 345 ms for 2,500 sandbox sockets, more than the
whole latency budget; this reads them in a few milliseconds (docs/benchmarks.md).

The states are spelled here only: TCP_STATES and UDP_STATES (by sock_diag's number)
and SS_NAMES (as ss(8) prints each), which the lab checks and the page read.
"""

import asyncio
import contextlib
import errno
import logging
import socket
import struct
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

log = logging.getLogger(__name__)

NETLINK_SOCK_DIAG = 4
SOCK_DIAG_BY_FAMILY, SOCK_DESTROY = 20, 21
NLM_F_REQUEST, NLM_F_ACK, NLM_F_DUMP = 0x1, 0x4, 0x300
NLMSG_ERROR, NLMSG_DONE = 2, 3
ALL_STATES = 0xFFFFFFFF
NO_COOKIE = b"\xff" * 8  # INET_DIAG_NOCOOKIE twice: match the socket whatever its cookie
# Answers queue in the socket's receive buffer until read, each costing a few hundred
# bytes of kernel accounting; past the buffer the kernel drops them (ENOBUFS), so
# requests go in batches that always fit, and a lost answer never blocks the read.
LOOKUP_BATCH = 32
LOOKUP_TIMEOUT = 0.5
_HEADER = struct.Struct("=IHHII")  # nlmsghdr: length, type, flags, sequence, port id
_REQUEST = struct.Struct("=BBBxI48x")  # inet_diag_req_v2: family, protocol, ext, states, id
# The same with its id filled in (sport, dport big-endian; src, dst; interface; cookie).
_REQUEST_ID = struct.Struct("=BBBxI2s2s16s16sI8s")
# inet_diag_msg: family, state, timer, retrans; id (sport, dport big-endian, src, dst,
# interface, cookie); expires, rqueue, wqueue, uid, inode.
_RECORD = struct.Struct("=BBBB2s2s16s16sI8sIIIII")

# Each TCP state sock_diag reports, declared once: its number, the kernel's name (the
# playground's word for it everywhere) and what ss(8) prints, which hyphenates RFC 793's
# names except these three.
_TCP = (
    (1, "ESTABLISHED", "ESTAB"),
    (2, "SYN_SENT", "SYN-SENT"),
    (3, "SYN_RECV", "SYN-RECV"),
    (4, "FIN_WAIT1", "FIN-WAIT-1"),
    (5, "FIN_WAIT2", "FIN-WAIT-2"),
    (6, "TIME_WAIT", "TIME-WAIT"),
    (7, "CLOSE", "UNCONN"),
    (8, "CLOSE_WAIT", "CLOSE-WAIT"),
    (9, "LAST_ACK", "LAST-ACK"),
    (10, "LISTEN", "LISTEN"),
    (11, "CLOSING", "CLOSING"),
    (12, "NEW_SYN_RECV", "SYN-RECV"),
)
TCP_STATES = {number: name for number, name, _ in _TCP}
# ss(8) calls an unconnected UDP socket UNCONN; the kernel files it as CLOSE.
UDP_STATES = {1: "ESTABLISHED", 7: "UNCONN"}
# Every state a socket's row may show, as ss(8) prints it.
SS_NAMES = {name: ss for _, name, ss in _TCP} | {"UNCONN": "UNCONN"}
# The states of a connection its program has let go of, which only the kernel holds (as a
# bit mask of sock_diag's states): what a reset ends (KernelTable.destroy).
CLOSING_STATES = sum(1 << n for n in (4, 5, 6, 9, 11))
TIMER_TIME_WAIT = 3  # inet_diag_msg.idiag_timer of a TIME_WAIT record: `expires` is its end


class ChangeClock:
    """Counts the engine's own changes to sockets, so a kernel reading knows what it is
    older than: a socket stamped after a dump began is newer than that dump's row of it.

    Read and stamped on the event loop only (the dump's thread never touches it)."""

    def __init__(self):
        self.now = 0

    def stamp(self) -> int:
        self.now += 1
        return self.now


CHANGES = ChangeClock()


@dataclass(frozen=True, slots=True)
class KernelSocket:
    protocol: str
    state: str
    local_ip: str
    local_port: int
    remote_ip: str
    remote_port: int
    recv_queue: int
    send_queue: int
    inode: int
    # Milliseconds until the kernel drops a TIME_WAIT record; None for other rows.
    expires_ms: int | None = None

    @property
    def four_tuple(self) -> tuple:
        return (self.local_ip, self.local_port, self.remote_ip, self.remote_port)


class KernelTable:
    """Blocking reads of the socket table; `open` and `dump` from one thread."""

    def __init__(self, network, enabled: bool = True, namespace=None):
        self.network = network
        self.namespace = namespace  # a playground.host.netns.Namespace, or None
        self._net = int(network.network_address)
        self._mask = int(network.netmask)
        # Extra connections to report, by 4-tuple (the WebSockets' own TCP connections).
        self.watched: frozenset[tuple] = frozenset()
        self._sock: socket.socket | None = None
        self._host: socket.socket | None = None  # the same socket without a namespace
        self.records_read = 0  # records the kernel handed over in the last dump
        # The last dump's rows by their raw record: an unchanged record (most of them,
        # under load too) gives back the same row object, unparsed, so the watcher can
        # tell the sandboxes whose sockets did not change and leave them alone.
        self._known: dict[tuple, KernelSocket] = {}
        self._sequence = 0
        self.reason = "" if enabled else "reading kernel states is switched off"
        self.enabled = enabled

    @property
    def available(self) -> bool:
        return self._sock is not None

    def open(self) -> bool:
        if not self.enabled or self._sock is not None:
            return self.available
        try:
            self._host = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_SOCK_DIAG)
            self._sock = self._host
            if self.namespace is not None and self.namespace.available:
                self._sock = self.namespace.socket(
                    socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_SOCK_DIAG
                )
                self._host.settimeout(LOOKUP_TIMEOUT)  # it only answers lookups then
            self._read(self._sock, socket.IPPROTO_UDP)
        except (OSError, AttributeError) as exc:  # AttributeError: no AF_NETLINK (not Linux)
            self.reason = f"sock_diag is not available: {exc}"
            self.close()
        return self.available

    def _read(self, sock: socket.socket, protocol: int, states: int = ALL_STATES) -> list[tuple]:
        self._sequence += 1
        sock.send(
            _HEADER.pack(
                _HEADER.size + _REQUEST.size,
                SOCK_DIAG_BY_FAMILY,
                NLM_F_REQUEST | NLM_F_DUMP,
                self._sequence,
                0,
            )
            + _REQUEST.pack(socket.AF_INET, protocol, 0, states)
        )
        records = []
        while True:
            data = sock.recv(1 << 20)
            offset = 0
            while offset < len(data):
                length, kind, _, _, _ = _HEADER.unpack_from(data, offset)
                if kind == NLMSG_DONE:
                    return records
                if kind == NLMSG_ERROR:
                    (code,) = struct.unpack_from("=i", data, offset + _HEADER.size)
                    raise OSError(-code, "sock_diag refused the dump")
                records.append(_RECORD.unpack_from(data, offset + _HEADER.size))
                self.records_read += 1
                offset += (length + 3) & ~3

    def dump(self) -> list[KernelSocket]:
        watched = self.watched
        separate = self._host is not self._sock
        self.records_read = 0
        rows = self._rows(self._sock, frozenset() if separate else watched)
        if separate and watched:
            rows += [self._row("tcp", TCP_STATES, r) for r in self._lookup(self._host, watched)]
        return rows

    def _lookup(self, sock: socket.socket, four_tuples) -> list[tuple]:
        """The records of these TCP connections (local ip, port, remote ip, port), if alive."""
        records = []
        tuples = list(four_tuples)
        for start in range(0, len(tuples), LOOKUP_BATCH):
            batch = tuples[start : start + LOOKUP_BATCH]
            message = b""
            for src, sport, dst, dport in batch:
                self._sequence += 1
                message += _HEADER.pack(
                    _HEADER.size + _REQUEST_ID.size,
                    SOCK_DIAG_BY_FAMILY,
                    NLM_F_REQUEST,
                    self._sequence,
                    0,
                ) + _REQUEST_ID.pack(
                    socket.AF_INET,
                    socket.IPPROTO_TCP,
                    0,
                    ALL_STATES,
                    sport.to_bytes(2, "big"),
                    dport.to_bytes(2, "big"),
                    socket.inet_aton(src),
                    socket.inet_aton(dst),
                    0,
                    NO_COOKIE,
                )
            sock.send(message)
            answers = 0
            while answers < len(batch):  # one record, or one error (ENOENT: gone), each
                try:
                    data = sock.recv(1 << 20)
                except (TimeoutError, OSError):
                    break  # an answer was dropped: those connections count as unknown

                offset = 0
                while offset < len(data):
                    length, kind, _, _, _ = _HEADER.unpack_from(data, offset)
                    answers += 1
                    if kind not in (NLMSG_ERROR, NLMSG_DONE):
                        records.append(_RECORD.unpack_from(data, offset + _HEADER.size))
                    offset += (length + 3) & ~3
        self.records_read += len(records)
        return records

    @staticmethod
    def _row(name: str, states: dict, record: tuple) -> KernelSocket:
        return KernelSocket(
            protocol=name,
            state=states.get(record[1], str(record[1])),
            local_ip=socket.inet_ntoa(record[6][:4]),
            local_port=int.from_bytes(record[4], "big"),
            remote_ip=socket.inet_ntoa(record[7][:4]),
            remote_port=int.from_bytes(record[5], "big"),
            recv_queue=record[11],
            send_queue=record[12],
            inode=record[14],
            expires_ms=record[10] if record[2] == TIMER_TIME_WAIT else None,
        )

    def _rows(self, sock, watched) -> list[KernelSocket]:
        """Sandbox sockets (by address range), and the watched connections among the rest."""
        rows = []
        known, self._known = self._known, {}
        for protocol, name, states in (
            (socket.IPPROTO_TCP, "tcp", TCP_STATES),
            (socket.IPPROTO_UDP, "udp", UDP_STATES),
        ):
            for record in self._read(sock, protocol):
                if int.from_bytes(record[6][:4], "big") & self._mask != self._net:
                    if not watched:
                        continue
                    key = (
                        socket.inet_ntoa(record[6][:4]),
                        int.from_bytes(record[4], "big"),
                        socket.inet_ntoa(record[7][:4]),
                        int.from_bytes(record[5], "big"),
                    )
                    if key not in watched:
                        continue
                row = known.get(record)
                if row is None:
                    row = self._row(name, states, record)
                self._known[record] = row
                rows.append(row)
        return rows

    def destroy(self, ips: frozenset[str], passes: int = 3) -> bool:
        """End the TCP connections at these addresses that only the kernel still holds
        (TIME_WAIT, FIN_WAIT2, LAST_ACK ...), with sock_diag's SOCK_DESTROY, as `ss -K`
        does. True once none is left; False where the kernel will not (no
        CONFIG_INET_DIAG_DESTROY, or no CAP_NET_ADMIN over the table's namespace: the
        host's own, without the playground's namespace), and they expire by themselves.

        Ending one may move its peer on (an RST ends a LAST_ACK at once), so it looks again,
        a few times at most."""
        if self._sock is None:
            return False
        for _ in range(passes):
            left = [
                record
                for record in self._read(self._sock, socket.IPPROTO_TCP, CLOSING_STATES)
                if socket.inet_ntoa(record[6][:4]) in ips
            ]
            if not left:
                return True
            for start in range(0, len(left), LOOKUP_BATCH):
                if not self._destroy(left[start : start + LOOKUP_BATCH]):
                    return False
        return False

    def _destroy(self, records: list[tuple]) -> bool:
        message = b""
        for record in records:
            self._sequence += 1
            message += _HEADER.pack(
                _HEADER.size + _REQUEST_ID.size,
                SOCK_DESTROY,
                NLM_F_REQUEST | NLM_F_ACK,
                self._sequence,
                0,
            ) + _REQUEST_ID.pack(socket.AF_INET, socket.IPPROTO_TCP, 0, ALL_STATES, *record[4:10])
        self._sock.send(message)
        answers, refused = 0, False
        while answers < len(records):  # one acknowledgement (an error, 0 or not) each
            data = self._sock.recv(1 << 20)
            offset = 0
            while offset < len(data):
                length, kind, _, _, _ = _HEADER.unpack_from(data, offset)
                if kind == NLMSG_ERROR:
                    answers += 1
                    (code,) = struct.unpack_from("=i", data, offset + _HEADER.size)
                    # ENOENT: gone meanwhile, which is what was asked.
                    refused = refused or code not in (0, -errno.ENOENT)
                offset += (length + 3) & ~3
        return not refused

    def close(self) -> None:
        for sock in {self._sock, self._host} - {None}:
            sock.close()
        self._sock = self._host = None


class KernelWatcher:
    """Reads the table every tick (and at once when kicked) while sandboxes exist."""

    def __init__(self, table: KernelTable, tick: float):
        self.table = table
        self.tick = tick
        self._owners: dict[str, object] = {}  # local IP -> sandbox
        self._watches: dict[tuple, Callable[[int | None], None]] = {}
        self._kick = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sock-diag")
        self.dumps = 0
        self.last_dump_seconds = 0.0
        self._applied: dict[int, list] = {}  # sandbox id -> the rows it was last given

    def register(self, sandbox) -> None:
        for ip in sandbox.device_ips:
            self._owners[ip] = sandbox
        self._start()

    def _start(self) -> None:
        if self.table.available and (self._task is None or self._task.done()):
            self._task = asyncio.get_running_loop().create_task(self._run(), name="kernel-watch")

    def watch(self, four_tuple: tuple, callback: Callable[[int | None], None]) -> None:
        """Report a TCP connection's send queue (None once it is gone) every tick."""
        self._watches[four_tuple] = callback
        self.table.watched = frozenset(self._watches)
        self._start()  # also before any sandbox lives here

    def unwatch(self, four_tuple: tuple) -> None:
        self._watches.pop(four_tuple, None)
        self.table.watched = frozenset(self._watches)

    def unregister(self, sandbox) -> None:
        for ip in sandbox.device_ips:
            if self._owners.get(ip) is sandbox:
                del self._owners[ip]
        self.kick()

    def kick(self) -> None:
        self._kick.set()

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while self._owners or self._watches:
            started = time.monotonic()
            # Before the read: a kick that comes during it asks for the next one.
            self._kick.clear()
            begun = CHANGES.now  # what the engine changed after this, the read is older than
            try:
                rows = await loop.run_in_executor(self._executor, self.table.dump)
            except OSError:
                # One failed read (the namespace being replaced, say) must not end the
                # watching for every sandbox, nor count as "every socket is gone".
                log.exception("playground: reading the kernel's socket table failed")
                await asyncio.sleep(self.tick)
                continue
            self.dumps += 1
            self.last_dump_seconds = time.monotonic() - started
            by_sandbox: dict[int, tuple[object, list]] = {}
            for sandbox in set(self._owners.values()):
                by_sandbox[id(sandbox)] = (sandbox, [])
            for row in rows:
                owner = self._owners.get(row.local_ip)
                if owner is not None:
                    by_sandbox[id(owner)][1].append(row)
            applied, self._applied = self._applied, {}
            for key, (sandbox, sandbox_rows) in by_sandbox.items():
                before = applied.get(key)
                unchanged = (
                    before is not None
                    and len(before) == len(sandbox_rows)
                    and all(a is b for a, b in zip(before, sandbox_rows, strict=True))
                )
                # Lingering sockets are dropped by a dump that misses them: always applied.
                # Rows older than the engine's last change are not: the same rows read again
                # by the next dump must then be applied, so they do not count as given.
                if (unchanged and not sandbox.lingering) or sandbox.apply_kernel(
                    sandbox_rows, begun
                ):
                    self._applied[key] = sandbox_rows
            if self._watches:
                queues = {row.four_tuple: row.send_queue for row in rows}
                for key, callback in list(self._watches.items()):
                    callback(queues.get(key))
            # Under load the kicks come faster than the dumps; parsing one holds the
            # GIL, so pausing as long as it took keeps the reading to half the time at
            # most, and the commands of every sandbox still run between dumps.
            await asyncio.sleep(self.last_dump_seconds)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._kick.wait(), self.tick - self.last_dump_seconds)

    async def destroy(self, ips) -> bool:
        """End the connections at these addresses that only the kernel holds
        (KernelTable.destroy); False when they cannot be, and must expire by themselves."""
        if not self.table.available:
            return False
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, self.table.destroy, frozenset(ips))
        except OSError:
            log.warning("playground: ending a reset sandbox's connections failed", exc_info=True)
            return False

    async def settled(self) -> None:
        """Once no sandbox is registered: until the reading task has ended."""
        if not self._owners and not self._watches and self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)

    async def open(self) -> bool:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self.table.open)

    async def reopen(self) -> bool:
        """Read a new namespace's table (after the old one's helper died)."""

        def swap() -> bool:
            self.table.close()
            return self.table.open()

        return await asyncio.get_running_loop().run_in_executor(self._executor, swap)

    async def aclose(self) -> None:
        self._owners.clear()
        self._watches.clear()
        self.kick()
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._executor, self.table.close)
        self._executor.shutdown(wait=True)
