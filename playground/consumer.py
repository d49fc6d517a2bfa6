"""The playground WebSocket: JSON commands in, sandbox events out.

The consumer only translates; the rules live in playground.sandbox (sockets),
playground.registry (sandbox lifetimes), playground.flow (rates and the
bounded outbox) and playground.protocol (message shapes). Origin is checked
against ALLOWED_HOSTS by the ASGI stack; a connection without a session is
closed with code 4401.
"""

import asyncio
import json
import logging
import weakref

from channels.generic.websocket import AsyncWebsocketConsumer

from playground import conf, protocol
from playground.flow import Outbox, TokenBucket
from playground.registry import Registry
from playground.sandbox import SandboxError

log = logging.getLogger(__name__)

CLOSE_NO_SESSION = 4401
CLOSE_TRY_AGAIN_LATER = 1013
# The kernel's send queue of this WebSocket's own TCP connection tells whether
# the client reads: Daphne itself buffers without limit and never pushes back.
PAUSE_AT_BYTES = 64 * 1024
RESUME_AT_BYTES = 16 * 1024

_registries: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Registry]" = (
    weakref.WeakKeyDictionary()
)


def get_registry() -> Registry:
    """The registry of the running event loop (one per server process)."""
    loop = asyncio.get_running_loop()
    if loop not in _registries:
        _registries[loop] = Registry(conf.limits(), conf.engine_config())
    return _registries[loop]


class PlaygroundConsumer(AsyncWebsocketConsumer):
    sandbox = None
    sender = None

    async def connect(self):
        await self.accept()
        session = self.scope.get("session")
        self.key = getattr(session, "session_key", None)
        if not self.key:
            await self._send_now(
                {
                    "type": "error",
                    "ref": None,
                    "code": "no_session",
                    "message": "Open the playground page first: it starts the session that "
                    "your sandbox belongs to.",
                }
            )
            await self.close(code=CLOSE_NO_SESSION)
            return
        self.registry = get_registry()
        limits = self.registry.limits
        self.bucket = TokenBucket(limits.commands_per_second, limits.command_burst)
        self.outbox = Outbox(limits.outgoing_queue, on_overflow=self._too_slow)
        try:
            self.sandbox = await self.registry.attach(self.key, self.outbox.put)
        except SandboxError as error:
            await self._send_now(protocol.error_event(error))
            await self.close(code=CLOSE_TRY_AGAIN_LATER)
            return
        await self._send_now(self._hello())
        self.sender = asyncio.get_running_loop().create_task(self._pump())
        self.connection = self._connection()
        if self.connection and self.registry.kernel_states:
            self.registry.watcher.watch(self.connection, self._send_queue)

    def _connection(self) -> tuple | None:
        server, client = self.scope.get("server"), self.scope.get("client")
        if not server or not client or server[1] is None:
            return None
        return (server[0], int(server[1]), client[0], int(client[1]))

    def _send_queue(self, queued: int | None) -> None:
        if queued is None:
            return
        if queued >= PAUSE_AT_BYTES:
            self.outbox.paused = True
        elif self.outbox.paused and queued <= RESUME_AT_BYTES:
            self.outbox.resume()

    def _too_slow(self) -> None:
        log.info("playground: closing a WebSocket that stopped reading")
        asyncio.get_running_loop().create_task(self.close(code=CLOSE_TRY_AGAIN_LATER))

    def _hello(self) -> dict:
        return {
            "type": "hello",
            "protocol": 1,
            "devices": [{"name": n, "ip": ip} for n, ip in self.sandbox.devices.items()],
            "limits": self.registry.limits.public(),
            "kernel_states": self.registry.kernel_states,
            "kernel_states_note": self.registry.kernel_reason,
            "expires": self.registry.expires_in(self.key),
            "sockets": self.sandbox.snapshot(),
            "data": self.sandbox.kept_data(),
        }

    async def _send_now(self, event: dict) -> None:
        await self.send(text_data=json.dumps(event))

    async def _pump(self) -> None:
        while True:
            event = await self.outbox.get()
            if self.outbox.overflowed:
                return  # _too_slow is closing the connection
            await self._send_now(event)
            if event["type"] == "sandbox.closed":
                await self.close(code=1000)
                return

    def _error(self, code: str, message: str, ref=None, **extra) -> None:
        self.outbox.put({"type": "error", "ref": ref, "code": code, "message": message, **extra})

    async def receive(self, text_data=None, bytes_data=None):
        if self.sandbox is None:
            return
        limits = self.registry.limits
        if text_data is None:
            self._error("binary_not_supported", "Send commands as JSON text, not binary.")
            return
        if len(text_data.encode("utf-8")) > limits.message_bytes:
            self._error(
                "limit_message_bytes",
                f"Messages may be at most {limits.message_bytes} bytes (message_bytes).",
                limit="message_bytes",
            )
            return
        if not self.bucket.take():
            self._error(
                "limit_commands_per_second",
                f"Too many commands: at most {limits.commands_per_second} a second, "
                f"{limits.command_burst} at once (commands_per_second).",
                limit="commands_per_second",
            )
            return
        try:
            command = protocol.parse(text_data)
        except SandboxError as error:
            self.outbox.put(protocol.error_event(error))
            return
        except Exception:  # a bug must not end the visitor's connection
            log.exception("playground message could not be parsed")
            self._error("internal_error", "That message could not be read; please try again.")
            return
        try:
            result = await protocol.execute(self.sandbox, command)
        except SandboxError as error:
            self.outbox.put(protocol.error_event(error, ref=command.ref))
            return
        except Exception:  # a bug must not end the visitor's connection
            log.exception("playground command failed")
            self._error(
                "internal_error",
                "Something went wrong on our side; please try again.",
                ref=command.ref,
            )
            return
        self.outbox.put(protocol.ok_event(command, result))

    async def disconnect(self, code):
        if getattr(self, "connection", None):
            self.registry.watcher.unwatch(self.connection)
        if self.sender is not None:
            self.sender.cancel()
            await asyncio.gather(self.sender, return_exceptions=True)
        if self.sandbox is not None:
            self.registry.detach(self.key, self.outbox.put)
