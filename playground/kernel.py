"""The kernel's own socket table, read through sock_diag netlink (pyroute2).

Rules: one dump per tick for the whole process, whatever the number of
sandboxes, filtered to the sandbox address range and handed to each sandbox
by its addresses. The dump runs in one worker thread, so a slow kernel read
never stalls the event loop. Where sock_diag is missing (not Linux, or no
netlink), `KernelTable.available` is False with the reason, and sandboxes
report the states they know themselves.
"""

import asyncio
import contextlib
import ipaddress
import socket
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

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
    """Blocking reads of the socket table. Call `open` and `dump` from one thread
    with no event loop running in it (pyroute2 turns async inside a running loop)."""

    def __init__(self, network: ipaddress.IPv4Network, enabled: bool = True):
        self.network = network
        # Extra connections to report, by 4-tuple (the WebSockets' own TCP connections).
        self.watched: frozenset[tuple] = frozenset()
        self._diag = None
        self.reason = "" if enabled else "reading kernel states is switched off"
        self.enabled = enabled

    def open(self) -> bool:
        if not self.enabled or self._diag is not None:
            return self.available
        try:
            from pyroute2 import DiagSocket

            self._diag = DiagSocket()
            self._diag.bind()
            self._diag.get_sock_stats(family=socket.AF_INET, protocol=socket.IPPROTO_UDP)
        except Exception as exc:  # any failure means "not available here"
            self.reason = f"sock_diag is not available: {exc}"
            self.close()
        return self.available

    @property
    def available(self) -> bool:
        return self._diag is not None

    def dump(self) -> list[KernelSocket]:
        rows = []
        watched = self.watched
        for protocol, name, states in (
            (socket.IPPROTO_TCP, "tcp", TCP_STATES),
            (socket.IPPROTO_UDP, "udp", UDP_STATES),
        ):
            for msg in self._diag.get_sock_stats(family=socket.AF_INET, protocol=protocol):
                src = msg["idiag_src"]
                if (
                    ipaddress.ip_address(src) not in self.network
                    and (src, msg["idiag_sport"], msg["idiag_dst"], msg["idiag_dport"])
                    not in watched
                ):
                    continue
                rows.append(
                    KernelSocket(
                        protocol=name,
                        state=states.get(msg["idiag_state"], str(msg["idiag_state"])),
                        local_ip=src,
                        local_port=msg["idiag_sport"],
                        remote_ip=msg["idiag_dst"],
                        remote_port=msg["idiag_dport"],
                        recv_queue=msg["idiag_rqueue"],
                        send_queue=msg["idiag_wqueue"],
                        inode=msg["idiag_inode"],
                    )
                )
        return rows

    def close(self) -> None:
        if self._diag is not None:
            self._diag.close()
            self._diag = None


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

    async def dump_once(self) -> list[KernelSocket]:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self.table.dump)

    async def aclose(self) -> None:
        self._owners.clear()
        self.kick()
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._executor, self.table.close)
        self._executor.shutdown(wait=True)
