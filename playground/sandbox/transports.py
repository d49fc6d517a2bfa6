"""What the event loop reports of a sandbox's sockets: connections accepted, data and
datagrams read, ends of stream, errors, sockets lost, and the end of a handshake that
a connect did not wait for (no Django).

Rules: the numbered rules are playground.sandbox.sandbox's; these protocols keep
those that apply to what arrives: connections and datagrams from outside the sandbox
are dropped (rule 2), what is read is kept up to received_kept_bytes and reported in
`data` events of at most READ_BYTES (rule 4), and a socket that reads only when told
stops after each read; a handshake answered late (rule 7) ends connected, or gone
with the kernel's reason. They are the sandbox's own: they call its underscore methods,
and nothing outside playground.sandbox makes them.
"""

import asyncio
import os
import socket
from typing import TYPE_CHECKING

from playground.host.kernel import CHANGES
from playground.sandbox.socket import SandboxSocket
from playground.wire import events, explain
from playground.wire.errors import SandboxError

if TYPE_CHECKING:
    from playground.sandbox.sandbox import Sandbox

# At most this much received data goes in one `data` event: even text that JSON
# escapes at six bytes a character stays under the outgoing message cap.
READ_BYTES = 64 * 1024


class _Stream(asyncio.Protocol):
    def __init__(self, sandbox: "Sandbox", sock: SandboxSocket | None = None):
        self.sandbox = sandbox
        self.sock = sock

    def connection_made(self, transport):
        if self.sock is None:  # accepted by a listener
            self.sock = self._accepted(transport)
        else:
            self.sock.transport = transport
        if self.sock is not None and not self.sock.auto_read:
            # Before the transport's first read, which comes on a later loop iteration.
            transport.pause_reading()

    def _accepted(self, transport) -> SandboxSocket | None:
        sandbox = self.sandbox
        local = transport.get_extra_info("sockname")
        peer = transport.get_extra_info("peername")
        listener = sandbox.table.holder(local[0], local[1], "tcp")
        if sandbox.closed or peer[0] not in sandbox.device_ips or listener is None:
            transport.abort()  # Rule 2: from outside the sandbox
            return None
        if sandbox.table.full():
            transport.abort()
            sandbox.emit(
                events.error(
                    "limit_sockets",
                    f"{listener.id} refused a connection: the sandbox is at its limit of "
                    f"{sandbox.limits.sockets_per_sandbox} sockets.",
                    limit="sockets_per_sandbox",
                )
            )
            return None
        raw = transport.get_extra_info("socket")
        sock = sandbox.table.new(
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
        sandbox._changed(sock)
        return sock

    def data_received(self, data):
        # One read of the socket (one recv() of the kernel's queue, at most the
        # transport's max_size). Reported in slices rather than read into a buffer of
        # that size: a buffer per socket would cost READ_BYTES for every connection.
        if self.sock is not None:
            for start in range(0, len(data), READ_BYTES):
                self._received(data[start : start + READ_BYTES])
            _read_once(self.sandbox, self.sock, len(data))

    def _received(self, data: bytes) -> None:
        sandbox, sock = self.sandbox, self.sock
        _keep(sandbox, sock, data)
        sandbox.emit(events.data(sock.id, data.decode("utf-8", "replace"), len(data)))
        sandbox._changed(sock)

    def eof_received(self):
        if self.sock is not None:
            sandbox, sock = self.sandbox, self.sock
            sock.peer_finished = True
            if not sandbox.kernel_states:
                sock.state = "CLOSE_WAIT"
            sandbox.emit(events.data(sock.id, "", 0, eof=True))
            sandbox._changed(sock)
            _read_once(sandbox, sock, 0)
        return True  # stay half open: the program may still send (CLOSE_WAIT)

    def connection_lost(self, exc):
        if self.sock is not None:
            _lost(self.sandbox, self.sock, exc)


class _Datagram(asyncio.DatagramProtocol):
    def __init__(self, sandbox: "Sandbox", sock: SandboxSocket):
        self.sandbox = sandbox
        self.sock = sock

    def connection_made(self, transport):
        self.sock.transport = transport
        if not self.sock.auto_read:
            transport.pause_reading()

    def datagram_received(self, data, addr):
        sandbox, sock = self.sandbox, self.sock
        if addr[0] not in sandbox.device_ips:
            return  # Rule 2: datagrams from outside the sandbox are dropped
        _keep(sandbox, sock, data)
        sender = {"device": sandbox._device_of[addr[0]], "ip": addr[0], "port": addr[1]}
        sandbox.emit(events.data(sock.id, data.decode("utf-8", "replace"), len(data), sender))
        sandbox._changed(sock)
        _read_once(sandbox, sock, len(data))

    def error_received(self, exc):
        """An error the kernel holds for the socket (an ICMP "port unreachable" for a
        connected one): the answer of the call that met it, or, met by the event loop's
        own read, an `error` event that names the socket."""
        sandbox, sock = self.sandbox, self.sock
        if sock.sending:
            sock.send_error = exc
            return
        failure = sandbox._socket_failure(sock, exc)
        if sock.reading is not None and not sock.reading.done():
            sock.reading.set_exception(failure)
            if sock.transport is not None:
                sock.transport.pause_reading()
            return
        sandbox.emit(
            events.error(
                failure.code, failure.message, socket=sock.id, errno=failure.extra["errno"]
            )
        )

    def connection_lost(self, exc):
        _lost(self.sandbox, self.sock)


def _keep(sandbox: "Sandbox", sock: SandboxSocket, data: bytes) -> None:
    sock.bytes_received += len(data)
    sock.received += data
    excess = len(sock.received) - sandbox.limits.received_kept_bytes
    if excess > 0:
        del sock.received[:excess]
        sock.received_dropped += excess


def _read_once(sandbox: "Sandbox", sock: SandboxSocket, size: int) -> None:
    """After each read: a socket that reads only when told stops again, and its
    `recv` has its answer."""
    if sock.auto_read:
        return
    if sock.transport is not None:
        sock.transport.pause_reading()
    if sock.reading is not None and not sock.reading.done():
        # The read emptied the kernel's queue: a reading begun before says otherwise.
        sock.generation = CHANGES.stamp()
        sandbox._on_activity()
        sock.reading.set_result(size)


def _lost(sandbox: "Sandbox", sock: SandboxSocket, exc: BaseException | None = None) -> None:
    if sock.reading is not None and not sock.reading.done():
        sock.reading.set_exception(
            SandboxError("ECONNRESET", f"ECONNRESET: {sock.id}'s connection was reset.", errno=104)
            if isinstance(exc, ConnectionResetError)
            else SandboxError("socket_closed", f"{sock.id} was closed.")
        )
    if sandbox.closed or sandbox.table.sockets.get(sock.id) is not sock:
        return
    sock.transport = None
    if sock.reset:  # rule 6: the kernel keeps nothing of it
        sandbox._drop(sock, "reset: closed with SO_LINGER 0, so the kernel sent an RST")
    elif isinstance(exc, ConnectionResetError):
        sandbox._drop(sock, "ECONNRESET: the peer reset the connection (an RST arrived)")
    elif sock.protocol == "tcp" and sock.remote and sandbox.kernel_states:
        # The kernel may keep it (FIN_WAIT2, TIME_WAIT): show it until it goes.
        sandbox.table.linger(sock)
        sock.closed_by_program = True
        sock.inode = 0
        sock.generation = CHANGES.stamp()
        sandbox._trim_lingering()
        sandbox._changed(sock)
    else:
        sandbox._drop(sock, "closed" if sock.closed_by_program else "connection lost")
    sandbox._on_activity()


async def follow_handshake(
    sandbox: "Sandbox", sock: SandboxSocket, raw: socket.socket, handshake: asyncio.Future
) -> None:
    """A connect answered in SYN_SENT (rule 7): its end, connected or given up."""
    try:
        await handshake
    except asyncio.CancelledError:  # closed by the program, or the sandbox went
        raw.close()
        raise
    except OSError as exc:
        raw.close()
        sock.connecting = None
        if not sandbox.closed:
            sandbox._drop(sock, explain.connect_failed(exc, sandbox.limits.syn_retries))
            sandbox._on_activity()
        return
    if sandbox.closed or sandbox.table.sockets.get(sock.id) is not sock:
        sock.connecting = None
        raw.close()
        return
    sock.generation = CHANGES.stamp()
    if not sandbox.kernel_states:
        sock.state = "ESTABLISHED"
    loop = asyncio.get_running_loop()
    # Still `connecting` until the transport is made: a close meanwhile cancels
    # this, and create_connection closes the transport it was making.
    await loop.create_connection(lambda: _Stream(sandbox, sock), sock=raw)
    sock.connecting = None
    sandbox._touch(sock)
