"""Loads for the playground benchmark: what a busy host and a hostile visitor do.

- `HostSockets`: thousands of unrelated TCP sockets open on the host (127.0.0.1),
  held by child processes (a process may hold at most RLIMIT_NOFILE of them).
- `slow_readers`: WebSockets of one session that never read, with tiny receive
  buffers, while another WebSocket of the session makes the sandbox busy.
- `namespace_dump_cost`: one kernel dump in a namespace as full as a server's.
- `helper_cost`: what making one socket through the namespace helper costs.
"""

import asyncio
import socket
import subprocess
import sys
import time

from playground.host.addresses import check_range
from playground.host.kernel import KernelTable
from playground.host.netns import Namespace
from playground.wire.limits import EngineConfig
from tests.support.raw_websocket import RawWebSocket

PER_PROCESS = 4000  # sockets per child, well under a 20,000 descriptor limit

_HOLDER = """
import socket, sys
pairs = int(sys.argv[1])
listener = socket.socket()
listener.bind(("127.0.0.1", 0))
listener.listen(pairs)
held = [listener]
for _ in range(pairs):
    client = socket.create_connection(listener.getsockname())
    accepted, _ = listener.accept()
    held += [client, accepted]
print("ready", flush=True)
sys.stdin.read()
"""


class HostSockets:
    def __init__(self, count: int):
        self.count = count
        self.children: list[subprocess.Popen] = []

    def __enter__(self):
        left = self.count
        while left > 0:
            pairs = min(PER_PROCESS, left) // 2
            child = subprocess.Popen(  # noqa: S603 - our own script
                [sys.executable, "-c", _HOLDER, str(pairs)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            self.children.append(child)
            left -= 2 * pairs + 1
        for child in self.children:
            if child.stdout.readline().strip() != "ready":
                raise RuntimeError("a host-load process failed")
        return self

    def __exit__(self, *exc):
        for child in self.children:
            child.stdin.close()
            child.wait()


def _closed(readers: list[RawWebSocket], within: float) -> int:
    """How many the server has ended (read to end-of-file, or reset) within `within` s."""
    deadline = time.monotonic() + within
    closed = 0
    for ws in readers:
        try:
            while True:
                ws.sock.settimeout(max(0.05, deadline - time.monotonic()))
                if not ws.sock.recv(1 << 16):
                    closed += 1
                    break
        except TimeoutError:
            continue
        except OSError:
            closed += 1  # reset: dropped at the TCP level
    return closed


async def slow_readers(server, cookie: str, count: int, drive, seconds: float, rss) -> dict:
    """Open `count` WebSockets of one session that never read; `drive(seconds)` keeps
    the sandbox busy; then how much the server grew and how many it closed."""
    before = rss()

    def open_all():
        return [
            RawWebSocket(
                server.host, server.port, "/ws/playground/", server.url, cookie, receive_buffer=4096
            )
            for _ in range(count)
        ]

    readers = await asyncio.to_thread(open_all)
    await drive(seconds)
    grown = rss() - before
    closed = await asyncio.to_thread(_closed, readers, 15)
    for ws in readers:
        ws.close()
    return {"grown_kib": grown, "closed": closed, "opened": count}


def namespace_dump_cost(sandboxes: int, dumps: int) -> tuple[list[float], int]:
    """One kernel dump in a namespace holding `sandboxes` x 4 sockets, as a server's."""
    namespace = Namespace()
    if not namespace.start():
        raise RuntimeError(namespace.reason)
    held = []
    try:
        for n in range(sandboxes):
            ip = f"127.77.{n // 250}.{n % 250 + 1}"
            listener = namespace.socket(socket.AF_INET, socket.SOCK_STREAM)
            listener.bind((ip, 3000))
            listener.listen()
            client = namespace.socket(socket.AF_INET, socket.SOCK_STREAM)
            client.bind((ip, 0))  # as a sandbox does: from the device's own address
            client.connect((ip, 3000))
            udp = namespace.socket(socket.AF_INET, socket.SOCK_DGRAM)
            udp.bind((ip, 0))
            held += [listener, client, listener.accept()[0], udp]
        table = KernelTable(check_range(EngineConfig.address_range), True, namespace)
        table.open()
        costs, rows = [], 0
        for _ in range(dumps):
            started = time.perf_counter()
            rows = len(table.dump())
            costs.append(time.perf_counter() - started)
        table.close()
        return costs, rows
    finally:
        for sock in held:
            sock.close()
        namespace.stop()


def helper_cost(count: int) -> tuple[float, float]:
    """Microseconds per TCP socket: through the namespace helper, and made directly."""
    namespace = Namespace()
    if not namespace.start():
        raise RuntimeError(namespace.reason)
    try:
        started = time.perf_counter()
        for _ in range(count):
            namespace.socket(socket.AF_INET, socket.SOCK_STREAM).close()
        through = (time.perf_counter() - started) / count * 1e6
    finally:
        namespace.stop()
    started = time.perf_counter()
    for _ in range(count):
        socket.socket().close()
    direct = (time.perf_counter() - started) / count * 1e6
    return through, direct
