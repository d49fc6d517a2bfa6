"""Sandboxes per address counted in Redis, across every sandbox process of the pool (no Django).

Rules (as playground.sandbox.quotas, across processes):
- Each process counts its own sandboxes per address in a hash of its own,
  `quota_key(process)`, which its heartbeat keeps alive; an address holds the
  sum over the live processes (their key exists), so the counts of a process
  that died stop counting when its key expires.
- `take_sandbox` decides and records in one Lua script: racing processes cannot
  both take an address's last place.
- WebSockets per session stay in memory: every WebSocket of a session reaches
  the one process that holds the session's sandbox.
- The client is synchronous on purpose: a count is decided and recorded with no
  await between, like the in-memory quotas. Its timeouts are short, so Redis
  away blocks the process's loop at most TIMEOUT seconds: a new sandbox is then
  refused ("try again"), a release is skipped (the hash is written anew from
  the process's own sandboxes when Redis is back, see `restore`).
"""

from collections import Counter

import redis

from playground.engines.pool.names import LEASE_MS, PREFIX, PROCESSES, quota_key
from playground.sandbox.quotas import MemoryQuotas, address_full, reserved_only
from playground.wire.errors import SandboxError
from playground.wire.limits import Limits
from sockets_site import outage_notice as outage

_TAKE = """
local held = 0
for _, process in ipairs(redis.call('zrange', KEYS[2], 0, -1)) do
  local alive = table.concat({ARGV[6], 'process:', process})
  local counts = table.concat({ARGV[6], 'quota:', process})
  if process ~= ARGV[1] and redis.call('exists', alive) == 1 then
    held = held + tonumber(redis.call('hget', counts, ARGV[2]) or '0')
  end
end
held = held + tonumber(redis.call('hget', KEYS[1], ARGV[2]) or '0')
if held >= tonumber(ARGV[3]) then return {0, held} end
if held > 0 and tonumber(ARGV[5]) <= tonumber(ARGV[4]) then return {-1, held} end
redis.call('hincrby', KEYS[1], ARGV[2], 1)
redis.call('pexpire', KEYS[1], ARGV[7])
return {1, held}
"""
_RELEASE = """
if redis.call('hincrby', KEYS[1], ARGV[1], -1) <= 0 then redis.call('hdel', KEYS[1], ARGV[1]) end
"""
TIMEOUT = 0.5  # seconds; localhost Redis answers in well under a millisecond


class RedisQuotas(MemoryQuotas):
    def __init__(self, limits: Limits, redis_url: str, process: str):
        super().__init__(limits)
        self.process = process
        self.key = quota_key(process)
        self.redis = redis.Redis.from_url(
            redis_url, decode_responses=True, socket_timeout=TIMEOUT, socket_connect_timeout=TIMEOUT
        )
        self._take = self.redis.register_script(_TAKE)
        self._release_script = self.redis.register_script(_RELEASE)

    def take_sandbox(self, network: str, free_in_process: int) -> None:
        try:
            taken, held = self._take(
                keys=[self.key, PROCESSES],
                args=[
                    self.process,
                    network,
                    self.limits.sandboxes_per_address,
                    self.limits.reserved_sandboxes,
                    free_in_process,
                    PREFIX,
                    LEASE_MS,
                ],
            )
        except redis.RedisError as error:
            outage.redis.failed(error)
            raise SandboxError(
                "limit_sandboxes",
                "The playground cannot count its sandboxes right now. Please try again in a "
                "moment.",
                limit="processes",
            ) from None
        if taken == 0:
            raise address_full(held, self.limits)
        if taken == -1:
            raise reserved_only()

    def release_sandbox(self, network: str) -> None:
        try:
            self._release_script(keys=[self.key], args=[network])
        except redis.RedisError as error:
            outage.redis.failed(error)

    def restore(self, networks: Counter) -> None:
        """Write this process's counts anew (a restarted Redis has lost them)."""
        with self.redis.pipeline() as pipe:
            pipe.delete(self.key)
            if networks:
                pipe.hset(self.key, mapping=dict(networks))
                pipe.pexpire(self.key, LEASE_MS)
            pipe.execute()

    def close(self) -> None:
        self.redis.close()

    def held(self, network: str) -> int:
        """This process's own count (for tests and tools)."""
        return int(self.redis.hget(self.key, network) or 0)
