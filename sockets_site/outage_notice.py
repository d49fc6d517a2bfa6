"""One warning when a shared service goes away, one when it is back (no Django).

Rules: many tasks notice the same outage (every WebSocket's channel receive,
every publisher, the heartbeat, channels_redis's own receiver); the log gets
one line for it, with no traceback, not one per task or per retry. The retry delay grows from
FIRST_DELAY to LAST_DELAY, so a long outage costs little. An Outage may be told of
failures from several threads at once (the database's, sockets_site.outage): a lock
keeps it to one line each way.
"""

import asyncio
import logging
import threading

log = logging.getLogger(__name__)

FIRST_DELAY = 0.1
LAST_DELAY = 2.0


class Outage:
    def __init__(self, what: str, meanwhile: str = "retrying"):
        self.what = what
        self.meanwhile = meanwhile
        self.down = False
        self._lock = threading.Lock()

    def failed(self, error: BaseException) -> None:
        with self._lock:
            if self.down:
                return
            self.down = True
        # One line, even for a driver's message of several.
        reason = " ".join(str(error).split()) or type(error).__name__
        log.warning("%s is unreachable (%s); %s", self.what, reason, self.meanwhile)

    def recovered(self) -> None:
        with self._lock:
            if not self.down:
                return
            self.down = False
        log.warning("%s is reachable again", self.what)


redis = Outage("Redis")


class RedisOutageFilter(logging.Filter):
    """For loggers of libraries that log a traceback each time Redis fails them
    (channels_redis's pub/sub receiver, once a second): counted as the outage instead."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, OSError) or type(error).__module__.startswith("redis."):
            redis.failed(error)
            return False
        return True


async def retrying(call, outage: Outage = redis):
    """`await call()` until it succeeds; failures are logged once per outage."""
    delay = FIRST_DELAY
    while True:
        try:
            result = await call()
        except Exception as error:
            outage.failed(error)
            await asyncio.sleep(delay)
            delay = min(2 * delay, LAST_DELAY)
        else:
            outage.recovered()
            return result
