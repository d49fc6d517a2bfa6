"""A real redis-server on a free port, for tests of the playground's pool engine.

Started as a subprocess with no persistence, ready once it logs that it accepts
connections and answers PING, stopped after. Without redis-server the test is
skipped with an install hint, except in CI (CI=true), where it fails.
"""

import shutil
import socket
import subprocess
import threading

from tests.support.services import free_port, missing

READY = "Ready to accept connections"


def require_redis_server() -> str:
    path = shutil.which("redis-server")
    if path is None:
        message = (
            "These tests need redis-server: install it with `sudo apt-get install redis-server` "
            "(or `brew install redis`)."
        )
        missing(message)
    return path


class RedisServer:
    def __init__(self, port: int | None = None):
        self.binary = require_redis_server()
        self.port = port or free_port()
        self.process = None
        self.log: list[str] = []

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> "RedisServer":
        self.process = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for line in self.process.stdout:
            self.log.append(line)
            if READY in line:
                break
        else:
            raise RuntimeError("redis-server exited before it was ready:\n" + "".join(self.log))
        threading.Thread(target=self._drain, daemon=True).start()
        assert self.command("PING") == "+PONG"
        return self

    def _drain(self):
        for line in self.process.stdout:
            self.log.append(line)

    def command(self, *words: str) -> str:
        """One command in the inline protocol; the first line of the answer."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=10) as conn:
            conn.sendall((" ".join(words) + "\r\n").encode())
            answer = b""
            while not answer.endswith(b"\r\n"):
                chunk = conn.recv(4096)
                if not chunk:
                    break
                answer += chunk
            return answer.decode().split("\r\n")[0]

    def get(self, key: str) -> str | None:
        """GET in the inline protocol: the value, or None."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=10) as conn:
            conn.sendall(f"GET {key}\r\n".encode())
            answer = b""
            while not (answer.startswith(b"$-1\r\n") or answer.count(b"\r\n") >= 2):
                chunk = conn.recv(4096)
                if not chunk:
                    break
                answer += chunk
        if answer.startswith(b"$-1"):
            return None
        return answer.split(b"\r\n")[1].decode()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
