"""Operating-system errors, explained in sentences a student can learn from.

Rule: say what the kernel does. A port is a number; it is taken by a socket or by a
connection the kernel still keeps, never by the port itself, and the page links each
error code to the glossary entry that explains it (playground.wire.errors, sent
to the page in its vocabulary).
"""

import errno


def _where(device: str, ip: str, port: int) -> str:
    return f"{device} ({ip}) port {port}"


def os_error(exc: OSError, device, ip, port, holder, lingering) -> tuple[str, str]:
    where = _where(device, ip, port)
    if exc.errno == errno.EADDRINUSE:
        if holder is not None:
            return "EADDRINUSE", (
                f"EADDRINUSE: {where} is already in use by socket {holder.id} "
                f"({holder.role}, {holder.protocol.upper()}). Two TCP listeners can be bound to "
                "the same address and port only if both set the SO_REUSEPORT option before "
                "bind(). Two UDP sockets need only SO_REUSEADDR on both, and so does a TCP socket "
                "beside one that is not listening, such as a new listener beside connections in "
                "TIME_WAIT. The sandbox offers no "
                "SO_REUSEPORT and binds its UDP sockets without SO_REUSEADDR, so close the other "
                "one first or pick another port."
            )
        if lingering:
            states = ", ".join(sorted({s.state for s in lingering}))
            return "EADDRINUSE", (
                f"EADDRINUSE: {where} is still held by a connection the kernel keeps in {states} "
                "after the program closed its socket. The program's socket is gone, but the "
                "kernel keeps the connection, with its address and port, a while longer (about "
                "60 seconds for TIME_WAIT) so late packets of the old connection cannot be "
                "mistaken for a new one. Wait for it to disappear. Servers avoid this by setting "
                "reuse_address (the SO_REUSEADDR option) on every listener from the start, the "
                "old one as well as the new one: then a new listener may bind beside the old "
                "connections."
            )
        return "EADDRINUSE", (
            f"EADDRINUSE: {where} is in use by another program on this machine. Pick another port."
        )
    if exc.errno == errno.ECONNREFUSED:
        return "ECONNREFUSED", refused(device, (ip, port))
    if exc.errno in (errno.EMFILE, errno.ENFILE):
        return "limit_descriptors", descriptors()
    name = errno.errorcode.get(exc.errno, "OSError")
    return name, f"{name}: the operating system refused at {where}: {exc.strerror}."


def refused(device: str, target: tuple[str, int]) -> str:
    return (
        f"ECONNREFUSED: nothing is listening at {_where(device, *target)}. The port number "
        "is fine, but no socket listens at that address and port, so the connection is "
        "refused (a real kernel answers the SYN with a reset, RST). A connection needs a "
        f"listening socket: start a TCP listener on {device} port {target[1]} first."
    )


def no_udp_receiver(device: str, target: tuple[str, int]) -> str:
    return (
        f"No UDP socket is bound at {_where(device, *target)}. UDP needs no connection, but "
        "a datagram still needs a socket at the other end. A real kernel would let it go; the "
        "receiving machine would drop it and answer with an ICMP port unreachable message, "
        "which a connected UDP socket hears of as ECONNREFUSED on its next call, while an "
        "unconnected one is not told (unless it set the IP_RECVERR option). Here the "
        "playground refuses the datagram instead, so that you notice. Bind a UDP socket on "
        f"{device} port {target[1]} first."
    )


def descriptors() -> str:
    return (
        "The server has no file descriptors to spare for another socket right now: every "
        "socket is an open file of the server process, and the operating system limits how "
        "many one process may hold (EMFILE). Close a socket of yours, or try again later."
    )


def socket_error(exc: OSError, socket_id: str, device: str, target) -> tuple[str, str]:
    """An error the kernel reported on a socket by itself, for the call that met it."""
    if exc.errno == errno.ECONNREFUSED:
        return "ECONNREFUSED", (
            f"ECONNREFUSED on {socket_id}: a datagram it sent to {_where(device, *target)} "
            'found no socket there, and the kernel answered with an ICMP "port unreachable" '
            f"message. {socket_id} is connected to that address, so the kernel keeps the error "
            "for the socket and reports it on its next call (send or recv), which Python raises "
            "as ConnectionRefusedError. An unconnected UDP socket is not told (unless it set the "
            "IP_RECVERR option)."
        )
    name = errno.errorcode.get(exc.errno, "OSError")
    return name, f"{name} on {socket_id}: {exc.strerror}."


def connect_failed(exc: OSError, syn_retries) -> str:
    """Why a connect answered in SYN_SENT ended without a connection (a socket.gone reason)."""
    if isinstance(exc, TimeoutError) or exc.errno == errno.ETIMEDOUT:
        return (
            "ETIMEDOUT: its SYN was never answered; the kernel sent it again and again, with "
            "longer and longer pauses (since Linux 6.5 the first few a second apart), until the "
            f"time its syn_retries setting of {int(syn_retries)} allows was up, then gave up "
            "(connect() raises TimeoutError). A "
            "listener whose accept queue is full drops each SYN, so the client waits."
        )
    if exc.errno == errno.ECONNREFUSED:
        return (
            "ECONNREFUSED: a SYN it sent again was answered with a reset (RST): nothing "
            "listens there any more."
        )
    name = errno.errorcode.get(exc.errno, "OSError")
    return f"{name}: the connection could not be made: {exc.strerror}"


def still_connecting(socket_id: str) -> str:
    return (
        f"{socket_id} is not connected yet: it waits in SYN_SENT for an answer to its SYN. "
        "Wait until its row says ESTABLISHED."
    )


def not_listening(socket_id: str) -> str:
    return (
        f"{socket_id} is not a listening socket, so it has no accept queue: accept() works "
        "only on a socket that called listen()."
    )


def accepts_by_itself(socket_id: str) -> str:
    return (
        f"EAGAIN: {socket_id} accepts every connection by itself as soon as the handshake "
        "is done, so its accept queue has nothing waiting. To accept one at a time, listen "
        "with auto_accept off."
    )


def nothing_to_accept(socket_id: str) -> str:
    return (
        f"EAGAIN: no connection is waiting in {socket_id}'s accept queue (its Recv-Q is 0). "
        "A blocking accept() would wait here until a client connects."
    )


def reads_by_itself(socket_id: str) -> str:
    return (
        f"EAGAIN: {socket_id} reads whatever arrives by itself, so nothing waits in its "
        "receive queue. To call recv yourself, make the socket with auto_read off."
    )


def nothing_to_read(sock) -> str:
    return (
        f"EAGAIN: nothing has arrived for {sock.id} (its Recv-Q is 0). A blocking recv() "
        "would wait here until something comes."
    )


def send_buffer_full(socket_id: str) -> str:
    return (
        f"EAGAIN: the kernel cannot take more for {socket_id} now: the peer has not read what "
        "arrived, its receive queue is full, and so is this socket's send queue (Send-Q). A "
        "blocking send() would wait here until the peer reads."
    )
