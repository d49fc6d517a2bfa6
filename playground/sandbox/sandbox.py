"""A visitor's sandbox: real operating-system sockets on loopback addresses of its own.

Plain asyncio, no Django. The consumer translates JSON to the methods here and
the events emitted here back to JSON.

Safety rules (each has a test in tests/playground/sandbox/test_safety.py):
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

The modules beside this one point here for these rules: socket.py (a socket and
its row), table.py (the SocketTable: the sockets, which one holds a port or owns a
4-tuple, places; rule 3), arguments.py (what a command is given: rules 1, 3 to 5),
transports.py (what the event loop reports: rules 2 and 4 on arrival, a late handshake's
end: rule 7), datagrams.py (the UDP commands: rule 2 for datagrams), kernel_view.py
(what the kernel's table says of them). The sandbox's packets are watched by
playground.capture, which asks the table whose socket each packet's ends are.
"""

import asyncio
import math
import os
import select
import socket
import struct
import time
from collections.abc import Awaitable, Callable

from playground.host.kernel import CHANGES, KernelSocket
from playground.host.netns import NamespaceLost
from playground.sandbox import arguments
from playground.sandbox.datagrams import DatagramCommands
from playground.sandbox.kernel_view import apply_kernel
from playground.sandbox.socket import Row, SandboxSocket
from playground.sandbox.table import SocketTable
from playground.sandbox.transports import _Stream, follow_handshake
from playground.wire import events, explain
from playground.wire.errors import SandboxError
from playground.wire.limits import Limits

Sink = Callable[[dict], None]
# How long a connect's answer waits for the handshake. Under the first SYN
# retransmission (1 s), so a SYN answered at once is in the answer, and a dropped one
# leaves the client in SYN_SENT, to be followed in its row.
CONNECT_ANSWER_SECONDS = 0.5
# A `recv` starts only on a socket the kernel reports readable; this bounds the wait
# for the event loop to read it, in case another reader took what was there.
RECV_SECONDS = 1.0


class Sandbox(DatagramCommands):
    """A visitor's sandbox: its devices, its SocketTable, its commands (the UDP ones in
    DatagramCommands) and the events they and the network cause, to its sinks."""

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
        self.table = SocketTable(limits.sockets_per_sandbox)
        self._sinks: list[Sink] = []
        self._on_activity = on_activity or (lambda: None)
        self.created = time.time()
        self.closed = False
        # Sees every event after the sinks do, and every command's answer (playground.labs.lab.Lab).
        self.lab = None
        # Its packets, where they can be watched (playground.capture.sandbox.SandboxCapture).
        self.capture = None
        # Ends the connections at these addresses that only the kernel holds; True when
        # none is left (playground.host.kernel.KernelWatcher.destroy). None: it cannot.
        self.end_lingering: Callable[[set[str]], Awaitable[bool]] | None = None
        self._ending: asyncio.Future | None = None  # a reset's end_lingering under way

    @property
    def sockets(self) -> dict[str, SandboxSocket]:
        """The sockets the program holds, by id (read only: the table changes them)."""
        return self.table.sockets

    @property
    def lingering(self) -> dict[tuple, SandboxSocket]:
        """Sockets the program closed but the kernel still holds, by 4-tuple (read only)."""
        return self.table.lingering

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

    def _touch(self, sock: SandboxSocket) -> None:
        self._changed(sock)
        self._on_activity()

    def _gone(self, sock: SandboxSocket, reason: str) -> None:
        """Tell of a socket the table no longer holds (it noted the connection departed)."""
        self.emit(events.gone(sock.id, reason))

    def _drop(self, sock: SandboxSocket, reason: str) -> None:
        if self.table.drop(sock):
            self._gone(sock, reason)

    def _trim_lingering(self) -> None:
        while len(self.table.lingering) > self.limits.sockets_per_sandbox:
            oldest = next(iter(self.table.lingering))
            self._gone(self.table.release(oldest), "hidden: too many closed sockets to show")

    def snapshot(self) -> list[Row]:
        return self.table.rows()

    def kept_data(self) -> list[dict]:
        return self.table.kept_data()

    def apply_kernel(self, rows: list[KernelSocket], begun: int) -> bool:
        """What a dump of the kernel's table says of the sockets (kernel_view.apply_kernel)."""
        return apply_kernel(self, rows, begun)

    # Sockets made ------------------------------------------------------

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
        holder = self.table.holder(ip, port, "tcp") or self.table.holder(ip, port, "udp")
        lingering = self.table.lingering_at(ip, port)
        code, message = explain.os_error(exc, device, ip, port, holder, lingering)
        ends = [s.expires_at for s in lingering if s.expires_at is not None]
        if code == "EADDRINUSE" and holder is None and ends:
            left = math.ceil(max(0.0, max(ends) - time.monotonic()))
            message += f" The kernel keeps it about {left} seconds more (its row counts down)."
        if code == "limit_descriptors":
            return SandboxError(code, message, errno=exc.errno, limit="RLIMIT_NOFILE")
        return SandboxError(code, message, errno=exc.errno)

    def _socket_failure(self, sock: SandboxSocket, exc: OSError) -> SandboxError:
        target = sock.remote or sock.local
        code, message = explain.socket_error(
            exc, sock.id, self._device_of.get(target[0], target[0]), target
        )
        return SandboxError(code, message, errno=exc.errno)

    # Commands ----------------------------------------------------------

    async def tcp_listen(
        self,
        device,
        port,
        reuse_address: bool = False,
        backlog: int | None = None,
        auto_accept: bool = True,
        auto_read: bool = True,
    ) -> SandboxSocket:
        ip, port, backlog = (
            arguments.device_ip(self.devices, device),
            arguments.port(port),
            arguments.backlog(backlog, self.limits),
        )
        with self.table.place():
            raw = self._bind(socket.SOCK_STREAM, ip, port, reuse=bool(reuse_address))
            arguments.descriptor_room(raw, self.limits)
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
            sock = self.table.new(
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
        ip = arguments.device_ip(self.devices, device)
        target = (arguments.device_ip(self.devices, to_device), arguments.port(to_port, pick=False))
        with self.table.place():
            # Rule 2: only to an address and port that a socket of this sandbox holds.
            if self.table.holder(*target, "tcp") is None:
                raise SandboxError("ECONNREFUSED", explain.refused(to_device, target), errno=111)
            raw = self._bind(socket.SOCK_STREAM, ip, 0)
            arguments.descriptor_room(raw, self.limits)
            # Rule 7: the kernel gives up on an unanswered SYN after this many retries.
            raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_SYNCNT, int(self.limits.syn_retries))
            loop = asyncio.get_running_loop()
            connection = (*raw.getsockname(), *target)
            self.table.connecting[connection] = socket_id = self.table.next_id()
            handshake = loop.create_task(loop.sock_connect(raw, target))
            try:
                await asyncio.wait({handshake}, timeout=CONNECT_ANSWER_SECONDS)
            except BaseException:
                handshake.cancel()
                del self.table.connecting[connection]
                raw.close()
                raise
            if handshake.done() and handshake.exception() is not None:
                del self.table.connecting[connection]
                raw.close()
                raise self._explain(handshake.exception(), *target) from None
            sock = self.table.new(
                socket_id,
                device=device,
                protocol="tcp",
                role="client",
                local=raw.getsockname(),
                remote=target,
                state="ESTABLISHED" if handshake.done() else "SYN_SENT",
                auto_read=auto_read,
            )
            del self.table.connecting[connection]
        sock.inode = os.fstat(raw.fileno()).st_ino
        if handshake.done():
            await loop.create_connection(lambda: _Stream(self, sock), sock=raw)
        else:
            sock.connecting = loop.create_task(follow_handshake(self, sock, raw, handshake))
        self._touch(sock)
        return sock

    async def accept(self, socket_id) -> SandboxSocket:
        """Take one connection from a listener's accept queue, as accept() does."""
        listener = self.table.get(socket_id)
        if listener.role != "listener":
            raise SandboxError("not_listening", explain.not_listening(listener.id))
        if listener.raw is None:
            raise SandboxError("EAGAIN", explain.accepts_by_itself(listener.id), errno=11)
        with self.table.place():
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
            arguments.descriptor_room(raw, self.limits)
            sock = self.table.new(
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
        sock = self.table.get(socket_id)
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

    async def send(self, socket_id, data) -> int:
        sock = self.table.get(socket_id)
        if sock.protocol == "udp":
            if sock.remote is None:
                raise SandboxError(
                    "wrong_protocol",
                    f"{sock.id} is a UDP socket with no peer: use udp.sendto, or udp.connect "
                    "it first.",
                )
            payload = arguments.payload(data, self.limits)
            self._datagram_target(self._device_of[sock.remote[0]], sock.remote)
            return self._send_datagram(sock, payload, sock.remote)
        if sock.role == "listener":
            raise SandboxError(
                "not_connected",
                f"{sock.id} is a listening socket: it only waits for connections. Send on a "
                "connected socket (the client, or the one the listener accepted).",
            )
        payload = arguments.payload(data, self.limits)
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
        sock = self.table.get(socket_id)
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
        self._close(self.table.get(socket_id))

    async def tcp_reset(self, socket_id) -> None:
        """Abort the connection (rule 6): SO_LINGER {on, 0}, then close, so an RST."""
        sock = self.table.get(socket_id)
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
        closing = list(self.table.sockets.values())
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
        for key, sock in list(self.table.lingering.items()):
            # A client's ephemeral port is no port anyone asks for; a connection accepted at
            # a listener's port keeps that port taken (EADDRINUSE) while the kernel holds it.
            if ended or sock.role == "client":
                self._gone(
                    self.table.release(key),
                    "ended by the reset" if ended else "hidden by the reset",
                )
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
        for sock in list(self.table.sockets.values()):
            if sock.connecting is not None:
                sock.connecting.cancel()
            if sock.server is not None:
                sock.server.close()
            elif sock.transport is not None:
                sock.transport.abort()
            elif sock.raw is not None:
                sock.raw.close()
        self.table.clear()
        await asyncio.sleep(0)  # let transports finish closing their file descriptors
        if self._ending is not None:
            await asyncio.wait({self._ending})
