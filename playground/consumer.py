"""The playground WebSocket: JSON commands in, sandbox events out.

The consumer only translates, through one seam (playground.engines.base): the
rules live in playground.sandbox.sandbox (sockets), playground.sandbox.registry and
playground.sandbox.quotas (sandbox lifetimes and quotas), playground.sandbox.flow (rates, the
bounded outbox and the slow-reader rule), playground.wire.protocol and
playground.wire.events (the ops and events) and playground.labs.lab (experiments). The
Origin check is sockets_site.origins, in the ASGI stack.

Rules:
- Every frame, text or binary, of any size, takes a token from the sandbox's
  bucket before anything else is looked at.
- Refusals close with a code the stack can send (autobahn, under Daphne, sends
  only 1000 and 3000-4999; anything else raised and left the connection open):
  4401 no session, 4429 a quota (sandboxes per address, WebSockets per
  session), 4503 the playground is full, 4012 this process of a pool takes no
  sandbox now (reconnect at once), 4008 the client stopped reading, 4500 a
  fault on the server.
- A client that stops reading is closed within a bounded time: when its
  outbox overflows, or by the slow-reader rule (playground.sandbox.flow.SlowReader).
  From that decision on nothing more is queued for it. Daphne drops the TCP
  connection if the client does not answer the close within its close
  handshake timeout (1 s).
- The sandbox lives in this process whatever the engine: the consumer joins no
  channel-layer channel, so neither Redis nor any broker is on a command's path.
- The engine is told whose experiment progress the sandbox keeps (playground.labs.lab):
  the account, else the session's learner key, else nobody ({}); and, with the
  pool engine, the proxy's word (LOST_HEADER) that the session's sandbox died.
- Once attached, a consumer always detaches, whatever fails (connect, hello,
  pump): otherwise the sandbox would never reach its grace period.
- A send that meets the client's own close (a tab closed mid-stream) is the
  client leaving, not a fault: no traceback, no 4500.
"""

import asyncio
import logging

from asgiref.sync import sync_to_async
from channels.consumer import get_handler_name
from channels.generic.websocket import AsyncWebsocketConsumer

from playground.engines import Attachment, Client, get_engine
from playground.sandbox.flow import Outbox, SlowReader
from playground.wire import errors, events, protocol
from playground.wire.errors import CLOSE_FULL, CLOSE_NO_SESSION, SandboxError
from sockets_site.client_ip import scope_client_ip
from sockets_site.learners import SESSION_KEY as LEARNER_KEY
from sockets_site.networks import network_of

try:  # Daphne's WebSocket library: a send that met the client's close on its way
    from autobahn.exception import Disconnected as ClientGone
except ImportError:  # another ASGI server
    ClientGone = ()

log = logging.getLogger(__name__)

# The close codes that are no refusal's; a refusal's is its code's (errors.ERRORS).
CLOSE_NORMAL = 1000
CLOSE_AGAIN = 4012
CLOSE_TOO_SLOW = 4008
CLOSE_INTERNAL = 4500


def refusal_close_code(error: SandboxError) -> int:
    """A pool's refusal for now (this process leaves, or cannot reach Redis) is 4012:
    the page reconnects at once and the proxy routes it to a process that takes it."""
    if error.extra.get("limit") == "processes":
        return CLOSE_AGAIN
    return errors.lookup(error.code).close or CLOSE_FULL


# Set by nginx from the route view's answer (deploy/nginx.conf.template), always
# replacing what a client sent; read only with the pool engine.
LOST_HEADER = b"x-playground-lost"


def owner_of(scope) -> dict:
    """Whose experiment progress the sandbox keeps: the account, else the session's
    learner key (sockets_site.learners), else nobody known ({})."""
    user = scope.get("user")
    if user is not None and user.is_authenticated:
        return {"user": user.pk}
    learner = scope["session"].get(LEARNER_KEY)
    return {"learner": learner} if learner else {}


def lost_of(scope) -> str:
    return next((v.decode("latin-1") for k, v in scope.get("headers", ()) if k == LOST_HEADER), "")


class PlaygroundConsumer(AsyncWebsocketConsumer):
    # No channel layer: the consumer takes no message but its WebSocket's, and joining
    # a layer would put Redis on every connect (and a SUBSCRIBE per WebSocket).
    channel_layer_alias = "playground.none"
    attachment: Attachment | None = None
    sender = None
    outbox = None
    connection = None
    probe = None
    gave_up = False

    async def dispatch(self, message):
        """Called for each ASGI message. Channels closes stale database connections
        before every message, a hop to a thread each time; this consumer never touches
        the database after connect (the session key comes from the cookie), and the hop
        cost a tenth of a millisecond per message."""
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def connect(self):
        """Called when the WebSocket opens: attach to the session's sandbox, send its hello."""
        await self.accept()
        session = self.scope.get("session")
        key = getattr(session, "session_key", None)
        if not key:
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
        # In a thread: reading the session may need the database.
        owner = await sync_to_async(owner_of)(self.scope)
        client = Client(key, network_of(scope_client_ip(self.scope)), owner, lost_of(self.scope))
        try:
            self.attachment = await engine.attach(client, self.outbox.put)
        except SandboxError as error:
            await self._send_now(protocol.error_event(error))
            await self.close(code=refusal_close_code(error))
            return
        try:
            for event in self.attachment.hello_events:
                await self._send_now(event)
            self.sender = asyncio.get_running_loop().create_task(self._pump())
            self.connection = self._connection()
            self.probe = engine.send_queues
            if self.connection and self.probe is not None:
                slow = SlowReader(self.outbox, self.limits.slow_client_seconds, self._too_slow)
                self.probe.watch(self.connection, slow)
        except BaseException:
            self._leave()
            raise

    def _connection(self) -> tuple | None:
        server, client = self.scope.get("server"), self.scope.get("client")
        if not server or not client or server[1] is None:
            return None
        return (server[0], int(server[1]), client[0], int(client[1]))

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
            self.probe.unwatch(self.connection)
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
        """Called with each frame from the client."""
        if self.attachment is None or self.outbox.closed:
            return
        await self.attachment.frame(text_data)

    async def disconnect(self, code):
        """Called when the WebSocket has closed, from either side."""
        self._leave()
        if self.sender is not None:
            self.sender.cancel()
            await asyncio.gather(self.sender, return_exceptions=True)
