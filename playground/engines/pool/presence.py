"""A sandbox process in the pool: joining, staying, coming back after Redis, leaving (no Django).

Rules:
- Join: the process answers on its channel first (asking.Answerer), then writes
  its key (its address), its count and its capacity: from that moment routes
  may name it.
- Every HEARTBEAT it renews its key for LEASE_MS and writes its true load
  (names.PROCESSES); a process killed (SIGKILL) drops out within LEASE_MS, and the routes of its
  sessions then say `process_lost` (placement.route).
- Leases: a new sandbox claims its session's lease (`claim`, one Lua script):
  refused only when another live process owns it. A sandbox closed, or an
  attach refused after the claim, gives the lease back (compare-and-delete:
  never another process's).
- Redis restarted (our key found gone): the process writes back every lease it
  holds, then its key, load and capacity (placements wait SETTLE_MS after the
  first process is back, so every process has done so first), its quota
  counts, and listens on its channel again.
  Sandboxes and their WebSockets never depended on Redis, so none is lost.
- Drain (SIGTERM): leave the pool first (no route names us again) and give the
  leases back, then tell every WebSocket `sandbox.lost` (process_stopped) and
  close its sandbox with `sandbox.closed`; the pages reconnect and are placed
  on another process. At most DRAIN_SECONDS is spent waiting for them to go.
"""

import asyncio
import contextlib
import logging
import time
import uuid

from playground.engines.pool import names
from playground.engines.pool.asking import Answerer, keep_task
from playground.engines.pool.quotas import RedisQuotas
from playground.sandbox.registry import Registry
from playground.wire import events
from playground.wire.errors import SandboxError
from sockets_site import outage_notice as outage

log = logging.getLogger(__name__)

DRAIN_SECONDS = 5.0
STOPPED = "process_stopped"
LOST_WORDS = {
    "process_lost": "The server process that held your sandbox stopped, so its sockets are "
    "gone. This is a fresh sandbox.",
    STOPPED: "The server process that held your sandbox is shutting down, so its sockets "
    "are gone. The page connects you to a fresh sandbox.",
}

_CLAIM = """
local owner = redis.call('get', KEYS[1])
if owner and owner ~= ARGV[1] and redis.call('exists', ARGV[2] .. 'process:' .. owner) == 1 then
  return owner
end
redis.call('set', KEYS[1], ARGV[1], 'PX', ARGV[3])
redis.call('zrem', ARGV[2] .. 'placing:' .. ARGV[1], KEYS[1])
return ''
"""
# The heartbeat: our key renewed only while it exists (gone, Redis lost us: register
# again), our load written as sandboxes held plus placements still on their way, and
# the sandboxes held alone (HELD: what "full" is judged on).
_BEAT = """
local previous = redis.call('get', KEYS[1])
if previous then redis.call('set', KEYS[1], ARGV[1], 'PX', ARGV[2]) end
local now = redis.call('time')
redis.call('zremrangebyscore', KEYS[3], '-inf', now[1] * 1000 + math.floor(now[2] / 1000))
local load = tonumber(ARGV[4]) + redis.call('zcard', KEYS[3])
redis.call('zadd', KEYS[2], load, ARGV[3])
redis.call('hset', KEYS[5], ARGV[3], ARGV[4])
redis.call('pexpire', KEYS[4], ARGV[2])
return previous
"""
# Registration: in the pool from here. SINCE keeps the first registration's time.
_REGISTER = """
local clock = redis.call('time')
redis.call('set', KEYS[4], clock[1] * 1000 + math.floor(clock[2] / 1000), 'NX')
redis.call('hset', KEYS[2], ARGV[2], ARGV[4])
redis.call('hset', KEYS[3], ARGV[2], ARGV[5])
redis.call('zadd', KEYS[5], ARGV[5], ARGV[2])
redis.call('set', KEYS[1], ARGV[1], 'PX', ARGV[3])
"""
_GIVE_BACK = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""


def lost_event(reason: str) -> dict:
    return events.lost(reason, LOST_WORDS[reason])


class Presence:
    def __init__(self, registry: Registry, redis, layer, address: str, redis_url: str):
        self.id = uuid.uuid4().hex[:16]
        self.registry, self.redis, self.layer, self.address = registry, redis, layer, address
        self.channel = names.process_channel(self.id)
        self.draining = False
        self.registered = False
        self.quotas = RedisQuotas(registry.limits, redis_url, self.id)
        self.held_ms = names.held_ms(registry.limits.lifetime, registry.limits.grace_period)
        self._tasks: set[asyncio.Task] = set()
        self._heart: asyncio.Task | None = None
        self.answerer: Answerer | None = None

    async def join(self) -> None:
        """Answer on our channel, then join the pool (retried while Redis is away)."""
        self.registry.quotas = self.quotas
        self.registry.on_discard = self._discarded
        self.answerer = Answerer(self.layer, self.channel, {"inspect": self._inspect})
        await self.answerer.until_listening()
        while True:
            try:
                await self._beat()
                break
            except Exception as error:
                outage.redis.failed(error)
                await asyncio.sleep(names.HEARTBEAT)
        outage.redis.recovered()
        self._heart = asyncio.get_running_loop().create_task(self._heartbeat())

    async def _inspect(self, message: dict) -> dict:
        return {"inspected": self.registry.inspect(message["session"])}

    async def claim(self, session: str) -> None:
        """Make this process the owner of the session's lease, for a new sandbox here."""
        try:
            owner = await self.redis.eval(
                _CLAIM, 1, names.lease_key(session), self.id, names.PREFIX, self.held_ms
            )
        except Exception as error:
            outage.redis.failed(error)
            raise SandboxError(
                "limit_sandboxes",
                "The playground cannot record where your sandbox lives right now. Please try "
                "again in a moment.",
                limit="processes",
            ) from None
        if owner:
            raise SandboxError(
                "limit_sandboxes",
                "Your sandbox lives in another server process; the page reconnects to it.",
                limit="processes",
            )

    async def _beat(self) -> None:
        if self.draining:
            return
        load = len(self.registry)
        previous = await self.redis.eval(
            _BEAT,
            5,
            names.process_key(self.id),
            names.PROCESSES,
            names.placing_key(self.id),
            self.quotas.key,
            names.HELD,
            self.address,
            names.LEASE_MS,
            self.id,
            load,
        )
        if previous is not None:
            return
        # First, or Redis lost us: our leases back before anyone is placed (SETTLE_MS),
        # then ourselves; our channel only after, since no learner waits on it.
        async with self.redis.pipeline(transaction=False) as pipe:
            for session in self.registry.sessions():
                pipe.set(names.lease_key(session), self.id, px=self.held_ms)
            pipe.eval(
                _REGISTER,
                5,
                names.process_key(self.id),
                names.CAPACITY,
                names.HELD,
                names.SINCE,
                names.PROCESSES,
                self.address,
                self.id,
                names.LEASE_MS,
                self.registry.limits.sandboxes_per_process,
                load,
            )
            await pipe.execute()
        if self.registered:
            self.quotas.restore(self.registry.networks())
            log.warning("playground process %s: registered again in Redis", self.id)
            await self.answerer.until_listening()
        self.registered = True

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(names.HEARTBEAT)
            try:
                await self._beat()
            except Exception as error:
                outage.redis.failed(error)
            else:
                outage.redis.recovered()

    def _discarded(self, session: str) -> None:
        if self.draining:
            return  # drain gives every lease back itself
        keep_task(self._tasks, self.give_back(session))

    async def give_back(self, session: str) -> None:
        """The session's lease, if it is ours: a sandbox closed here, or never made."""
        try:
            await self.redis.eval(_GIVE_BACK, 1, names.lease_key(session), self.id)
        except Exception as error:  # a route finds it naming a process gone, later
            outage.redis.failed(error)

    async def drain(self) -> None:
        """Leave the pool, tell every visitor, close every sandbox."""
        self.draining = True
        sessions = self.registry.sessions()
        log.info("playground process %s: draining %d sandboxes", self.id, len(sessions))
        if self._heart is not None:
            self._heart.cancel()
        with contextlib.suppress(Exception):
            async with self.redis.pipeline(transaction=False) as pipe:
                pipe.delete(names.process_key(self.id), self.quotas.key)
                pipe.delete(names.placing_key(self.id))
                pipe.zrem(names.PROCESSES, self.id)
                pipe.hdel(names.CAPACITY, self.id)
                pipe.hdel(names.HELD, self.id)
                for session in sessions:
                    pipe.eval(_GIVE_BACK, 1, names.lease_key(session), self.id)
                await pipe.execute()
        lost = lost_event(STOPPED)
        closed = events.closed("sandbox_lost", LOST_WORDS[STOPPED])
        for session in sessions:
            self.registry.tell(session, lost, closed)
        # The consumers close their WebSockets once `sandbox.closed` is sent, and detach.
        deadline = time.monotonic() + DRAIN_SECONDS
        while self.registry.attached() and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        await self.aclose()

    async def aclose(self) -> None:
        self.draining = True
        if self._heart is not None:
            self._heart.cancel()
        if self.answerer is not None:
            await self.answerer.aclose()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self.quotas.close()
