"""The pool engine: this process's sandboxes, as one process of a pool (no Django).

Rules:
- Sandboxes live here exactly as with the local engine; a command and its
  events never leave the process. What the pool adds is said at the edges:
  `serve` joins the pool (presence.Presence). Where a WebSocket goes is
  placement.Placement's, asked by the route view; a sandbox elsewhere is read
  by asking its owner (asking.ask_owner_once, from playground.live).
- Only a joined process holds sandboxes: any other refuses a WebSocket.
- A new sandbox first claims its session's lease; a sandbox already here needs
  no Redis, so WebSockets keep attaching while Redis is away.
- A WebSocket whose route said the session's sandbox died with its process
  gets `sandbox.lost` before its `hello`: each tab that had that sandbox is told.
- A process that is not (or no longer) in the pool refuses with limit
  "processes"; so does a claim Redis cannot record. The consumer closes those
  with 4012, which the page answers by reconnecting at once.
"""

import redis.asyncio as aioredis

from playground.engines.base import Attachment, Client, Sink
from playground.engines.local import LocalEngine
from playground.engines.pool.presence import LOST_WORDS, Presence, lost_event
from playground.sandbox.registry import Registry
from playground.wire.errors import SandboxError


class PoolEngine(LocalEngine):
    def __init__(self, registry: Registry, layer=None):
        super().__init__(registry)
        self.redis_url = registry.config.redis_url
        self.redis = aioredis.from_url(self.redis_url, decode_responses=True)
        self.layer = layer  # the channel layer: where this process answers inspects
        self.presence: Presence | None = None  # set once in the pool

    async def serve(self, address: str) -> Presence:
        """Join the pool as the process reached at `address` ("host:port")."""
        presence = Presence(self.registry, self.redis, self.layer, address, self.redis_url)
        await presence.join()
        self.presence = presence
        return presence

    async def attach(self, client: Client, sink: Sink) -> Attachment:
        presence = self.presence
        if presence is None or presence.draining:
            raise not_here()
        new = self.registry.get(client.session) is None
        if new:
            await presence.claim(client.session)
        try:
            attachment = await super().attach(client, sink)
        except BaseException:
            if self.registry.get(client.session) is None:  # refused: no sandbox, no lease
                await presence.give_back(client.session)
            raise
        if presence.draining:  # began while this attach waited: it missed the news
            attachment.detach()
            raise not_here()
        if client.lost in LOST_WORDS:
            attachment.hello_events.insert(0, lost_event(client.lost))
        return attachment

    async def drain(self) -> None:
        """SIGTERM: leave the pool, tell every visitor, close every sandbox."""
        if self.presence is not None:
            await self.presence.drain()
        await self.aclose()

    async def aclose(self) -> None:
        if self.presence is not None:
            await self.presence.aclose()
        await super().aclose()
        await self.redis.aclose()


def not_here() -> SandboxError:
    return SandboxError(
        "limit_sandboxes",
        "This server process takes no sandboxes now; the page reconnects to another.",
        limit="processes",
    )
