"""A sandbox's table of sockets: the ones its program holds, the connections only the
kernel still holds, the connects under way and the connections gone, and which of
them owns an address (no Django).

Rules (the numbered rules are playground.sandbox.sandbox's):
- Only the table's own methods change its dicts; everyone else reads them, and asks
  `holder` (who takes a port: rule 2) and `owner_of` (whose is a packet's end: the
  capture) or `connection` (whose is a 4-tuple: playground.sandbox.kernel_view)
  rather than searching them.
- Its places are counted here (rule 3): `place()` reserves one for a command still in
  progress, so concurrent commands never exceed sockets_per_sandbox between them.
- Bounded (rule 4): `departed` keeps the last sockets_per_sandbox connections gone;
  `lingering` is trimmed by the sandbox, which says so in a `socket.gone` event.
- A 4-tuple is (local ip, local port, remote ip, remote port); the kernel lets no two
  TCP sockets share one, so a connection is found by its 4-tuple alone.
"""

import contextlib
import itertools

from playground.host.kernel import CHANGES
from playground.sandbox.socket import Row, SandboxSocket
from playground.wire.errors import SandboxError


class SocketTable:
    def __init__(self, limit: int):
        self.limit = limit  # sockets_per_sandbox
        self.sockets: dict[str, SandboxSocket] = {}
        # Sockets the program closed but the kernel still holds, by 4-tuple.
        self.lingering: dict[tuple, SandboxSocket] = {}
        # Client sockets whose connect is under way, by 4-tuple: the id they will have
        # (their handshake's packets name it before the row exists).
        self.connecting: dict[tuple, str] = {}
        # The ids of the last connections gone, by 4-tuple (at most `limit`).
        self.departed: dict[tuple, str] = {}
        # The TCP connections among `sockets`, by 4-tuple: a kernel dump and the
        # capture look one up per row and per packet.
        self._connections: dict[tuple, SandboxSocket] = {}
        self._ids = itertools.count(1)
        self._pending = 0  # places reserved by commands still in progress (rule 3)

    # Places and ids ------------------------------------------------------------

    def next_id(self) -> str:
        return f"s{next(self._ids)}"

    def full(self) -> bool:
        return len(self.sockets) + self._pending >= self.limit

    @contextlib.contextmanager
    def place(self):
        """Reserve one socket's place for the command's duration (rule 3).

        Taken synchronously, before the command's first await; the socket,
        once made, is in `sockets` before the place is given back."""
        if self.full():
            raise SandboxError(
                "limit_sockets",
                f"This sandbox already has {len(self.sockets) + self._pending} sockets, its "
                f"limit (sockets_per_sandbox = {self.limit}). Close one "
                "first.",
                limit="sockets_per_sandbox",
            )
        self._pending += 1
        try:
            yield
        finally:
            self._pending -= 1

    # Changes -------------------------------------------------------------------

    def new(self, socket_id: str | None = None, **fields) -> SandboxSocket:
        sock = SandboxSocket(id=socket_id or self.next_id(), **fields)
        sock.generation = CHANGES.stamp()
        self.sockets[sock.id] = sock
        if sock.protocol == "tcp" and sock.remote:
            self._connections[_four_tuple(sock)] = sock
        return sock

    def drop(self, sock: SandboxSocket) -> bool:
        """Take it out of `sockets`; whether it was there."""
        dropped = self.sockets.pop(sock.id, None)
        if dropped is None:
            return False
        self._unlist(dropped)
        self._departs(dropped)
        return True

    def linger(self, sock: SandboxSocket) -> None:
        """The program let go of a connection that the kernel may still hold."""
        del self.sockets[sock.id]
        self._unlist(sock)
        self.lingering[_four_tuple(sock)] = sock

    def release(self, four_tuple: tuple) -> SandboxSocket:
        """The kernel no longer holds a lingering connection (or it is no longer shown)."""
        sock = self.lingering.pop(four_tuple)
        self._departs(sock)
        return sock

    def clear(self) -> None:
        self.sockets.clear()
        self.lingering.clear()
        self._connections.clear()

    def _unlist(self, sock: SandboxSocket) -> None:
        if sock.protocol == "tcp" and sock.remote:
            key = _four_tuple(sock)
            if self._connections.get(key) is sock:
                del self._connections[key]

    def _departs(self, sock: SandboxSocket) -> None:
        if sock.protocol == "tcp" and sock.remote:
            # Its last packets (an RST, the final ACK) may be read after it went.
            key = _four_tuple(sock)
            self.departed.pop(key, None)
            self.departed[key] = sock.id
            if len(self.departed) > self.limit:
                del self.departed[next(iter(self.departed))]

    # Lookups -------------------------------------------------------------------

    def get(self, socket_id) -> SandboxSocket:
        """The socket a command names, which the program still holds."""
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

    def holder(self, ip: str, port: int, protocol: str) -> SandboxSocket | None:
        """The socket that takes (ip, port) for `protocol`: what a connect or a send
        may reach (rule 2)."""
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

    def lingering_at(self, ip: str, port: int) -> list[SandboxSocket]:
        return [s for s in self.lingering.values() if s.local == (ip, port)]

    def connection(self, four_tuple: tuple) -> SandboxSocket | None:
        """The TCP connection with this 4-tuple, held by the program or only the kernel."""
        return self._connections.get(four_tuple) or self.lingering.get(four_tuple)

    def owner_of(self, four_tuple: tuple, protocol: str, opening: bool = False) -> str | None:
        """The id of the socket at the local end of a packet's 4-tuple, if any.
        `opening`: the packet is a SYN without ACK, which asks a listener for a new
        connection even where an old one with these ends was."""
        local = four_tuple[:2]
        if protocol == "udp":
            return self._id_of("udp", local)
        found = self.connection(four_tuple)
        if found is not None:
            return found.id
        if four_tuple in self.connecting:
            return self.connecting[four_tuple]
        # A connection its listener has not handed over yet (the handshake, before the
        # accept), else one gone since (its RST, its last ACK).
        listener = self._id_of("listener", local)
        departed = self.departed.get(four_tuple)
        return (listener or departed) if opening else (departed or listener)

    def _id_of(self, role: str, local: tuple) -> str | None:
        # Only TCP connections linger, so a listener or a UDP socket is in `sockets`.
        return next(
            (
                sock.id
                for sock in self.sockets.values()
                if sock.role == role and sock.local == local
            ),
            None,
        )

    # The page's view -----------------------------------------------------------

    def rows(self) -> list[Row]:
        return [s.row() for s in [*self.sockets.values(), *self.lingering.values()]]

    def kept_data(self) -> list[dict]:
        return [
            {"socket": s.id, "data": s.received.decode("utf-8", "replace")}
            for s in self.sockets.values()
            if s.received
        ]


def _four_tuple(sock: SandboxSocket) -> tuple:
    return (*sock.local, *sock.remote)
