"""A network namespace of the playground's own, and the helper that makes sockets in it.

Rules:
- Sandbox sockets live in a network namespace that holds nothing else: the
  host's services, its database and Redis are not refused there but absent, the
  kernel table read there lists only sandbox sockets, and a sandbox's TIME_WAITs
  never touch the host's ports. The sandbox's own rules (playground.sandbox.sandbox)
  stay as a second wall.
- The namespace belongs to a small helper process (`python -m playground.host.netns`)
  that unshares a user and a network namespace (no privilege needed where user
  namespaces are allowed), brings its loopback device up and then only creates
  sockets on request: IPv4 TCP and UDP sockets, NETLINK_SOCK_DIAG sockets and
  AF_PACKET sockets of protocol 0, which receive nothing until the server has
  attached its filter and bound them (playground.capture). It binds and
  connects nothing itself. Each socket is handed back over a Unix
  socket (SCM_RIGHTS) and keeps the namespace it was created in, so the server
  binds, listens, connects and accepts on it with asyncio as usual.
- One namespace per server process: addresses are unique inside it.
- The namespace has hash tables of its own where the kernel allows it (Linux
  5.19 and later for TCP, 6.2 for UDP): reading its table (sock_diag) walks
  every bucket of its TCP hash, and the host's is sized for the whole machine
  (262,144 buckets on a 24 GiB host), which made each read walk them all.
- The helper is supervised: when it dies, `on_lost` is called on the event loop
  (the registry resets the sandboxes, whose sockets live in the lost namespace)
  and `start` makes a new one.
- Where no namespace can be made (not Linux, user namespaces switched off), or
  it is switched off, `available` is False with the reason, and sockets are made
  in the server's own namespace as before, except packet sockets: those are
  only ever made in the namespace (`packet_socket`), so the server never
  captures the host's own traffic.
"""

import asyncio
import contextlib
import ctypes
import errno
import fcntl
import os
import socket
import struct
import subprocess
import sys
import threading
from collections.abc import Callable

CLONE_NEWUSER, CLONE_NEWNET = 0x10000000, 0x40000000
SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP = 0x8913, 0x8914, 0x1
NETLINK_SOCK_DIAG = 4
# Absent on other systems; distinct placeholders keep the request table unambiguous.
AF_NETLINK = getattr(socket, "AF_NETLINK", -1)
AF_PACKET = getattr(socket, "AF_PACKET", -2)
_IFREQ = struct.Struct("16sH14x")
# Read by the kernel when a network namespace is made, from the namespace it is made
# in: the size of the new one's own TCP and UDP hash tables (0, the default: the
# host's). Big enough for every socket of a full server process.
CHILD_HASH_ENTRIES = {"tcp_child_ehash_entries": 8192, "udp_child_hash_entries": 4096}
# What the helper may make, by request byte: (family, type, protocol).
KINDS = {
    b"t": (socket.AF_INET, socket.SOCK_STREAM, 0),
    b"u": (socket.AF_INET, socket.SOCK_DGRAM, 0),
    b"d": (AF_NETLINK, socket.SOCK_RAW, NETLINK_SOCK_DIAG),
    # Protocol 0: it receives nothing until bound with one (playground.capture).
    b"p": (AF_PACKET, socket.SOCK_RAW, 0),
}
_REQUESTS = {value: key for key, value in KINDS.items()}
READY = b"ready"
START_TIMEOUT = 10


class NamespaceLost(OSError):
    """The helper died; sockets cannot be made until it is restarted."""


class Namespace:
    def __init__(self, enabled: bool = True, own_tables: bool = True):
        self.enabled = enabled
        self.own_tables = own_tables  # False only to measure the difference (bench/)
        self.available = False
        self.reason = "" if enabled else "network namespaces are switched off"
        self.on_lost: Callable[[], None] | None = None
        self.created = 0  # sockets handed over, for figures
        self._process: subprocess.Popen | None = None
        self._channel: socket.socket | None = None
        self._lock = threading.Lock()  # one request at a time, from any thread
        # The loop `on_lost` runs on; set by the owner, since `start` may run in a thread.
        self.loop: asyncio.AbstractEventLoop | None = None

    def start(self) -> bool:
        """Start the helper (blocking, a few milliseconds); False with `reason` if it cannot."""
        if not self.enabled:
            return False
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            process = subprocess.Popen(  # noqa: S603 - our own module, no shell
                [sys.executable, "-m", "playground.host.netns", str(theirs.fileno())]
                + ([] if self.own_tables else ["--host-tables"]),
                pass_fds=[theirs.fileno()],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                # Out of the server's process group: a supervisor's SIGTERM to the group
                # (honcho, Ctrl-C) must not end the helper while the server drains; it
                # ends when the server closes its channel, or dies.
                start_new_session=True,
            )
        finally:
            theirs.close()
        ours.settimeout(START_TIMEOUT)
        try:
            first = ours.recv(512)
        except OSError as exc:
            first = f"no answer ({exc})".encode()
        if first != READY:
            ours.close()
            process.kill()
            process.wait()
            self.available = False
            self.reason = "no network namespace could be made: " + (
                first.decode(errors="replace") or "the helper exited"
            )
            return False
        ours.settimeout(None)
        self._process, self._channel = process, ours
        self.available, self.reason = True, ""
        threading.Thread(target=self._watch, args=(process,), daemon=True).start()
        return True

    def _watch(self, process: subprocess.Popen) -> None:
        process.wait()
        if process is not self._process:
            return  # stopped on purpose
        self.available = False
        self.reason = f"the network namespace helper exited ({process.returncode})"
        loop = self.loop
        if self.on_lost is not None and loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(self.on_lost)

    def packet_socket(self) -> socket.socket:
        """A packet socket of the namespace, bound to nothing yet: it sees no packet
        until bound. NamespaceLost where there is no namespace: never one of the host's."""
        if not self.enabled or not self.available:
            raise NamespaceLost(errno.ENETDOWN, self.reason or "no network namespace")
        return self.socket(AF_PACKET, socket.SOCK_RAW, 0)

    def socket(self, family: int, kind: int, proto: int = 0) -> socket.socket:
        """A new socket in the namespace, or in this process's own without one (never a
        packet socket: see `packet_socket`)."""
        if not self.enabled:
            if family == AF_PACKET:
                raise ValueError("packet sockets are made only in the playground's namespace")
            return socket.socket(family, kind, proto)
        request = _REQUESTS.get((family, kind, proto))
        if request is None:
            raise ValueError("the namespace helper does not make that kind of socket")
        with self._lock:
            if not self.available or self._channel is None:
                raise NamespaceLost(errno.ENETDOWN, "the playground's network is restarting")
            try:
                self._channel.send(request)
                message, fds, _, _ = socket.recv_fds(self._channel, 64, 1)
            except OSError as exc:
                raise NamespaceLost(
                    errno.ENETDOWN, f"the namespace helper is gone ({exc})"
                ) from None
        if fds and message == b"ok":
            self.created += 1
            return socket.socket(fileno=fds[0])
        if message == b"ok":  # made, but this process had no descriptor free to take it
            raise OSError(errno.EMFILE, os.strerror(errno.EMFILE))
        for fd in fds:
            os.close(fd)
        if message.startswith(b"e"):
            code = int(message[1:] or errno.EIO)
            raise OSError(code, os.strerror(code))
        raise NamespaceLost(errno.ENETDOWN, "the namespace helper is gone")

    def stop(self) -> None:
        process, self._process = self._process, None
        self.available = False
        if self._channel is not None:
            self._channel.close()  # the helper reads end-of-file and exits
            self._channel = None
        if process is not None:
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    @property
    def helper_pid(self) -> int | None:
        """The helper's process id (its namespace is /proc/<pid>/ns/net), while it runs."""
        return self._process.pid if self._process is not None else None

    def kill_helper(self) -> None:
        """Kill the helper as a crash would (for tests and drills)."""
        if self._process is not None:
            self._process.kill()


# The helper process ---------------------------------------------------------------


def _unshare(flags: int = CLONE_NEWUSER | CLONE_NEWNET) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(flags) != 0:
        code = ctypes.get_errno()
        raise OSError(code, f"unshare: {os.strerror(code)}")


def _own_hash_tables() -> None:
    """Move into a namespace made from this one with hash tables of its own, where the
    kernel knows how (otherwise stay, with the host's tables: slower reads, same rows)."""
    asked = False
    for name, entries in CHILD_HASH_ENTRIES.items():
        with contextlib.suppress(OSError):  # an older kernel: no such setting
            with open(f"/proc/sys/net/ipv4/{name}", "w") as setting:
                setting.write(str(entries))
            asked = True
    if asked:
        with contextlib.suppress(OSError):  # refused: this namespace does as well
            _unshare(CLONE_NEWNET)  # the first namespace, now empty, goes with it


def _loopback_up() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        flags = _IFREQ.unpack(fcntl.ioctl(sock, SIOCGIFFLAGS, _IFREQ.pack(b"lo", 0)))[1]
        fcntl.ioctl(sock, SIOCSIFFLAGS, _IFREQ.pack(b"lo", flags | IFF_UP))


def serve(channel: socket.socket, own_tables: bool = True) -> None:
    try:
        _unshare()
        if own_tables:
            _own_hash_tables()
        _loopback_up()
    except (OSError, AttributeError) as exc:
        channel.send(str(exc).encode()[:500])
        return
    channel.send(READY)
    while True:
        request = channel.recv(16)
        if not request:
            return  # the server closed its end, or died
        kind = KINDS.get(request)
        if kind is None:
            channel.send(b"e%d" % errno.EINVAL)
            continue
        try:
            sock = socket.socket(*kind)
        except OSError as exc:
            channel.send(b"e%d" % (exc.errno or errno.EIO))
            continue
        with sock:
            socket.send_fds(channel, [b"ok"], [sock.fileno()])


if __name__ == "__main__":
    serve(socket.socket(fileno=int(sys.argv[1])), own_tables="--host-tables" not in sys.argv)
