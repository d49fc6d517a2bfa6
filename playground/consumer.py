"""The playground WebSocket: JSON commands in, sandbox events out.

The consumer only translates; the rules live in playground.sandbox (sockets),
playground.registry and playground.quotas (sandbox lifetimes and quotas),
playground.flow (rates and the bounded outbox), playground.protocol and
playground.events (the ops and events) and playground.labs (experiments). The
Origin check is sockets_site.origins, in the ASGI stack.

Rules:
- Every frame, text or binary, of any size, takes a token from the sandbox's
  bucket before anything else is looked at.
- Refusals close with a code the stack can send (autobahn, under Daphne, sends
  only 1000 and 3000-4999; anything else raised and left the connection open):
  4401 no session, 4429 a quota (sandboxes per address, WebSockets per
  session), 4503 the playground is full, 4008 the client stopped reading,
  4500 a fault on the server.
- A client that stops reading is closed within a bounded time: when its
  outbox overflows, or when its connection's kernel send queue has stayed
  above PAUSE_AT_BYTES for `slow_client_seconds`. From that decision on
  nothing more is queued for it. Daphne drops the TCP connection if the
  client does not answer the close within its close handshake timeout (1 s).
- Where the sandbox lives is the engine's business (playground.engine): in this
  process (local) or in a worker process (workers); the consumer is the same.
- The engine is told whose experiment progress the sandbox keeps (playground.labs):
  the account, else the session's learner key, else nobody ({}).
- Once attached, a consumer always detaches, whatever fails (connect, hello,
  pump): otherwise the sandbox would never reach its grace period.
- A send that meets the client's own close (a tab closed mid-stream) is the
  client leaving, not a fault: no traceback, no 4500.
- A channel layer that fails (Redis restarting) is retried, not raised:
  otherwise Channels ends the WebSocket (1011) with a traceback, one per
  connection. The engine resynchronises the page when the layer is back.
"""

import asyncio
import logging
import time

from asgiref.sync import sync_to_async
from channels.consumer import get_handler_name
from channels.generic.websocket import AsyncWebsocketConsumer

from lessons.learners import SESSION_KEY as LEARNER_KEY
from playground import events, outage, protocol
from playground.engine import Attachment
from playground.engines import get_engine
from playground.flow import Outbox
from playground.quotas import network_of
from playground.sandbox import SandboxError
from sockets_site.client_ip import scope_client_ip

try:  # Daphne's WebSocket library: a send that met the client's close on its way
    from autobahn.exception import Disconnected as ClientGone
except ImportError:  # another ASGI server
    ClientGone = ()

log = logging.getLogger(__name__)

CLOSE_NORMAL = 1000
CLOSE_TOO_SLOW = 4008
CLOSE_NO_SESSION = 4401
CLOSE_QUOTA = 4429
CLOSE_INTERNAL = 4500
CLOSE_FULL = 4503
REFUSAL_CLOSE_CODES = {
    "limit_sandboxes": CLOSE_FULL,
    "limit_addresses": CLOSE_FULL,
    "limit_sandboxes_per_address": CLOSE_QUOTA,
    "limit_websockets_per_session": CLOSE_QUOTA,
}
# The kernel's send queue of this WebSocket's own TCP connection tells whether
# the client reads: Daphne itself buffers without limit and never pushes back.
PAUSE_AT_BYTES = 64 * 1024
RESUME_AT_BYTES = 16 * 1024


def owner_of(scope) -> dict:
    """Whose experiment progress the sandbox keeps: the account, else the session's
    learner key (lessons.learners), else nobody known ({})."""
    user = scope.get("user")
    if user is not None and user.is_authenticated:
        return {"user": user.pk}
    learner = scope["session"].get(LEARNER_KEY)
    return {"learner": learner} if learner else {}


class PlaygroundConsumer(AsyncWebsocketConsumer):
    attachment: Attachment | None = None
    sender = None
    outbox = None
    connection = None
    watcher = None
    gave_up = False
    paused_since = 0.0

    async def dispatch(self, message):
        # Channels closes stale database connections before every message, a hop to a
        # thread each time; this consumer never touches the database (the session key
        # comes from the cookie), and the hop cost a tenth of a millisecond per message.
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    # Channels sets `channel_receive` to the layer's receive for this channel; the
    # property hands its dispatch loop a receive that outlives a layer outage.
    @property
    def channel_receive(self):
        return self._receive_from_layer

    @channel_receive.setter
    def channel_receive(self, receive):
        self._layer_receive = receive

    async def _receive_from_layer(self):
        return await outage.retrying(self._layer_receive)

    async def connect(self):
        await self.accept()
        session = self.scope.get("session")
        self.key = getattr(session, "session_key", None)
        if not self.key:
            await self._send_now(
                events.error(
                    "no_session",
                    "Open the playground page first: it starts the session that your sandbox "
                    "belongs to.",
                )
            )
            await self.close(code=CLOSE_NO_SESSION)
            return
        engine = get_engine()
        self.limits = engine.limits
        self.outbox = Outbox(self.limits.outgoing_queue, on_overflow=self._too_slow)
        address = network_of(scope_client_ip(self.scope))
        # In a thread: reading the session may need the database.
        owner = await sync_to_async(owner_of)(self.scope)
        try:
            self.attachment = await engine.attach(
                self.key, address, self.outbox.put, self, owner=owner
            )
        except SandboxError as error:
            await self._send_now(protocol.error_event(error))
            await self.close(code=REFUSAL_CLOSE_CODES.get(error.code, CLOSE_FULL))
            return
        try:
            for event in self.attachment.hello_events:
                await self._send_now(event)
            self.sender = asyncio.get_running_loop().create_task(self._pump())
            self.connection = self._connection()
            self.watcher = self.attachment.watcher
            if self.connection and self.watcher is not None:
                self.watcher.watch(self.connection, self._send_queue)
        except BaseException:
            self._leave()
            raise

    def _connection(self) -> tuple | None:
        server, client = self.scope.get("server"), self.scope.get("client")
        if not server or not client or server[1] is None:
            return None
        return (server[0], int(server[1]), client[0], int(client[1]))

    def _send_queue(self, queued: int | None) -> None:
        if queued is None or self.outbox.closed:
            return
        now = time.monotonic()
        if queued >= PAUSE_AT_BYTES:
            if not self.outbox.paused:
                self.outbox.paused, self.paused_since = True, now
            elif now - self.paused_since >= self.limits.slow_client_seconds:
                self._too_slow()
        elif self.outbox.paused and queued <= RESUME_AT_BYTES:
            self.outbox.resume()

    def _too_slow(self) -> None:
        """Give up on a client that stopped reading: queue nothing more, close it."""
        if self.gave_up:
            return
        self.gave_up = True
        log.info("playground: closing a WebSocket that stopped reading")
        self._leave()
        asyncio.get_running_loop().create_task(self.close(code=CLOSE_TOO_SLOW))

    def _leave(self) -> None:
        """Stop queueing and detach from the sandbox; safe to call more than once."""
        if self.outbox is not None:
            self.outbox.close()
        if self.connection:
            self.watcher.unwatch(self.connection)
            self.connection = None
        if self.attachment is not None:
            self.attachment.detach()

    async def _send_now(self, event: dict) -> None:
        text = protocol.dumps(event)
        # Daphne fails the whole connection on a message over its cap; events are
        # bounded by construction, so this only guards against a bug.
        if len(text) * 4 > protocol.MESSAGE_BYTES and len(text.encode()) > protocol.MESSAGE_BYTES:
            log.error("playground: an event of %d characters was too large to send", len(text))
            text = protocol.dumps(
                events.error(
                    "internal_error", "An event too large to send was left out.", event.get("ref")
                )
            )
        await self.send(text_data=text)

    async def _pump(self) -> None:
        try:
            while True:
                event = await self.outbox.get()
                if event is None:
                    return  # given up on: the connection is being closed
                await self._send_now(event)
                if event["type"] == "sandbox.closed":
                    self._leave()
                    await self.close(code=CLOSE_NORMAL)
                    return
        except ClientGone:
            # The client closed while an event was on its way: it left, nothing failed
            # (disconnect follows). Under load this happened for every tab closed
            # mid-stream, each with a traceback.
            self._leave()
        except Exception:
            log.exception("playground: sending to a WebSocket failed")
            self._leave()
            await self.close(code=CLOSE_INTERNAL)

    async def receive(self, text_data=None, bytes_data=None):
        if self.attachment is None or self.outbox.closed:
            return
        await self.attachment.frame(text_data)

    async def playground_message(self, message):
        """From the channel layer (workers engine): events and news of the sandbox."""
        if self.attachment is not None and not self.outbox.closed:
            self.attachment.deliver(message)

    async def disconnect(self, code):
        self._leave()
        if self.sender is not None:
            self.sender.cancel()
            await asyncio.gather(self.sender, return_exceptions=True)
