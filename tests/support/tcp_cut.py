"""A TCP relay a test can cut, as a network blip cuts a service off while it keeps its data.

`Relay(port)` listens on a free port of its own and relays each connection to
127.0.0.1:`port`. `cut()` closes every relayed connection and refuses new ones (the
client sees its connection reset, then refused); `restore()` accepts again. The
service behind it never notices: what it holds is still there after.
"""

import contextlib
import socket
import threading


class Relay:
    def __init__(self, target_port: int):
        self.target_port = target_port
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._accepting = True
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return  # closed
            with self._lock:
                if not self._accepting:
                    client.close()  # refused: the client sees its connection end at once
                    continue
                upstream = socket.create_connection(("127.0.0.1", self.target_port))
                self._open |= {client, upstream}
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    def _pipe(self, source, sink):
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        for end in (source, sink):
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)

    def cut(self):
        with self._lock:
            self._accepting = False
            for end in self._open:
                with contextlib.suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)
            self._open.clear()

    def restore(self):
        with self._lock:
            self._accepting = True

    def close(self):
        self.cut()
        self._listener.close()
