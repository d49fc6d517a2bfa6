"""Operating-system errors, explained in sentences a student can learn from.

Rule: say what the kernel does. A port is a number; it is taken by a socket or by a
connection the kernel still keeps, never by the port itself, and the page links each
error code to the glossary entry that explains it (playground.js, GLOSSARY).
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
                f"({holder.role}, {holder.protocol.upper()}). Two sockets cannot both be bound "
                "to the same address and port with the same protocol; close the other one first."
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
        "is fine, but no socket is bound there, so the connection is refused (a real kernel "
        "answers the SYN with a reset, RST). A connection needs a listening socket: start a "
        f"TCP listener on {device} port {target[1]} first."
    )


def no_udp_receiver(device: str, target: tuple[str, int]) -> str:
    return (
        f"No UDP socket is bound at {_where(device, *target)}. UDP needs no connection, but "
        "a datagram still needs a socket at the other end, or it is simply dropped and the "
        f"sender is never told. Bind a UDP socket on {device} port {target[1]} first."
    )


def descriptors() -> str:
    return (
        "The server has no file descriptors to spare for another socket right now: every "
        "socket is an open file of the server process, and the operating system limits how "
        "many one process may hold (EMFILE). Close a socket of yours, or try again later."
    )
