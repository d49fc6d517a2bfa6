"""A bare WebSocket client over a plain socket, for tests that must control
reading precisely (a client that stops reading), that send any frame (binary,
oversize) or that come from a chosen source address. Client frames are masked,
as RFC 6455 requires."""

import base64
import json
import os
import socket
import struct


class RawWebSocket:
    def __init__(
        self,
        host: str,
        port: int,
        path: str,
        origin: str,
        cookie: str,
        receive_buffer: int | None = None,
        source: str | None = None,
    ):
        self.sock = socket.socket()
        if receive_buffer:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        if source:  # another client address: anything in 127.0.0.0/8 works on Linux
            self.sock.bind((source, 0))
        self.sock.settimeout(15)
        self.sock.connect((host, port))
        key = base64.b64encode(os.urandom(16)).decode()
        request = (
            f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
            f"Origin: {origin}\r\nCookie: {cookie}\r\n\r\n"
        )
        self.sock.sendall(request.encode())
        head = b""
        while b"\r\n\r\n" not in head:
            head += self.sock.recv(1)
        self.status = int(head.split(b" ", 2)[1])

    def send_json(self, message: dict) -> None:
        self.send_frame(0x1, json.dumps(message, ensure_ascii=False).encode())

    def send_frame(self, opcode: int, payload: bytes) -> None:
        mask = os.urandom(4)
        if len(payload) < 126:
            header = struct.pack("!BB", 0x80 | opcode, 0x80 | len(payload))
        elif len(payload) < 65536:
            header = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, len(payload))
        else:
            header = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, len(payload))
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(header + mask + masked)

    def event(self) -> dict:
        """The next text frame as JSON (a close frame raises ConnectionError)."""
        while True:
            opcode, payload = self.frame()
            if opcode == 0x8:
                raise ConnectionError(f"closed with {close_code(payload)}")
            if opcode == 0x1:
                return json.loads(payload)

    def until(self, predicate) -> dict:
        """The next event that fits (the socket's read timeout guards the wait)."""
        while True:
            event = self.event()
            if predicate(event):
                return event

    def hello(self) -> dict:
        """The next `hello` (the first, or one after `sandbox.lost` or a resync),
        read with its hello chunks; a `sandbox.lost` before it fails the test."""
        event = self.until(lambda e: e["type"] in ("hello", "sandbox.lost"))
        assert event["type"] == "hello", event
        for _ in range(event["data_chunks"]):
            self.event()
        return event

    def until_closed(self) -> tuple[int | None, list[dict]]:
        """Read everything to the end of the TCP connection: (close code, events).

        A read that times out (the socket's 15 s) raises: the server never ended it."""
        code, events = None, []
        try:
            while True:
                opcode, payload = self.frame()
                if opcode == 0x8:
                    code = close_code(payload)
                elif opcode == 0x1:
                    events.append(json.loads(payload))
        except (ConnectionError, ConnectionResetError):
            return code, events

    def _exactly(self, n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                raise ConnectionError("closed")
            data += chunk
        return data

    def frame(self) -> tuple[int, bytes]:
        first, second = self._exactly(2)
        length = second & 0x7F
        if length == 126:
            (length,) = struct.unpack("!H", self._exactly(2))
        elif length == 127:
            (length,) = struct.unpack("!Q", self._exactly(8))
        return first & 0x0F, self._exactly(length)

    def close(self) -> None:
        self.sock.close()


def close_code(payload: bytes) -> int | None:
    return struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
