"""Helpers for playground tests: an event recorder that can be awaited, and engines."""

import asyncio
import contextlib
import socket
from pathlib import Path

from playground import engines
from playground.engines.local import LocalEngine
from playground.host.addresses import AddressPool
from playground.host.kernel import TCP_STATES, KernelTable, KernelWatcher
from playground.sandbox.sandbox import Sandbox
from playground.wire.limits import Limits

# Tests use their own range, apart from a development server's default one.
TEST_RANGE = "127.78.0.0/16"
WAIT = 10  # seconds before an awaited event counts as never coming


class Events:
    """A sandbox sink that records events and lets a test await one."""

    def __init__(self):
        self.items: list[dict] = []
        self._new = asyncio.Event()

    def __call__(self, event: dict) -> None:
        self.items.append(event)
        self._new.set()

    async def wait_for(self, predicate, timeout: float = WAIT, after: int = 0) -> dict:
        async def scan():
            seen = after
            while True:
                for event in self.items[seen:]:
                    if predicate(event):
                        return event
                seen = len(self.items)
                self._new.clear()
                await self._new.wait()

        return await asyncio.wait_for(scan(), timeout)


def row_is(socket_id, **fields):
    def predicate(event):
        if event["type"] != "socket" or event["socket"]["id"] != socket_id:
            return False
        return all(event["socket"].get(k) == v for k, v in fields.items())

    return predicate


class Engine:
    def __init__(self, lock_file, kernel: bool = True, tick: float = 0.05):
        self.pool = AddressPool(TEST_RANGE, lock_file)
        self.watcher = KernelWatcher(KernelTable(self.pool.network, enabled=kernel), tick)
        self.sandboxes: list[Sandbox] = []

    async def open(self):
        await self.watcher.open()
        return self

    def sandbox(self, limits: Limits | None = None) -> tuple[Sandbox, Events]:
        laptop, server = self.pool.claim(2)
        sandbox = Sandbox(
            {"laptop": laptop, "server": server},
            limits or Limits(),
            kernel_states=self.watcher.table.available,
            on_activity=self.watcher.kick,
        )
        events = Events()
        sandbox.subscribe(events)
        self.watcher.register(sandbox)
        self.sandboxes.append(sandbox)
        return sandbox, events

    async def aclose(self):
        for sandbox in self.sandboxes:
            self.watcher.unregister(sandbox)
            await sandbox.aclose()
        await self.watcher.aclose()
        self.pool.close()


def namespace_helper_pid(server_pid: int) -> int:
    """The pid of a server process's network-namespace helper (playground.host.netns)."""
    for task in Path(f"/proc/{server_pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            if b"playground.host.netns" in Path(f"/proc/{child}/cmdline").read_bytes():
                return int(child)
    raise LookupError(f"process {server_pid} has no network namespace helper")


def _endpoint(text: str) -> tuple[str, int]:
    address, port = text.split(":")
    return socket.inet_ntoa(bytes.fromhex(address)[::-1]), int(port, 16)


def namespace_table(pid: int) -> dict[tuple, str]:
    """The kernel's TCP table of the network namespace process `pid` lives in, as
    /proc/PID/net/tcp shows it: (local ip, port, remote ip, port) -> state."""
    table = {}
    for line in Path(f"/proc/{pid}/net/tcp").read_text().splitlines()[1:]:
        _, local, remote, state, *_ = line.split()
        table[(*_endpoint(local), *_endpoint(remote))] = TCP_STATES[int(state, 16)]
    return table


@contextlib.asynccontextmanager
async def running(registry):
    """Make `registry` the consumer's on this loop (a local engine); closed at the end."""
    engines.set_engine(LocalEngine(registry))
    try:
        yield registry
    finally:
        engines.set_engine(None)
        await registry.aclose()
