"""The sandbox's reading of the kernel's socket table (playground.sandbox.kernel_view),
fed hand-built rows: the TIME_WAIT rules of tests/playground/sandbox/test_sandbox.py's
real 60 s wait, in no time.

Real sockets in the test address range, but no kernel watcher: the only dumps applied
are the rows written here (playground.host.kernel.KernelSocket, as a dump of the
namespace's table reads them), each begun after the engine's last change.
"""

import pytest

from playground.host import kernel
from playground.host.addresses import AddressPool
from playground.host.kernel import KernelSocket
from playground.sandbox.kernel_view import apply_kernel
from playground.sandbox.sandbox import Sandbox
from playground.wire.limits import Limits
from tests.support.playground_helpers import TEST_RANGE, Events, row_is

TIME_WAIT_MS = 60_000  # what Linux keeps a time-wait record for


@pytest.fixture
async def sandbox(tmp_path):
    pool = AddressPool(TEST_RANGE, tmp_path / "addresses.lock")
    laptop, server = pool.claim(2)
    sandbox = Sandbox({"laptop": laptop, "server": server}, Limits(), kernel_states=True)
    events = Events()
    sandbox.subscribe(events)
    yield sandbox, events
    await sandbox.aclose()
    pool.close()


def row(sock, state: str, *, inode: int | None = None, expires_ms=None) -> KernelSocket:
    """The kernel's row of `sock`: its own inode unless told (0: a record of the
    kernel's own, as an orphaned or time-wait connection has)."""
    return KernelSocket(
        "tcp",
        state,
        *sock.local,
        *(sock.remote or ("0.0.0.0", 0)),  # noqa: S104 (a listener's row names no peer)
        0,
        0,
        sock.inode if inode is None else inode,
        expires_ms,
    )


async def close(sandbox, events, sock) -> None:
    """Close it, and wait until the program has let go (its transport closed)."""
    await sandbox.close(sock.id)
    await events.wait_for(row_is(sock.id, closed_by_program=True))


def dump(sandbox, *rows: KernelSocket) -> None:
    """A dump begun now, after every change the engine has made, applied."""
    assert apply_kernel(sandbox, list(rows), kernel.CHANGES.now)


async def accepted_from(sandbox, events, client):
    """The server's socket of `client`'s connection."""
    event = await events.wait_for(
        lambda e: (
            e["type"] == "socket"
            and e["socket"]["role"] == "accepted"
            and e["socket"]["remote"] == {"ip": client.local[0], "port": client.local[1]}
        )
    )
    return sandbox.sockets[event["socket"]["id"]]


def shown(events, sock) -> dict:
    """The socket's row as the page last got it."""
    rows = [e["socket"] for e in events.items if e["type"] == "socket"]
    return [r for r in rows if r["id"] == sock.id][-1]


def gone(events, sock) -> dict:
    [event] = [e for e in events.items if e["type"] == "socket.gone" and e["socket"] == sock.id]
    return event


def eof_at(sock):
    return lambda e: e["type"] == "data" and e.get("eof") and e["socket"] == sock.id


async def test_it_keeps_closed_sockets_the_kernel_still_holds_until_it_drops_them(sandbox):
    sandbox, events = sandbox
    listener = await sandbox.tcp_listen("server", 3000)
    client = await sandbox.tcp_connect("laptop", "server", 3000)
    accepted = await accepted_from(sandbox, events, client)
    # A second connection whose client only shuts down: its program keeps the socket.
    held = await sandbox.tcp_connect("laptop", "server", 3000)
    held_peer = await accepted_from(sandbox, events, held)
    listening, established = row(listener, "LISTEN"), row(held, "ESTABLISHED")
    peer_established = row(held_peer, "ESTABLISHED")

    await close(sandbox, events, client)  # active close: this side ends in TIME_WAIT
    orphan = row(client, "FIN_WAIT2", inode=0)  # closed: the kernel's own record now
    dump(sandbox, listening, orphan, row(accepted, "CLOSE_WAIT"), established, peer_established)
    assert shown(events, client)["state"] == "FIN_WAIT2"
    assert shown(events, client)["closed_by_program"] is True
    await close(sandbox, events, accepted)
    time_wait = row(client, "TIME_WAIT", inode=0, expires_ms=TIME_WAIT_MS)
    dump(sandbox, listening, time_wait, established, peer_established)
    assert shown(events, client)["state"] == "TIME_WAIT"
    assert shown(events, client)["closed_by_program"] is True
    assert gone(events, accepted)["reason"]
    ids = [r["id"] for r in sandbox.snapshot()]
    assert client.id in ids and accepted.id not in ids

    # Shut down first, then the peer closes: the connection is in TIME_WAIT although
    # the program still holds its socket (the kernel keeps it in a record of its own).
    await sandbox.shutdown(held.id)
    await events.wait_for(eof_at(held_peer))
    dump(sandbox, listening, time_wait, row(held, "FIN_WAIT2"), row(held_peer, "CLOSE_WAIT"))
    assert shown(events, held)["state"] == "FIN_WAIT2"
    await close(sandbox, events, held_peer)
    await events.wait_for(eof_at(held))
    held_time_wait = row(held, "TIME_WAIT", inode=0, expires_ms=TIME_WAIT_MS)
    dump(sandbox, listening, time_wait, held_time_wait)
    assert shown(events, held)["state"] == "TIME_WAIT"
    assert shown(events, held)["closed_by_program"] is False

    # The kernel drops its time-wait records after 60 s: the closed socket's row goes by
    # itself, and the socket its program still holds is CLOSE, in no table of the kernel's.
    dump(sandbox, listening)
    assert "TIME_WAIT" in gone(events, client)["reason"]
    assert shown(events, held)["state"] == "CLOSE"
    assert shown(events, held)["closed_by_program"] is False
