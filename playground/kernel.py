"""The kernel's own socket table, read through the sock_diag netlink interface.

Rules: one dump per tick for the whole process, whatever the number of
sandboxes, filtered to the sandbox address range and handed to each sandbox
by its addresses. The dump runs in one worker thread, so a slow kernel read
never stalls the event loop. Where sock_diag is missing (not Linux, or no
netlink), `KernelTable.available` is False with the reason, and sandboxes
report the states they know themselves.

The records are read with the standard library's AF_NETLINK socket and one
struct per record: `inet_diag_msg` is a fixed 72-byte layout of the kernel ABI
(linux/inet_diag.h). pyroute2 read the same dump, but decoding each message in
Python cost about 0.14 ms a row, 345 ms for 2,500 sandbox sockets, more than the
whole latency budget; this reads them in a few milliseconds (docs/benchmarks.md).
"""

import asyncio
import contextlib
import socket
import struct
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

NETLINK_SOCK_DIAG = 4
SOCK_DIAG_BY_FAMILY = 20
NLM_F_REQUEST, NLM_F_DUMP = 0x1, 0x300
NLMSG_ERROR, NLMSG_DONE = 2, 3
ALL_STATES = 0xFFFFFFFF
_HEADER = struct.Struct("=IHHII")  # nlmsghdr: length, type, flags, sequence, port id
_REQUEST = struct.Struct("=BBBxI48x")  # inet_diag_req_v2: family, protocol, ext, states, id
# inet_diag_msg: family, state, timer, retrans; id (sport, dport big-endian, src, dst,
# interface, cookie); expires, rqueue, wqueue, uid, inode.
_RECORD = struct.Struct("=BBBB2s2s16s16sI8sIIIII")

TCP_STATES = {
    1: "ESTABLISHED",
    2: "SYN_SENT",
    3: "SYN_RECV",
    4: "FIN_WAIT1",
    5: "FIN_WAIT2",
    6: "TIME_WAIT",
    7: "CLOSE",
    8: "CLOSE_WAIT",
    9: "LAST_ACK",
    10: "LISTEN",
    11: "CLOSING",
    12: "NEW_SYN_RECV",
}
# ss(8) calls an unconnected UDP socket UNCONN; the kernel files it as CLOSE.
UDP_STATES = {1: "ESTABLISHED", 7: "UNCONN"}


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

    @property
    def four_tuple(self) -> tuple:
        return (self.local_ip, self.local_port, self.remote_ip, self.remote_port)


class KernelTable:
    """Blocking reads of the socket table; `open` and `dump` from one thread."""

    def __init__(self, network, enabled: bool = True):
        self.network = network
        self._net = int(network.network_address)
        self._mask = int(network.netmask)
        # Extra connections to report, by 4-tuple (the WebSockets' own TCP connections).
        self.watched: frozenset[tuple] = frozenset()
        self._sock: socket.socket | None = None
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
            self._sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_SOCK_DIAG)
            self._read(socket.IPPROTO_UDP)
        except (OSError, AttributeError) as exc:  # AttributeError: no AF_NETLINK (not Linux)
            self.reason = f"sock_diag is not available: {exc}"
            self.close()
        return self.available

    def _read(self, protocol: int) -> list[tuple]:
        self._sequence += 1
        self._sock.send(
            _HEADER.pack(
                _HEADER.size + _REQUEST.size,
                SOCK_DIAG_BY_FAMILY,
                NLM_F_REQUEST | NLM_F_DUMP,
                self._sequence,
                0,
            )
            + _REQUEST.pack(socket.AF_INET, protocol, 0, ALL_STATES)
        )
        records = []
        while True:
            data = self._sock.recv(1 << 20)
            offset = 0
            while offset < len(data):
                length, kind, _, _, _ = _HEADER.unpack_from(data, offset)
                if kind == NLMSG_DONE:
                    return records
                if kind == NLMSG_ERROR:
                    (code,) = struct.unpack_from("=i", data, offset + _HEADER.size)
                    raise OSError(-code, "sock_diag refused the dump")
                records.append(_RECORD.unpack_from(data, offset + _HEADER.size))
                offset += (length + 3) & ~3

    def dump(self) -> list[KernelSocket]:
        rows = []
        watched = self.watched
        for protocol, name, states in (
            (socket.IPPROTO_TCP, "tcp", TCP_STATES),
            (socket.IPPROTO_UDP, "udp", UDP_STATES),
        ):
            for record in self._read(protocol):
                src = record[6][:4]
                dst = socket.inet_ntoa(record[7][:4])
                sport = int.from_bytes(record[4], "big")
                dport = int.from_bytes(record[5], "big")
                src_ip = socket.inet_ntoa(src)
                in_range = int.from_bytes(src, "big") & self._mask == self._net
                if not in_range and (src_ip, sport, dst, dport) not in watched:
                    continue
                rows.append(
                    KernelSocket(
                        protocol=name,
                        state=states.get(record[1], str(record[1])),
                        local_ip=src_ip,
                        local_port=sport,
                        remote_ip=dst,
                        remote_port=dport,
                        recv_queue=record[11],
                        send_queue=record[12],
                        inode=record[14],
                    )
                )
        return rows

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None


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

    def register(self, sandbox) -> None:
        for ip in sandbox.device_ips:
            self._owners[ip] = sandbox
        if self.table.available and (self._task is None or self._task.done()):
            self._task = asyncio.get_running_loop().create_task(self._run(), name="kernel-watch")

    def watch(self, four_tuple: tuple, callback: Callable[[int | None], None]) -> None:
        """Report a TCP connection's send queue (None once it is gone) every tick."""
        self._watches[four_tuple] = callback
        self.table.watched = frozenset(self._watches)

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
        while self._owners:
            started = time.monotonic()
            rows = await loop.run_in_executor(self._executor, self.table.dump)
            self.dumps += 1
            self.last_dump_seconds = time.monotonic() - started
            by_sandbox: dict[int, tuple[object, list]] = {}
            for sandbox in set(self._owners.values()):
                by_sandbox[id(sandbox)] = (sandbox, [])
            for row in rows:
                owner = self._owners.get(row.local_ip)
                if owner is not None:
                    by_sandbox[id(owner)][1].append(row)
            for sandbox, sandbox_rows in by_sandbox.values():
                sandbox.apply_kernel(sandbox_rows, started)
            if self._watches:
                queues = {row.four_tuple: row.send_queue for row in rows}
                for key, callback in list(self._watches.items()):
                    callback(queues.get(key))
            self._kick.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._kick.wait(), self.tick)

    async def settled(self) -> None:
        """Once no sandbox is registered: until the reading task has ended."""
        if not self._owners and self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)

    async def open(self) -> bool:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self.table.open)

    async def aclose(self) -> None:
        self._owners.clear()
        self.kick()
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._executor, self.table.close)
        self._executor.shutdown(wait=True)
