"""The sandbox's UDP commands: udp.bind, udp.connect, udp.sendto, and the sending of a
datagram that `send` shares (no Django).

Rules: the numbered rules are playground.sandbox.sandbox's, and this is a part of its
Sandbox class (its base, kept apart for size), using the Sandbox's own attributes.
Rule 2 for datagrams is `_datagram_target`: a datagram goes only to an address and
port a socket of the sandbox holds, or, in the playground's own network namespace,
to any port of the sandbox's own devices. An error the kernel reports for a datagram
sent is that send's answer.
"""

import asyncio
import os
import socket

from playground.host.kernel import CHANGES
from playground.sandbox import arguments
from playground.sandbox.socket import SandboxSocket
from playground.sandbox.transports import _Datagram
from playground.wire import explain
from playground.wire.errors import SandboxError


class DatagramCommands:
    async def udp_bind(self, device, port, auto_read: bool = True) -> SandboxSocket:
        ip, port = arguments.device_ip(self.devices, device), arguments.port(port)
        with self.table.place():
            raw = self._bind(socket.SOCK_DGRAM, ip, port)
            arguments.descriptor_room(raw, self.limits)
        sock = self.table.new(
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
        if not self.own_network and self.table.holder(*target, "udp") is None:
            raise SandboxError("no_receiver", explain.no_udp_receiver(device, target))

    async def udp_connect(self, socket_id, to_device, to_port) -> SandboxSocket:
        """connect() on a UDP socket: no packet is sent; the kernel fixes its peer, drops
        datagrams from any other address and reports ICMP errors to the socket."""
        sock = self.table.get(socket_id)
        if sock.protocol != "udp":
            raise SandboxError("wrong_protocol", f"{sock.id} is a TCP socket; use tcp.connect.")
        target = (arguments.device_ip(self.devices, to_device), arguments.port(to_port, pick=False))
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

    async def udp_sendto(self, socket_id, to_device, to_port, data) -> int:
        sock = self.table.get(socket_id)
        if sock.protocol != "udp":
            raise SandboxError("wrong_protocol", f"{sock.id} is a TCP socket; use send.")
        payload = arguments.payload(data, self.limits)
        target = (arguments.device_ip(self.devices, to_device), arguments.port(to_port, pick=False))
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
