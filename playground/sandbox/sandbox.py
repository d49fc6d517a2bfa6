"""A visitor's sandbox: real operating-system sockets on loopback addresses of its own.

Plain asyncio, no Django. The consumer translates JSON to the methods here and
the events emitted here back to JSON.

Safety rules (each has a test in tests/test_playground_safety.py):
0. The first wall: every socket is made through `make_socket`, which the registry
   points at the playground's network namespace (playground.host.netns), where the
   host's services are absent; the rules below hold inside it as a second wall,
   and are the only one where no namespace can be made.
1. Binds only ever use the sandbox's own device addresses, from the playground
   range: never 0.0.0.0, 127.0.0.1 or a non-loopback address. Visitors name
   devices ("laptop", "server"), never IP addresses or host names; a device
   name is looked up in this sandbox's own table and nowhere else.
2. A TCP connect or a UDP send goes only to an (address, port) held open at
   that moment by a socket of this same sandbox. Anything else is refused
   before a packet leaves, so a service of the host bound to 0.0.0.0 (this
   server, a database, Redis) is unreachable even through the sandbox's own
   addresses, and so is every other sandbox. Connections and datagrams that
   arrive from outside the sandbox are dropped on arrival. One exception, where
   the sandbox lives in the playground's own network namespace (`own_network`):
   a datagram (udp.sendto, or a UDP socket connected with udp.connect) may go to
   any port of the sandbox's own devices, bound or not. Nothing but sandbox
   sockets lives there, each bound to its own sandbox's addresses (rule 1), so
   such a datagram reaches this sandbox's socket or none, and the kernel answers
   it as it answers any datagram to a port with no socket: with an ICMP "port
   unreachable" that a connected UDP socket reports as ECONNREFUSED.
3. Limits (sockets per sandbox, send size, received data kept per socket, the
   descriptors the site keeps for itself) are enforced here; hitting one
   raises SandboxError naming it. The registry and the consumer enforce the
   others. A socket's place is reserved before the first await of the command
   that makes it and given back if the command fails, so concurrent commands
   can never exceed sockets_per_sandbox between them.
4. Nothing a visitor sends can grow server memory without bound: received data
   is capped per socket (older data dropped and counted) and sockets are capped
   per sandbox, and sockets that only the kernel still holds (TIME_WAIT) are
   capped as well. A `data` event carries at most READ_BYTES of what was read,
   so it stays well under the largest WebSocket message the server may send.
   A socket that reads only when told (`auto_read` off) leaves what arrives in
   the kernel's receive queue, which the kernel bounds; a send that the kernel
   cannot take at once (the peer does not read, its queue is full) is refused
   with EAGAIN rather than buffered by the server, and a listener that accepts
   only when told keeps at most its backlog (<= listen_backlog) of connections
   queued in the kernel.
5. Data to send must be valid Unicode text (a lone surrogate is `bad_data`).
6. A reset (`tcp_reset`) closes the socket with SO_LINGER {on, 0}, so the kernel
   sends an RST instead of a FIN; its peer's socket is reported gone with
   ECONNRESET. Neither lingers: the kernel keeps no state for a reset connection.
7. No command waits on the network for long: a connect whose SYN goes unanswered
   (the listener's accept queue is full, so the kernel dropped it) is answered
   after CONNECT_ANSWER_SECONDS with the client in SYN_SENT, and the row follows
   the kernel from then on (connected, or gone after `syn_retries` retransmissions
   with ETIMEDOUT); `recv` and `accept` take only what the kernel already holds
   (else EAGAIN), as on a non-blocking socket.

8. A reset starts the sandbox over: every socket closes, and the connections only the
   kernel still holds (TIME_WAIT ...) are ended (`end_lingering`), so no port of it stays
   taken. Where the kernel will not end them, a row that still takes a port stays, with
   the time it has left (`expires_in`), until the kernel drops it.

The sandbox's packets are watched by playground.capture, which reads `sockets`,
`lingering`, `connecting` and `departed` to name the sockets each packet belongs to.
"""

import asyncio
import contextlib
import itertools
import math
import os
import resource
import select
import socket
import struct
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from playground.host.kernel import CHANGES, KernelSocket
from playground.host.netns import NamespaceLost
from playground.wire import events, explain
from playground.wire.limits import FIRST_PORT, LAST_PORT, Limits

Sink = Callable[[dict], None]
# At most this much received data goes in one `data` event: even text that JSON
# escapes at six bytes a character stays under the outgoing message cap.
READ_BYTES = 64 * 1024
# How long a connect's answer waits for the handshake. Under the first SYN
# retransmission (1 s), so a SYN answered at once is in the answer, and a dropped one
# leaves the client in SYN_SENT, to be followed in its row.
CONNECT_ANSWER_SECONDS = 0.5
# A `recv` starts only on a socket the kernel reports readable; this bounds the wait
# for the event loop to read it, in case another reader took what was there.
RECV_SECONDS = 1.0


class SandboxError(Exception):
    def __init__(self, code: str, message: str, **extra):
        super().__init__(message)
        self.code = code
        self.message = message
        self.extra = extra


@dataclass(eq=False)
class SandboxSocket:
    id: str
    device: str
    protocol: str  # tcp | udp
    role: str  # listener | client | accepted | udp
    local: tuple[str, int]
    remote: tuple[str, int] | None = None
    state: str = ""
    state_source: str = "engine"
    recv_queue: int = 0
    send_queue: int = 0
    bytes_sent: int = 0
    bytes_received: int = 0
    received: bytearray = field(default_factory=bytearray)
    received_dropped: int = 0
    created: float = field(default_factory=time.time)
    closed_by_program: bool = False
    # When the engine last changed it (kernel.CHANGES): a kernel row read before is older.
    generation: int = 0
    expires_at: float | None = None  # monotonic time the kernel drops its TIME_WAIT record
    write_shut: bool = False
    peer_finished: bool = False
    reset: bool = False  # closed by tcp_reset (an RST)
    listener: str | None = None
    # Whether the program reads what arrives by itself, or only on `recv`; for a
    # listener, what the sockets it accepts do.
    auto_read: bool = True
    auto_accept: bool | None = None  # a listener's: accepts by itself, or only on `accept`
    inode: int = 0
    transport: asyncio.BaseTransport | None = None
    server: asyncio.AbstractServer | None = None
    # The socket itself: a listener that accepts only when told, a UDP socket (to connect).
    raw: socket.socket | None = None
    connecting: asyncio.Task | None = None  # a connect still waiting for its handshake
    reading: asyncio.Future | None = None  # a `recv` waiting for the event loop's read
    sending: bool = False  # a datagram being sent: an error the kernel reports is its
    send_error: OSError | None = None

    def row(self) -> dict:
        return {
            "id": self.id,
            "device": self.device,
            "protocol": self.protocol,
            "role": self.role,
            "local": {"ip": self.local[0], "port": self.local[1]},
            "remote": {"ip": self.remote[0], "port": self.remote[1]} if self.remote else None,
            "state": self.state,
            "state_source": self.state_source,
            "recv_queue": self.recv_queue,
            "send_queue": self.send_queue,
            "bytes_sent": self.bytes_sent,
            "bytes_received": self.bytes_received,
            "received_dropped": self.received_dropped,
            "created": datetime.fromtimestamp(self.created, UTC).isoformat(),
            "closed_by_program": self.closed_by_program,
            "write_shutdown": self.write_shut,
            "peer_finished": self.peer_finished,
            "listener": self.listener,
            "auto_read": self.auto_read,
            "auto_accept": self.auto_accept,
            "expires_in": (
                None
                if self.expires_at is None
                else round(max(0.0, self.expires_at - time.monotonic()), 1)
            ),
        }


class _Stream(asyncio.Protocol):
    def __init__(self, sandbox: "Sandbox", sock: SandboxSocket | None = None):
        self.sandbox = sandbox
        self.sock = sock

    def connection_made(self, transport):
        if self.sock is None:  # accepted by a listener
            self.sock = self.sandbox._accepted(transport, self)
        else:
            self.sock.transport = transport
        if self.sock is not None and not self.sock.auto_read:
            # Before the transport's first read, which comes on a later loop iteration.
            transport.pause_reading()

    def data_received(self, data):
        # One read of the socket (one recv() of the kernel's queue, at most the
        # transport's max_size). Reported in slices rather than read into a buffer of
        # that size: a buffer per socket would cost READ_BYTES for every connection.
        if self.sock is not None:
            for start in range(0, len(data), READ_BYTES):
                self.sandbox._received(self.sock, data[start : start + READ_BYTES])
            self.sandbox._read_once(self.sock, len(data))

    def eof_received(self):
        if self.sock is not None:
            self.sandbox._peer_finished(self.sock)
            self.sandbox._read_once(self.sock, 0)
        return True  # stay half open: the program may still send (CLOSE_WAIT)

    def connection_lost(self, exc):
        if self.sock is not None:
            self.sandbox._lost(self.sock, exc)


class _Datagram(asyncio.DatagramProtocol):
    def __init__(self, sandbox: "Sandbox", sock: SandboxSocket):
        self.sandbox = sandbox
        self.sock = sock

    def connection_made(self, transport):
        self.sock.transport = transport
        if not self.sock.auto_read:
            transport.pause_reading()

    def datagram_received(self, data, addr):
        if self.sandbox._datagram(self.sock, data, addr):
            self.sandbox._read_once(self.sock, len(data))

    def error_received(self, exc):
        # An error the kernel holds for the socket (an ICMP "port unreachable" for a
        # connected one), handed to whichever call on it comes next.
        self.sandbox._socket_error(self.sock, exc)

    def connection_lost(self, exc):
        self.sandbox._lost(self.sock)


class Sandbox:
    def __init__(
        self,
        devices: dict[str, str],
        limits: Limits,
        kernel_states: bool = False,
        on_activity: Callable[[], None] | None = None,
        make_socket: Callable[[int, int], socket.socket] = socket.socket,
        own_network: bool = False,
    ):
        # Where sockets are made: the playground's network namespace (playground.host.netns).
        self.make_socket = make_socket
        # Whether they live in that namespace, where nothing else listens (rule 2).
        self.own_network = own_network
        self.devices = dict(devices)
        self.device_ips = set(self.devices.values())
        self._device_of = {ip: name for name, ip in self.devices.items()}
        self.limits = limits
        self.kernel_states = kernel_states
        self.sockets: dict[str, SandboxSocket] = {}
        # Sockets the program closed but the kernel still holds, by 4-tuple.
        self.lingering: dict[tuple, SandboxSocket] = {}
        # Client sockets whose connect is under way, by 4-tuple: the id they will have
        # (their handshake's packets name it before the row exists).
        self.connecting: dict[tuple, str] = {}
        # The ids of the last connections gone, by 4-tuple (at most sockets_per_sandbox).
        self.departed: dict[tuple, str] = {}
        self._sinks: list[Sink] = []
        self._ids = itertools.count(1)
        self._on_activity = on_activity or (lambda: None)
        self.created = time.time()
        self.closed = False
        # Places reserved by commands still in progress (see rule 3).
        self._pending = 0
        # Sees every event after the sinks do, and every command's answer (playground.labs.lab.Lab).
        self.lab = None
        # Its packets, where they can be watched (playground.capture.sandbox.SandboxCapture).
        self.capture = None
        # Ends the connections at these addresses that only the kernel holds; True when
        # none is left (playground.host.kernel.KernelWatcher.destroy). None: it cannot.
        self.end_lingering: Callable[[set[str]], Awaitable[bool]] | None = None
        self._ending: asyncio.Future | None = None  # a reset's end_lingering under way

    # Events ------------------------------------------------------------

    def subscribe(self, sink: Sink) -> None:
        self._sinks.append(sink)

    def unsubscribe(self, sink: Sink) -> None:
        if sink in self._sinks:
            self._sinks.remove(sink)

    def emit(self, event: dict) -> None:
        """To every WebSocket of the sandbox, then to its lab."""
        for sink in list(self._sinks):
            sink(event)
        if self.lab is not None:
            self.lab.seen(event)

    def _changed(self, sock: SandboxSocket) -> None:
        self.emit(events.socket(sock.row()))

    def _gone(self, sock: SandboxSocket, reason: str) -> None:
        if sock.protocol == "tcp" and sock.remote:
            # Its last packets (an RST, the final ACK) may be read after it went.
            self.departed.pop((*sock.local, *sock.remote), None)
            self.departed[(*sock.local, *sock.remote)] = sock.id
            if len(self.departed) > self.limits.sockets_per_sandbox:
                del self.departed[next(iter(self.departed))]
        self.emit(events.gone(sock.id, reason))

    def snapshot(self) -> list[dict]:
        return [s.row() for s in [*self.sockets.values(), *self.lingering.values()]]

    def kept_data(self) -> list[dict]:
        return [
            {"socket": s.id, "data": s.received.decode("utf-8", "replace")}
            for s in self.sockets.values()
            if s.received
        ]

    # Lookups -----------------------------------------------------------

    def _ip(self, device) -> str:
        if not isinstance(device, str) or device not in self.devices:
            names = ", ".join(sorted(self.devices))
            raise SandboxError(
                "unknown_device", f"There is no device {device!r} here. Use one of: {names}."
            )
        return self.devices[device]

    def _socket(self, socket_id) -> SandboxSocket:
        sock = self.sockets.get(socket_id) if isinstance(socket_id, str) else None
        if sock is None:
            if socket_id in {s.id for s in self.lingering.values()}:
                raise SandboxError(
                    "socket_closed",
                    f"Socket {socket_id} was closed by the program; only the kernel still "
                    "holds it, so it can no longer be used.",
                )
            raise SandboxError("unknown_socket", f"There is no socket {socket_id!r} here.")
        return sock

    @staticmethod
    def _port(port, pick: bool = True) -> int:
        """A port to bind (`pick`: 0 lets the system pick one) or to reach (0 is no
        destination); the range is playground.wire.limits', which the page reads too."""
        first, last = FIRST_PORT, LAST_PORT
        if isinstance(port, bool) or not isinstance(port, int) or not first <= port <= last:
            if pick and port == 0 and not isinstance(port, bool):
                return port
            privileged = (
                f" Ports 1 to {first - 1} exist too, but on Linux binding one needs the "
                "CAP_NET_BIND_SERVICE privilege, so the sandbox leaves them out."
            )
            raise SandboxError(
                "bad_port",
                f"In this sandbox, ports are whole numbers from {first} to {last}, or 0 to let "
                f"the operating system pick a free one.{privileged}"
                if pick
                else f"Connect or send to a port from {first} to {last}: the port a socket of "
                f"yours is bound to (0 is no port to reach).{privileged}",
            )
        return port

    def _holder(self, ip: str, port: int, protocol: str) -> SandboxSocket | None:
        for sock in self.sockets.values():
            # Accepted sockets share their listener's port; the listener is the holder.
            # A socket the program closed holds nothing, though its transport is closing.
            if (
                sock.protocol == protocol
                and sock.local == (ip, port)
                and sock.role != "accepted"
                and not sock.closed_by_program
            ):
                return sock
        return None

    def _full(self) -> bool:
        return len(self.sockets) + self._pending >= self.limits.sockets_per_sandbox

    @contextlib.contextmanager
    def _place(self):
        """Reserve one socket's place for the command's duration (rule 3).

        Taken synchronously, before the command's first await; the socket,
        once made, is in `sockets` before the place is given back."""
        if self._full():
            raise SandboxError(
                "limit_sockets",
                f"This sandbox already has {len(self.sockets) + self._pending} sockets, its "
                f"limit (sockets_per_sandbox = {self.limits.sockets_per_sandbox}). Close one "
                "first.",
                limit="sockets_per_sandbox",
            )
        self._pending += 1
        try:
            yield
        finally:
            self._pending -= 1

    def _descriptor_room(self, raw: socket.socket) -> None:
        """Refuse a socket that leaves the site fewer than `descriptor_reserve` descriptors.

        The kernel hands out the lowest free descriptor, so a new socket numbered
        n means descriptors 0..n are all in use: past the soft limit minus the
        reserve, pages and WebSockets would be the next to fail with EMFILE."""
        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft != resource.RLIM_INFINITY and raw.fileno() >= soft - self.limits.descriptor_reserve:
            raw.close()
            raise SandboxError(
                "limit_descriptors", explain.descriptors(), limit="descriptor_reserve"
            )

    def _new(self, socket_id: str | None = None, **fields) -> SandboxSocket:
        sock = SandboxSocket(id=socket_id or f"s{next(self._ids)}", **fields)
        sock.generation = CHANGES.stamp()
        self.sockets[sock.id] = sock
        return sock

    def _bind(self, kind: int, ip: str, port: int, reuse: bool = False) -> socket.socket:
        # Rule 1: only this sandbox's own device addresses ever reach bind().
        if ip not in self.device_ips:
            raise SandboxError("not_allowed", "Sockets bind only to this sandbox's devices.")
        try:
            raw = self.make_socket(socket.AF_INET, kind)
        except NamespaceLost:
            raise SandboxError(
                "network_restarting",
                "The playground's network is restarting; your sandbox will be reset in a moment.",
            ) from None
        except OSError as exc:
            raise self._explain(exc, ip, port) from None
        try:
            raw.setblocking(False)
            if reuse:
                raw.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            raw.bind((ip, port))
        except OSError as exc:
            raw.close()
            raise self._explain(exc, ip, port) from None
        return raw

    def _explain(self, exc: OSError, ip: str, port: int) -> SandboxError:
        device = self._device_of.get(ip, ip)
        holder = self._holder(ip, port, "tcp") or self._holder(ip, port, "udp")
        lingering = [s for s in self.lingering.values() if s.local == (ip, port)]
        code, message = explain.os_error(exc, device, ip, port, holder, lingering)
        ends = [s.expires_at for s in lingering if s.expires_at is not None]
        if code == "EADDRINUSE" and holder is None and ends:
            left = math.ceil(max(0.0, max(ends) - time.monotonic()))
            message += f" The kernel keeps it about {left} seconds more (its row counts down)."
        if code == "limit_descriptors":
            return SandboxError(code, message, errno=exc.errno, limit="RLIMIT_NOFILE")
        return SandboxError(code, message, errno=exc.errno)

    # Commands ----------------------------------------------------------

    def _backlog(self, backlog) -> int:
        largest = int(self.limits.listen_backlog)
        if backlog is None:
            return largest
        if not 0 <= backlog <= largest:
            raise SandboxError(
                "limit_listen_backlog",
                f"A backlog is a whole number from 0 to {largest} here (listen_backlog); "
                f"{backlog} is not.",
                limit="listen_backlog",
            )
        return backlog

    async def tcp_listen(
        self,
        device,
        port,
        reuse_address: bool = False,
        backlog: int | None = None,
        auto_accept: bool = True,
        auto_read: bool = True,
    ) -> SandboxSocket:
        ip, port, backlog = self._ip(device), self._port(port), self._backlog(backlog)
        with self._place():
            raw = self._bind(socket.SOCK_STREAM, ip, port, reuse=bool(reuse_address))
            self._descriptor_room(raw)
            loop = asyncio.get_running_loop()
            server = None
            try:
                if auto_accept:
                    server = await loop.create_server(
                        lambda: _Stream(self), sock=raw, backlog=backlog
                    )
                else:
                    raw.listen(backlog)  # connections wait in its accept queue for `accept`
            except OSError as exc:
                raw.close()
                raise self._explain(exc, ip, port) from None
            sock = self._new(
                device=device,
                protocol="tcp",
                role="listener",
                local=raw.getsockname(),
                state="LISTEN",
                auto_read=auto_read,
                auto_accept=auto_accept,
            )
        sock.server, sock.inode = server, os.fstat(raw.fileno()).st_ino
        if server is None:
            sock.raw = raw
        self._touch(sock)
        return sock

    async def tcp_connect(
        self, device, to_device, to_port, auto_read: bool = True
    ) -> SandboxSocket:
        ip = self._ip(device)
        target = (self._ip(to_device), self._port(to_port, pick=False))
        with self._place():
            # Rule 2: only to an address and port that a socket of this sandbox holds.
            if self._holder(*target, "tcp") is None:
                raise SandboxError("ECONNREFUSED", explain.refused(to_device, target), errno=111)
            raw = self._bind(socket.SOCK_STREAM, ip, 0)
            self._descriptor_room(raw)
            # Rule 7: the kernel gives up on an unanswered SYN after this many retries.
            raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_SYNCNT, int(self.limits.syn_retries))
            loop = asyncio.get_running_loop()
            connection = (*raw.getsockname(), *target)
            self.connecting[connection] = socket_id = f"s{next(self._ids)}"
            handshake = loop.create_task(loop.sock_connect(raw, target))
            try:
                await asyncio.wait({handshake}, timeout=CONNECT_ANSWER_SECONDS)
            except BaseException:
                handshake.cancel()
                del self.connecting[connection]
                raw.close()
                raise
            if handshake.done() and handshake.exception() is not None:
                del self.connecting[connection]
                raw.close()
                raise self._explain(handshake.exception(), *target) from None
            sock = self._new(
                socket_id,
                device=device,
                protocol="tcp",
                role="client",
                local=raw.getsockname(),
                remote=target,
                state="ESTABLISHED" if handshake.done() else "SYN_SENT",
                auto_read=auto_read,
            )
            del self.connecting[connection]
        sock.inode = os.fstat(raw.fileno()).st_ino
        if handshake.done():
            await loop.create_connection(lambda: _Stream(self, sock), sock=raw)
        else:
            sock.connecting = loop.create_task(self._handshake(sock, raw, handshake))
        self._touch(sock)
        return sock

    async def _handshake(self, sock: SandboxSocket, raw: socket.socket, handshake) -> None:
        """A connect answered in SYN_SENT (rule 7): its end, connected or given up."""
        try:
            await handshake
        except asyncio.CancelledError:  # closed by the program, or the sandbox went
            raw.close()
            raise
        except OSError as exc:
            raw.close()
            sock.connecting = None
            if not self.closed:
                self._drop(sock, explain.connect_failed(exc, self.limits.syn_retries))
                self._on_activity()
            return
        if self.closed or self.sockets.get(sock.id) is not sock:
            sock.connecting = None
            raw.close()
            return
        sock.generation = CHANGES.stamp()
        if not self.kernel_states:
            sock.state = "ESTABLISHED"
        loop = asyncio.get_running_loop()
        # Still `connecting` until the transport is made: a close meanwhile cancels
        # this, and create_connection closes the transport it was making.
        await loop.create_connection(lambda: _Stream(self, sock), sock=raw)
        sock.connecting = None
        self._touch(sock)

    async def accept(self, socket_id) -> SandboxSocket:
        """Take one connection from a listener's accept queue, as accept() does."""
        listener = self._socket(socket_id)
        if listener.role != "listener":
            raise SandboxError("not_listening", explain.not_listening(listener.id))
        if listener.raw is None:
            raise SandboxError("EAGAIN", explain.accepts_by_itself(listener.id), errno=11)
        with self._place():
            while True:
                try:
                    raw, peer = listener.raw.accept()
                except BlockingIOError:
                    raise SandboxError(
                        "EAGAIN", explain.nothing_to_accept(listener.id), errno=11
                    ) from None
                except OSError as exc:
                    raise self._explain(exc, *listener.local) from None
                if peer[0] in self.device_ips:
                    break
                raw.close()  # Rule 2: from outside the sandbox
            self._descriptor_room(raw)
            sock = self._new(
                device=listener.device,
                protocol="tcp",
                role="accepted",
                local=raw.getsockname(),
                remote=peer,
                state="ESTABLISHED",
                listener=listener.id,
                auto_read=listener.auto_read,
            )
        sock.inode = os.fstat(raw.fileno()).st_ino
        loop = asyncio.get_running_loop()
        await loop.connect_accepted_socket(lambda: _Stream(self, sock), sock=raw)
        self._touch(sock)
        return sock

    async def recv(self, socket_id) -> int:
        """One recv() on a socket that reads only when told: what the kernel holds
        (a TCP socket: what one read takes of its queue; a UDP socket: one datagram).
        The bytes it took (0: the end of the stream, as recv() returns b"")."""
        sock = self._socket(socket_id)
        if sock.role == "listener":
            raise SandboxError(
                "not_connected",
                f"{sock.id} is a listening socket: it receives connections, not data. "
                "Take a connection with accept, then recv on it.",
            )
        if sock.transport is None:
            raise SandboxError("not_connected", explain.still_connecting(sock.id))
        if sock.auto_read:
            raise SandboxError("EAGAIN", explain.reads_by_itself(sock.id), errno=11)
        if sock.protocol == "tcp" and sock.peer_finished:
            return 0  # recv() returns b"" again: the stream has ended
        if sock.reading is not None:
            raise SandboxError("EAGAIN", f"A recv on {sock.id} is already under way.", errno=11)
        # poll, not select: a server process's descriptors pass select's limit of 1024.
        waiting = select.poll()
        waiting.register(sock.transport.get_extra_info("socket").fileno(), select.POLLIN)
        if not waiting.poll(0):  # nothing to read, no end of stream, no error
            raise SandboxError("EAGAIN", explain.nothing_to_read(sock), errno=11)
        sock.reading = asyncio.get_running_loop().create_future()
        sock.transport.resume_reading()
        try:
            async with asyncio.timeout(RECV_SECONDS):
                return await sock.reading
        except TimeoutError:
            raise SandboxError("EAGAIN", explain.nothing_to_read(sock), errno=11) from None
        finally:
            sock.reading = None
            if sock.transport is not None:
                sock.transport.pause_reading()

    async def udp_bind(self, device, port, auto_read: bool = True) -> SandboxSocket:
        ip, port = self._ip(device), self._port(port)
        with self._place():
            raw = self._bind(socket.SOCK_DGRAM, ip, port)
            self._descriptor_room(raw)
        sock = self._new(
            device=device,
            protocol="udp",
            role="udp",
            local=raw.getsockname(),
            state="UNCONN",
            auto_read=auto_read,
        )
        sock.inode, sock.raw = os.fstat(raw.fileno()).st_ino, raw
        loop = asyncio.get_running_loop()
        await loop.create_datagram_endpoint(lambda: _Datagram(self, sock), sock=raw)
        self._touch(sock)
        return sock

    def _datagram_target(self, device: str, target: tuple[str, int]) -> None:
        """Rule 2, for datagrams: a socket of this sandbox holds the target, or the
        target is one of its own devices in the playground's own network."""
        if not self.own_network and self._holder(*target, "udp") is None:
            raise SandboxError("no_receiver", explain.no_udp_receiver(device, target))

    async def udp_connect(self, socket_id, to_device, to_port) -> SandboxSocket:
        """connect() on a UDP socket: no packet is sent; the kernel fixes its peer, drops
        datagrams from any other address and reports ICMP errors to the socket."""
        sock = self._socket(socket_id)
        if sock.protocol != "udp":
            raise SandboxError("wrong_protocol", f"{sock.id} is a TCP socket; use tcp.connect.")
        target = (self._ip(to_device), self._port(to_port, pick=False))
        self._datagram_target(to_device, target)
        try:
            sock.raw.connect(target)
        except OSError as exc:
            raise self._explain(exc, *target) from None
        sock.remote = target
        sock.generation = CHANGES.stamp()
        if not self.kernel_states:
            sock.state = "ESTABLISHED"
        self._touch(sock)
        return sock

    def _payload(self, data) -> bytes:
        if not isinstance(data, str):
            raise SandboxError("bad_data", "Data must be text.")
        try:
            payload = data.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate such as "\ud800" is not text
            raise SandboxError(
                "bad_data", "Data must be valid Unicode text; it holds a lone surrogate."
            ) from None
        if len(payload) > self.limits.send_bytes:
            raise SandboxError(
                "limit_send_bytes",
                f"That is {len(payload):,} bytes; this sandbox sends at most "
                f"{self.limits.send_bytes:,} bytes at a time. Send the rest in another message.",
                limit="send_bytes",
            )
        return payload

    async def udp_sendto(self, socket_id, to_device, to_port, data) -> int:
        sock = self._socket(socket_id)
        if sock.protocol != "udp":
            raise SandboxError("wrong_protocol", f"{sock.id} is a TCP socket; use send.")
        payload = self._payload(data)
        target = (self._ip(to_device), self._port(to_port, pick=False))
        self._datagram_target(to_device, target)
        return self._send_datagram(sock, payload, target)

    def _send_datagram(self, sock: SandboxSocket, payload: bytes, target) -> int:
        # An error the kernel held for the socket comes back from this very call
        # (error_received, during sendto): then it is this send's answer.
        sock.sending = True
        try:
            sock.transport.sendto(payload, target)
        finally:
            sock.sending = False
        error, sock.send_error = sock.send_error, None
        if error is not None:
            raise self._socket_failure(sock, error)
        sock.bytes_sent += len(payload)
        self._touch(sock)
        return len(payload)

    async def send(self, socket_id, data) -> int:
        sock = self._socket(socket_id)
        if sock.protocol == "udp":
            if sock.remote is None:
                raise SandboxError(
                    "wrong_protocol",
                    f"{sock.id} is a UDP socket with no peer: use udp.sendto, or udp.connect "
                    "it first.",
                )
            payload = self._payload(data)
            self._datagram_target(self._device_of[sock.remote[0]], sock.remote)
            return self._send_datagram(sock, payload, sock.remote)
        if sock.role == "listener":
            raise SandboxError(
                "not_connected",
                f"{sock.id} is a listening socket: it only waits for connections. Send on a "
                "connected socket (the client, or the one the listener accepted).",
            )
        payload = self._payload(data)
        if sock.transport is None:
            raise SandboxError("not_connected", explain.still_connecting(sock.id))
        if sock.write_shut:
            raise SandboxError(
                "EPIPE", f"{sock.id} has shut down its sending side, so it cannot send any more."
            )
        if sock.transport.get_write_buffer_size():
            # Rule 4: what the kernel would not take stays with the program, not the server.
            raise SandboxError("EAGAIN", explain.send_buffer_full(sock.id), errno=11)
        sock.transport.write(payload)
        sock.bytes_sent += len(payload)
        self._touch(sock)
        return len(payload)

    async def shutdown(self, socket_id) -> None:
        sock = self._socket(socket_id)
        if sock.protocol != "tcp" or sock.role == "listener":
            raise SandboxError(
                "not_connected", "Only a connected TCP socket has a sending side to shut down."
            )
        if sock.transport is None:
            raise SandboxError("not_connected", explain.still_connecting(sock.id))
        if not sock.write_shut:
            sock.transport.write_eof()
            sock.write_shut = True
            sock.generation = CHANGES.stamp()
            if not self.kernel_states:
                sock.state = "LAST_ACK" if sock.peer_finished else "FIN_WAIT2"
        self._touch(sock)

    async def close(self, socket_id) -> None:
        self._close(self._socket(socket_id))

    async def tcp_reset(self, socket_id) -> None:
        """Abort the connection (rule 6): SO_LINGER {on, 0}, then close, so an RST."""
        sock = self._socket(socket_id)
        if sock.protocol != "tcp":
            raise SandboxError(
                "wrong_protocol", f"{sock.id} is a UDP socket: it has no connection to reset."
            )
        if sock.role == "listener" or sock.transport is None:
            raise SandboxError(
                "not_connected",
                f"{sock.id} has no connection to reset. Reset a connected socket (the client, "
                "or the one the listener accepted).",
            )
        raw = sock.transport.get_extra_info("socket")
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.closed_by_program = sock.reset = True
        sock.generation = CHANGES.stamp()
        sock.transport.abort()  # connection_lost follows, then _lost()
        self._on_activity()

    async def reset(self) -> None:
        """Close every socket, then end what the kernel still holds of their connections
        (TIME_WAIT ...), so no port stays taken and no row of them stays. Where the kernel
        will not end them, the rows of those that still take a port stay, with the time
        they have left (`expires_in`), until the kernel drops them; the others go."""
        closing = list(self.sockets.values())
        for sock in closing:
            self._close(sock, at_once=True)
        # A transport closes its socket on the loop's next turn (connection_lost).
        for _ in range(8):
            if not any(s.transport is not None for s in closing):
                break
            await asyncio.sleep(0)
        ended = False
        if self.end_lingering is not None:
            # Shielded and kept: aclose() waits for it, so this sandbox's addresses are not
            # given to another sandbox while the kernel is still ending connections at them.
            self._ending = asyncio.ensure_future(self.end_lingering(self.device_ips))
            ended = await asyncio.shield(self._ending)
        if self.closed:
            return
        for key, sock in list(self.lingering.items()):
            # A client's ephemeral port is no port anyone asks for; a connection accepted at
            # a listener's port keeps that port taken (EADDRINUSE) while the kernel holds it.
            if ended or sock.role == "client":
                del self.lingering[key]
                self._gone(sock, "ended by the reset" if ended else "hidden by the reset")
        if self.capture is not None:  # the packets shown start again from here
            self.capture.reset()

    def _close(self, sock: SandboxSocket, at_once: bool = False) -> None:
        """`at_once`: without sending what the program wrote and the kernel did not take."""
        sock.closed_by_program = True
        sock.generation = CHANGES.stamp()
        if sock.connecting is not None:
            sock.connecting.cancel()  # its task closes the socket (rule 7)
        if sock.server is not None:
            sock.server.close()
            self._drop(sock, "closed")
        elif sock.transport is not None:
            # connection_lost follows, then _lost()
            if at_once:
                sock.transport.abort()
            else:
                sock.transport.close()
        else:
            if sock.raw is not None:  # a listener that accepts only when told
                sock.raw.close()  # the kernel resets the connections still in its queue
            self._drop(sock, "closed")
        self._on_activity()

    async def aclose(self) -> None:
        """Destroy the sandbox: every socket closes, nothing more is reported. Returns only
        once a reset's ending of kernel-held connections is over (the registry gives the
        addresses to another sandbox after this)."""
        self.closed = True
        self._sinks.clear()
        if self.capture is not None:
            self.capture.close()
        for sock in list(self.sockets.values()):
            if sock.connecting is not None:
                sock.connecting.cancel()
            if sock.server is not None:
                sock.server.close()
            elif sock.transport is not None:
                sock.transport.abort()
            elif sock.raw is not None:
                sock.raw.close()
        self.sockets.clear()
        self.lingering.clear()
        await asyncio.sleep(0)  # let transports finish closing their file descriptors
        if self._ending is not None:
            await asyncio.wait({self._ending})

    # Reactions to the network -----------------------------------------------

    def _touch(self, sock: SandboxSocket) -> None:
        self._changed(sock)
        self._on_activity()

    def _accepted(self, transport, protocol: _Stream) -> SandboxSocket | None:
        local = transport.get_extra_info("sockname")
        peer = transport.get_extra_info("peername")
        listener = self._holder(local[0], local[1], "tcp")
        if self.closed or peer[0] not in self.device_ips or listener is None:
            transport.abort()  # Rule 2: from outside the sandbox
            return None
        if self._full():
            transport.abort()
            self.emit(
                events.error(
                    "limit_sockets",
                    f"{listener.id} refused a connection: the sandbox is at its limit of "
                    f"{self.limits.sockets_per_sandbox} sockets.",
                    limit="sockets_per_sandbox",
                )
            )
            return None
        raw = transport.get_extra_info("socket")
        sock = self._new(
            device=listener.device,
            protocol="tcp",
            role="accepted",
            local=local,
            remote=peer,
            state="ESTABLISHED",
            listener=listener.id,
            auto_read=listener.auto_read,
        )
        sock.inode = os.fstat(raw.fileno()).st_ino
        sock.transport = transport
        self._changed(sock)
        return sock

    def _keep(self, sock: SandboxSocket, data: bytes) -> None:
        sock.bytes_received += len(data)
        sock.received += data
        excess = len(sock.received) - self.limits.received_kept_bytes
        if excess > 0:
            del sock.received[:excess]
            sock.received_dropped += excess

    def _received(self, sock: SandboxSocket, data: bytes) -> None:
        self._keep(sock, data)
        self.emit(events.data(sock.id, data.decode("utf-8", "replace"), len(data)))
        self._changed(sock)

    def _datagram(self, sock: SandboxSocket, data: bytes, addr) -> bool:
        """Whether the datagram was taken (rule 2 drops those from outside)."""
        if addr[0] not in self.device_ips:
            return False  # Rule 2: datagrams from outside the sandbox are dropped
        self._keep(sock, data)
        sender = {"device": self._device_of[addr[0]], "ip": addr[0], "port": addr[1]}
        self.emit(events.data(sock.id, data.decode("utf-8", "replace"), len(data), sender))
        self._changed(sock)
        return True

    def _read_once(self, sock: SandboxSocket, size: int) -> None:
        """After each read: a socket that reads only when told stops again, and its
        `recv` has its answer."""
        if sock.auto_read:
            return
        if sock.transport is not None:
            sock.transport.pause_reading()
        if sock.reading is not None and not sock.reading.done():
            # The read emptied the kernel's queue: a reading begun before says otherwise.
            sock.generation = CHANGES.stamp()
            self._on_activity()
            sock.reading.set_result(size)

    def _socket_failure(self, sock: SandboxSocket, exc: OSError) -> SandboxError:
        target = sock.remote or sock.local
        code, message = explain.socket_error(
            exc, sock.id, self._device_of.get(target[0], target[0]), target
        )
        return SandboxError(code, message, errno=exc.errno)

    def _socket_error(self, sock: SandboxSocket, exc: OSError) -> None:
        """An error the kernel reported on a socket by itself (error_received): the
        answer of the call that met it, or, met by the event loop's own read, an
        `error` event that names the socket."""
        if sock.sending:
            sock.send_error = exc
            return
        failure = self._socket_failure(sock, exc)
        if sock.reading is not None and not sock.reading.done():
            sock.reading.set_exception(failure)
            if sock.transport is not None:
                sock.transport.pause_reading()
            return
        self.emit(
            events.error(
                failure.code, failure.message, socket=sock.id, errno=failure.extra["errno"]
            )
        )

    def _peer_finished(self, sock: SandboxSocket) -> None:
        sock.peer_finished = True
        if not self.kernel_states:
            sock.state = "CLOSE_WAIT"
        self.emit(events.data(sock.id, "", 0, eof=True))
        self._changed(sock)

    def _lost(self, sock: SandboxSocket, exc: BaseException | None = None) -> None:
        if sock.reading is not None and not sock.reading.done():
            sock.reading.set_exception(
                SandboxError(
                    "ECONNRESET", f"ECONNRESET: {sock.id}'s connection was reset.", errno=104
                )
                if isinstance(exc, ConnectionResetError)
                else SandboxError("socket_closed", f"{sock.id} was closed.")
            )
        if self.closed or self.sockets.get(sock.id) is not sock:
            return
        sock.transport = None
        if sock.reset:  # rule 6: the kernel keeps nothing of it
            self._drop(sock, "reset: closed with SO_LINGER 0, so the kernel sent an RST")
        elif isinstance(exc, ConnectionResetError):
            self._drop(sock, "ECONNRESET: the peer reset the connection (an RST arrived)")
        elif sock.protocol == "tcp" and sock.remote and self.kernel_states:
            # The kernel may keep it (FIN_WAIT2, TIME_WAIT): show it until it goes.
            del self.sockets[sock.id]
            sock.closed_by_program = True
            sock.inode = 0
            sock.generation = CHANGES.stamp()
            self.lingering[(*sock.local, *sock.remote)] = sock
            self._trim_lingering()
            self._changed(sock)
        else:
            self._drop(sock, "closed" if sock.closed_by_program else "connection lost")
        self._on_activity()

    def _trim_lingering(self) -> None:
        while len(self.lingering) > self.limits.sockets_per_sandbox:
            oldest = next(iter(self.lingering))
            self._gone(self.lingering.pop(oldest), "hidden: too many closed sockets to show")

    def _drop(self, sock: SandboxSocket, reason: str) -> None:
        if self.sockets.pop(sock.id, None) is not None:
            self._gone(sock, reason)

    def apply_kernel(self, rows: list[KernelSocket], begun: int) -> bool:
        """Take states and queues from a kernel dump begun when kernel.CHANGES was at
        `begun`. A socket the engine changed since (made, connected, closed ...) is newer
        than the dump's row of it, or than its absence: the dump says nothing of it, and
        the next one (the change kicked it) does. False when it said nothing of some
        socket for that reason, so the next dump is applied even if it reads the same."""
        if self.closed:
            return True
        by_inode = {s.inode: s for s in self.sockets.values() if s.inode}
        seen: set[tuple] = set()
        held: dict[tuple, SandboxSocket] | None = None
        found: set[str] = set()
        for row in rows:
            sock = by_inode.get(row.inode) if row.inode else self.lingering.get(row.four_tuple)
            if sock is None and not row.inode:
                # A FIN that comes after ours moves the connection to a time-wait record
                # of the kernel's own (no inode), while the program still holds its socket,
                # now CLOSED; the connection's state is that record's, as `ss` shows it.
                if held is None:
                    held = {
                        (*s.local, *s.remote): s
                        for s in self.sockets.values()
                        if s.protocol == "tcp" and s.remote
                    }
                sock = held.get(row.four_tuple)
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
                self._changed(sock)
        for sock in self.sockets.values():
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
                self._changed(sock)
        for key, sock in list(self.lingering.items()):
            # Absent from a dump that began after the program let go: the kernel dropped it.
            if key not in seen and sock.generation <= begun:
                del self.lingering[key]
                self._gone(sock, f"the kernel dropped it after {sock.state or 'closing'}")
        return all(
            s.generation <= begun for s in [*self.sockets.values(), *self.lingering.values()]
        )
