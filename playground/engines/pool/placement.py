"""Where a session's WebSocket goes: its sandbox's owner, or the best process for a new one.

Rules (one Lua script, so racing upgrades agree on one owner):
- A lease naming a live process: that process, whose address is returned.
- A lease naming a dead process (its key expired): the sandbox died with it; the
  route says `lost` and places the session anew. Every route of the session says
  `lost` for LOST_MS after, so each of its tabs, reconnecting, is told.
- No lease: the live process with the lowest load among those with room (the
  sandboxes it holds below its capacity); a full one is skipped. The placement takes the
  lease for PLACING_MS (the attach keeps it as long as a sandbox lives) and counts the process one
  fuller at once and until the sandbox is made (names.placing_key), so
  placements between heartbeats spread out.
- A dead process found on the way leaves the sorted set.
- Until SETTLE_MS after the first process registered (names.SINCE), nobody is
  placed: the route waits out the rest (at most SETTLE_MS), so an upgrade just
  after a Redis restart is slower, never sent to a second sandbox.
- No live process with room: None (the route view answers 503).
- A session key that is not one (absent, or not the shape Django makes) is
  routed, so the process can say why it refuses, but takes no lease: made-up
  cookies cannot fill Redis.
"""

import re
import time
from dataclasses import dataclass

import redis

from playground.engines.pool.names import (
    CAPACITY,
    HELD,
    LOST_MS,
    PLACING_MS,
    PREFIX,
    PROCESSES,
    SETTLE_MS,
    SINCE,
    lease_key,
    lost_key,
)

# Django's session keys: 32 characters of [a-z0-9] (get_random_string).
SESSION_KEY = re.compile(r"[a-z0-9]{32,40}")
LOST = "process_lost"

_ROUTE = """
local lost = ''
if KEYS[1] ~= '' and redis.call('exists', KEYS[4]) == 1 then lost = ARGV[3] end
local owner = KEYS[1] ~= '' and redis.call('get', KEYS[1])
if owner then
  local address = redis.call('get', ARGV[1] .. 'process:' .. owner)
  if address then return {address, owner, lost, 0} end
  lost = ARGV[3]
  redis.call('set', KEYS[4], '1', 'PX', ARGV[4])
end
local clock = redis.call('time')
local now = clock[1] * 1000 + math.floor(clock[2] / 1000)
local since = tonumber(redis.call('get', KEYS[5]) or now)
if now - since < tonumber(ARGV[5]) then return {'', '', lost, tonumber(ARGV[5]) - (now - since)} end
local members = redis.call('zrange', KEYS[2], 0, -1, 'WITHSCORES')
local best, best_load, best_address = '', 0, ''
for i = 1, #members, 2 do
  local id, load = members[i], tonumber(members[i + 1])
  local address = redis.call('get', ARGV[1] .. 'process:' .. id)
  if not address then
    redis.call('zrem', KEYS[2], id)
    redis.call('hdel', KEYS[3], id)
    redis.call('hdel', KEYS[6], id)
  else
    local room = tonumber(redis.call('hget', KEYS[3], id) or '0')
      - tonumber(redis.call('hget', KEYS[6], id) or '0')
    if room > 0 and (best == '' or load < best_load) then
      best, best_load, best_address = id, load, address
    end
  end
end
if best == '' then return {'', '', lost, 0} end
if KEYS[1] ~= '' then
  redis.call('set', KEYS[1], best, 'PX', ARGV[2])
  local placing = ARGV[1] .. 'placing:' .. best
  redis.call('zadd', placing, now + ARGV[2], KEYS[1])
  redis.call('pexpire', placing, ARGV[2])
end
redis.call('zincrby', KEYS[2], 1, best)
return {best_address, best, lost, 0}
"""


@dataclass(frozen=True)
class Route:
    address: str  # "host:port" of the owning process
    process: str  # its id
    lost: str = ""  # LOST when the session's sandbox died with its process


class Placement:
    """Answers routes from one Redis, synchronously: the route view is a plain view, and
    HTTP workers may be threads (WSGI) or an event loop's thread pool (ASGI) alike."""

    def __init__(self, redis_url: str):
        # Short timeouts: an upgrade waits on this; Redis away answers 503 at once.
        self.redis = redis.Redis.from_url(
            redis_url, decode_responses=True, socket_timeout=2, socket_connect_timeout=2
        )
        self._route = self.redis.register_script(_ROUTE)

    def route(self, session: str | None) -> Route | None:
        """Where the session's WebSocket goes; None when no live process has room.
        Raises redis' errors."""
        known = session and SESSION_KEY.fullmatch(session)
        lease, lost = (lease_key(session), lost_key(session)) if known else ("", "")
        keys = [lease, PROCESSES, CAPACITY, lost, SINCE, HELD]
        args = [PREFIX, PLACING_MS, LOST, LOST_MS, SETTLE_MS]
        for _ in range(2):
            address, process, lost, wait_ms = self._route(keys=keys, args=args)
            if not wait_ms:
                break
            time.sleep(wait_ms / 1000)  # the pool is settling: once, at most SETTLE_MS
        if not address:
            return None
        return Route(address, process, lost)
