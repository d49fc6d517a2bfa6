"""What one read of the sandboxes' kernel table costs, with the namespace's own hash
tables (the default, Linux 5.19 and later) and with the host's.

sock_diag walks every bucket of the namespace's TCP hash table, however few sockets it
holds, and the host's is sized for the whole machine. The same sockets (a listener and
`--connections` connections with their accepted ends) are made in each namespace, then
the table is read `--reads` times. Run it with `.venv/bin/python -m bench.kernel_read`.
"""

import argparse
import contextlib
import socket
import time
from pathlib import Path

from playground.host.addresses import check_range
from playground.host.kernel import KernelTable
from playground.host.netns import Namespace

RANGE = "127.79.0.0/16"


def read_cost(own_tables: bool, connections: int, reads: int) -> tuple[float, int]:
    """Microseconds per read, and the rows each read gives."""
    namespace = Namespace(own_tables=own_tables)
    if not namespace.start():
        raise SystemExit(namespace.reason)
    table = KernelTable(check_range(RANGE), True, namespace)
    with contextlib.ExitStack() as held:
        held.callback(namespace.stop)
        held.callback(table.close)
        if not table.open():
            raise SystemExit(table.reason)
        listener = held.enter_context(namespace.socket(socket.AF_INET, socket.SOCK_STREAM))
        listener.bind(("127.79.0.1", 3000))
        listener.listen(connections)
        for _ in range(connections):
            client = held.enter_context(namespace.socket(socket.AF_INET, socket.SOCK_STREAM))
            client.connect(("127.79.0.1", 3000))
            held.enter_context(listener.accept()[0])
        rows = len(table.dump())
        started = time.perf_counter()
        for _ in range(reads):
            table.dump()
        return (time.perf_counter() - started) / reads * 1e6, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=100)
    parser.add_argument("--reads", type=int, default=2000)
    args = parser.parse_args()
    host = Path("/proc/sys/net/ipv4/tcp_ehash_entries").read_text().strip()
    own, rows = read_cost(True, args.connections, args.reads)
    shared, _ = read_cost(False, args.connections, args.reads)
    print(f"one read of the table ({rows} sockets), {args.reads} reads each:")
    print(f"  the namespace's own hash tables: {own:7.1f} us")
    print(f"  the host's ({host} TCP buckets):  {shared:7.1f} us   ({shared / own:.1f}x)")


if __name__ == "__main__":
    main()
