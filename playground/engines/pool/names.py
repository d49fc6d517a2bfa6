"""The pool's names in Redis and on the channel layer, and its timings (no Django).

Rules:
- `process_key(id)` holds a live process's address ("host:port") and expires
  LEASE_MS after its last heartbeat: it existing is what "alive" means.
- PROCESSES scores each process by its load: the sandboxes it holds plus the
  placements on their way to it (`placing_key(id)`, a sorted set of leases by
  expiry, each removed by the sandbox's claim or after PLACING_MS). A placement
  counts at once; each heartbeat writes the true sum, so a count never lags
  nor undoes a placement in flight. CAPACITY holds each process's
  sandboxes_per_process, so a full process is skipped.
- `lease_key(session)` names the process that owns the session's sandbox: for
  PLACING_MS once placed (a WebSocket is on its way), then, from the attach that
  made the sandbox, as long as a sandbox may live (`held_ms`); given back when
  the sandbox closes, or when the attach is refused. A lease naming a process
  whose key is gone means that process died with the sandbox.
- HELD holds the sandboxes each process really holds (its heartbeat writes it):
  "full" is judged on it, never on placements in flight, so routes alone, made
  by anyone, can skew the balance but never make the pool look full.
- SINCE is when the first process registered in this Redis. New placements wait
  until SETTLE_MS after it, so that after a Redis restart every live process has
  written its leases back before anyone is placed: no session gets a second
  sandbox on another process.
- Session keys appear only digested, so Redis never holds a usable session key.
"""

import hashlib

PREFIX = "playground:"
PROCESSES = PREFIX + "processes"  # sorted set: process id -> sandboxes held
CAPACITY = PREFIX + "capacity"  # hash: process id -> sandboxes_per_process
HELD = PREFIX + "held"  # hash: process id -> sandboxes it holds
SINCE = PREFIX + "since"  # Redis time (ms) the first process registered
HEARTBEAT = 1.0  # seconds between a process's heartbeats
LEASE_MS = 3000  # a process's key lives this long after its last heartbeat
PLACING_MS = 30_000  # a placement waits this long for its WebSocket
SETTLE_MS = 2 * 1000  # placements wait this long after the first registration: 2 heartbeats
LOST_MS = 15_000  # the routes of a session whose sandbox died say so this long
ASK_SECONDS = 2.0  # an owner that does not answer an inspect this long is not waited for


def held_ms(lifetime: float, grace_period: float) -> int:
    """How long an owned sandbox's lease lasts: as long as the sandbox can live."""
    return int((lifetime + grace_period) * 1000) + LEASE_MS


def digest(session: str) -> str:
    return hashlib.sha256(session.encode()).hexdigest()[:32]


def process_key(process: str) -> str:
    return f"{PREFIX}process:{process}"


def lease_key(session: str) -> str:
    return f"{PREFIX}lease:{digest(session)}"


def lost_key(session: str) -> str:
    return f"{PREFIX}lost:{digest(session)}"


def placing_key(process: str) -> str:
    return f"{PREFIX}placing:{process}"


def quota_key(process: str) -> str:
    return f"{PREFIX}quota:{process}"


def process_channel(process: str) -> str:
    """The channel-layer channel where a process answers what others ask of it."""
    return f"playground.process.{process}"
