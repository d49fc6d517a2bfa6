"""The kernel reading against the engine's own changes, interleaved on purpose: real
sockets and the real kernel table (sock_diag), with each read of the table held until the
test lets it go and, where a test says so, answered by a read made at an earlier moment
(between bind() and listen(), between bind() and connect()). No sleeps: the test waits for
the reads themselves."""

import asyncio
import socket
import threading

import pytest

from playground.host.addresses import AddressPool
from playground.host.kernel import KernelTable, KernelWatcher
from playground.sandbox.sandbox import Sandbox
from playground.wire.limits import Limits
from tests.support.playground_helpers import TEST_RANGE, WAIT, Events, row_is

TICK = 600  # far longer than any test: a read that comes sooner was asked for


class HeldTable(KernelTable):
    """The real table, whose reads begin when the watcher asks and end when the test lets
    them; `stale`, when set, answers the next read with rows read earlier."""

    def __init__(self, network):
        super().__init__(network)
        self.loop = asyncio.get_running_loop()
        self.begun: asyncio.Queue = asyncio.Queue()
        self._gate = threading.Semaphore(0)
        self.stale: list | None = None

    def dump(self):  # in the watcher's thread
        self.loop.call_soon_threadsafe(self.begun.put_nowait, None)
        self._gate.acquire()
        rows, self.stale = self.stale, None
        return rows if rows is not None else super().dump()

    def read_now(self):
        """A read made right now, on the test's own thread, while the watcher's is held."""
        return KernelTable.dump(self)

    def let_go(self, reads: int = 1) -> None:
        for _ in range(reads):
            self._gate.release()

    async def next_read(self) -> None:
        await asyncio.wait_for(self.begun.get(), WAIT)


@pytest.fixture
async def held(tmp_path):
    pool = AddressPool(TEST_RANGE, tmp_path / "lock")
    table = HeldTable(pool.network)
    watcher = KernelWatcher(table, TICK)
    assert await watcher.open(), table.reason
    sandboxes = []

    def make(snoop_on: str) -> tuple[Sandbox, Events]:
        """A sandbox whose sockets, once bound on `snoop_on`, have the table read there."""
        laptop, server = pool.claim(2)
        devices = {"laptop": laptop, "server": server}

        class Snooping(socket.socket):
            def bind(self, address):
                super().bind(address)
                if address[0] == devices[snoop_on] and self.type == socket.SOCK_STREAM:
                    table.stale = table.read_now()

        sandbox = Sandbox(devices, Limits(), kernel_states=True, on_activity=watcher.kick)
        sandbox.make_socket = Snooping
        tab = Events()
        sandbox.subscribe(tab)
        sandboxes.append(sandbox)
        watcher.register(sandbox)  # its first read begins
        return sandbox, tab

    yield table, make
    for sandbox in sandboxes:
        watcher.unregister(sandbox)
        await sandbox.aclose()
    table.let_go(100)  # a read still held ends
    await watcher.aclose()
    pool.close()


def bound_only(table: HeldTable, inode: int) -> bool:
    """Whether the held read saw the socket bound and nothing more (CLOSE). Kernels before
    Linux 6.3 list no bound-only socket, so there it saw nothing of it, and the race is
    only with the next state."""
    return [r.state for r in table.stale if r.inode == inode] in (["CLOSE"], [])


def states(tab: Events, socket_id: str) -> list[str]:
    return [
        e["socket"]["state"]
        for e in tab.items
        if e["type"] == "socket" and e["socket"]["id"] == socket_id
    ]


async def test_it_never_reports_a_new_listener_closed_by_a_read_begun_before_it_listened(held):
    table, make = held
    sandbox, tab = make("server")
    await table.next_read()  # begun before listen(); it reads between bind() and listen()
    listener = await sandbox.tcp_listen("server", 3000)
    assert bound_only(table, listener.inode)
    table.let_go()

    await table.next_read()  # asked for by the listen, during the first read
    table.let_go()
    await tab.wait_for(row_is(listener.id, state="LISTEN", state_source="kernel"))
    assert states(tab, listener.id) == ["LISTEN", "LISTEN"]


async def test_it_never_reports_a_new_client_closed_by_a_read_begun_before_it_connected(held):
    table, make = held
    sandbox, tab = make("laptop")
    await table.next_read()  # a read that begins before the connect ...
    await sandbox.tcp_listen("server", 3000)
    client = await sandbox.tcp_connect("laptop", "server", 3000)
    # ... and answers with the client as it was between bind() and connect().
    assert bound_only(table, client.inode)
    table.let_go()

    await table.next_read()  # the one the connect asked for, not lost during the first
    table.let_go()
    await tab.wait_for(row_is(client.id, state="ESTABLISHED", state_source="kernel"))
    assert "CLOSE" not in states(tab, client.id)


async def test_it_reads_again_when_asked_during_a_read(held):
    table, make = held
    sandbox, tab = make("laptop")
    await table.next_read()  # held
    listener = await sandbox.tcp_listen("server", 3000)  # a change asks for a read
    table.stale = None
    table.let_go()

    # The next read follows at once, not a tick (TICK seconds) later.
    await table.next_read()
    table.let_go()
    await tab.wait_for(row_is(listener.id, state_source="kernel"))
