"""The kernel's view of a sandbox's sockets: states, queues and TIME_WAIT countdowns
taken from a dump of its socket table (playground.host.kernel), no Django.

Rules (the numbered rules are playground.sandbox.sandbox's):
- A dump is older than any change the engine made after it began (kernel.CHANGES):
  it says nothing of a socket changed since, not even by leaving it out; the next
  dump, which the change kicked, does.
- A row finds its socket by inode; a row without one (a time-wait record of the
  kernel's own) by its 4-tuple, through the SocketTable.
- A lingering socket absent from a dump that began after the program let go is gone:
  the kernel dropped it. Reading and applying a dump grows nothing (rule 4).
"""

import time
from typing import TYPE_CHECKING

from playground.host.kernel import KernelSocket

if TYPE_CHECKING:
    from playground.sandbox.sandbox import Sandbox


def apply_kernel(sandbox: "Sandbox", rows: list[KernelSocket], begun: int) -> bool:
    """Take states and queues from a kernel dump begun when kernel.CHANGES was at
    `begun`. A socket the engine changed since (made, connected, closed ...) is newer
    than the dump's row of it, or than its absence: the dump says nothing of it, and
    the next one (the change kicked it) does. False when it said nothing of some
    socket for that reason, so the next dump is applied even if it reads the same."""
    if sandbox.closed:
        return True
    table = sandbox.table
    by_inode = {s.inode: s for s in table.sockets.values() if s.inode}
    seen: set[tuple] = set()
    found: set[str] = set()
    for row in rows:
        sock = by_inode.get(row.inode) if row.inode else table.lingering.get(row.four_tuple)
        if sock is None and not row.inode:
            # A FIN that comes after ours moves the connection to a time-wait record
            # of the kernel's own (no inode), while the program still holds its socket,
            # now CLOSED; the connection's state is that record's, as `ss` shows it.
            sock = table.connection(row.four_tuple)
        if sock is None or sock.generation > begun:
            continue
        found.add(sock.id)
        if not row.inode:
            seen.add(row.four_tuple)
        changed = (sock.state, sock.recv_queue, sock.send_queue) != (
            row.state,
            row.recv_queue,
            row.send_queue,
        )
        sock.state, sock.recv_queue, sock.send_queue = row.state, row.recv_queue, row.send_queue
        if row.expires_ms is None:
            sock.expires_at = None
        else:
            # The countdown is sent when the row changes; the client counts it down.
            changed = changed or sock.expires_at is None
            sock.expires_at = time.monotonic() + row.expires_ms / 1000
        if changed or sock.state_source != "kernel":
            sock.state_source = "kernel"
            sandbox._changed(sock)
    for sock in table.sockets.values():
        # Seen by an earlier dump, so it existed when this one began: absent now, it is
        # in no table of the kernel's (its time-wait record expired): CLOSE.
        if (
            sock.protocol == "tcp"
            and sock.remote
            and sock.state_source == "kernel"
            and sock.id not in found
            and sock.state != "CLOSE"
            and sock.generation <= begun
        ):
            sock.state, sock.recv_queue, sock.send_queue = "CLOSE", 0, 0
            sandbox._changed(sock)
    for key, sock in list(table.lingering.items()):
        # Absent from a dump that began after the program let go: the kernel dropped it.
        if key not in seen and sock.generation <= begun:
            sandbox._gone(
                table.release(key), f"the kernel dropped it after {sock.state or 'closing'}"
            )
    return all(s.generation <= begun for s in [*table.sockets.values(), *table.lingering.values()])
