"""The pool engine: this process's sandboxes, as one process of a pool (no Django).

Rules:
- Sandboxes live here exactly as with the local engine; a command and its
  events never leave the process. What the pool adds is said at the edges:
  `serve` joins the pool (presence.Presence), `route` answers where a session's
  WebSocket goes (for the route view), `inspect` asks the owner elsewhere.
- Only a joined process holds sandboxes: any other refuses a WebSocket.
- A new sandbox first claims its session's lease; a sandbox already here needs
  no Redis, so WebSockets keep attaching while Redis is away.
- A WebSocket whose route said the session's sandbox died with its process
  gets `sandbox.lost` before its `hello`.
"""

import redis.asyncio as aioredis

from playground.engines.base import Attachment, Client, Sink
from playground.engines.local import LocalEngine
from playground.engines.pool.asking import Asker, ask_owner
from playground.engines.pool.presence import LOST_WORDS, Presence, lost_event
from playground.registry import Registry
from playground.sandbox import SandboxError


class PoolEngine(LocalEngine):
    def __init__(self, registry: Registry, layer=None):
        super().__init__(registry)
        self.redis_url = registry.config.redis_url
        self.redis = aioredis.from_url(self.redis_url, decode_responses=True)
        self.layer = layer  # the channel layer: inspect questions and their answers
        self.presence: Presence | None = None
        self._asker: Asker | None = None

    async def serve(self, address: str) -> Presence:
        """Join the pool as the process reached at `address` ("host:port")."""
        self.presence = Presence(self.registry, self.redis, self.layer, address, self.redis_url)
        await self.presence.join()
        return self.presence

    async def attach(self, client: Client, sink: Sink) -> Attachment:
        presence = self.presence
        if presence is None or presence.draining:
            raise SandboxError(
                "limit_sandboxes",
                "This server process holds no sandboxes; reload the page.",
                limit="processes",
            )
        if self.registry.get(client.session) is None:
            await presence.claim(client.session)
        attachment = await super().attach(client, sink)
        if client.lost in LOST_WORDS:
            attachment.hello_events.insert(0, lost_event(client.lost))
        return attachment

    async def inspect(self, session: str) -> dict | None:
        here = self.registry.inspect(session)
        if here is not None or self.layer is None:
            return here
        if self._asker is None:
            self._asker = Asker(self.layer)
        own = self.presence.id if self.presence is not None else None
        return await ask_owner(self.redis, self._asker, session, own)

    async def drain(self) -> None:
        """SIGTERM: leave the pool, tell every visitor, close every sandbox."""
        if self.presence is not None:
            await self.presence.drain()
        await self.aclose()

    async def aclose(self) -> None:
        if self.presence is not None:
            await self.presence.aclose()
        if self._asker is not None:
            await self._asker.aclose()
        await super().aclose()
        await self.redis.aclose()
