"""Flow control for one WebSocket: commands in (token bucket), events out (outbox).

Rules: a sandbox accepts `rate` commands a second with bursts of `burst`, from
all its WebSockets together (the registry keeps one bucket per sandbox); the
outbox holds at most `limit` events, and a socket's rows coalesce (only the
newest row of each socket waits), so a client that stops reading costs a
bounded amount of memory; past the bound it is too slow and is closed. Once
the outbox has given up on its client (overflow, or the slow-reader rule decided
the client is too slow), it drops what it holds and refuses every later event.

The slow-reader rule (SlowReader): the kernel's send queue of the WebSocket's own
TCP connection tells whether the client reads, since the ASGI server buffers
without limit and never pushes back. Above PAUSE_AT_BYTES the outbox pauses
(events coalesce in it); at or below RESUME_AT_BYTES it resumes; paused for
`seconds`, the client is too slow.
"""

import asyncio
import itertools
import time


class TokenBucket:
    def __init__(self, rate: float, burst: int, clock=time.monotonic):
        self.rate, self.burst, self.clock = rate, burst, clock
        self.tokens = float(burst)
        self.stamp = clock()

    def take(self) -> bool:
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


class Outbox:
    def __init__(self, limit: int, on_overflow=None):
        self.limit = limit
        self.on_overflow = on_overflow
        self._items: dict = {}
        self._serial = itertools.count()
        self._ready = asyncio.Event()
        self.overflowed = False
        self.closed = False  # given up on: nothing more is queued
        self.coalesced = 0
        self.paused = False  # the client is not reading (see the consumer)

    def __len__(self) -> int:
        return len(self._items)

    def put(self, event: dict) -> None:
        if self.closed:
            return  # the client is being closed: queueing for it would only grow memory
        if event.get("type") == "socket":
            key = ("socket", event["socket"]["id"])
            if key in self._items:
                self.coalesced += 1
                del self._items[key]  # the newest row goes to the back
        else:
            if event.get("type") == "socket.gone":
                self._items.pop(("socket", event["socket"]), None)
            key = ("event", next(self._serial))
        self._items[key] = event
        if len(self._items) > self.limit:
            self.overflowed = True
            self.close()
            if self.on_overflow is not None:
                self.on_overflow()
            return
        self._ready.set()

    def close(self) -> None:
        """Give up on the client: drop what waits, refuse what comes, end `get`."""
        self.closed = True
        self._items.clear()
        self._ready.set()

    def pause(self) -> None:
        self.paused = True

    def resume(self) -> None:
        self.paused = False
        if self._items:
            self._ready.set()

    async def get(self) -> dict | None:
        """The next event, or None once the outbox is closed."""
        while not self.closed and (not self._items or self.paused):
            self._ready.clear()
            await self._ready.wait()
        if self.closed:
            return None
        key = next(iter(self._items))
        return self._items.pop(key)


PAUSE_AT_BYTES = 64 * 1024
RESUME_AT_BYTES = 16 * 1024


class SlowReader:
    """Fed the send queue of one WebSocket's connection (None once it is gone) every tick."""

    def __init__(self, outbox: Outbox, seconds: float, on_too_slow, clock=time.monotonic):
        self.outbox, self.seconds, self.clock = outbox, seconds, clock
        self.on_too_slow = on_too_slow
        self.paused_since = 0.0

    def __call__(self, queued: int | None) -> None:
        if queued is None or self.outbox.closed:
            return
        now = self.clock()
        if queued >= PAUSE_AT_BYTES:
            if not self.outbox.paused:
                self.outbox.pause()
                self.paused_since = now
            elif now - self.paused_since >= self.seconds:
                self.on_too_slow()
        elif self.outbox.paused and queued <= RESUME_AT_BYTES:
            self.outbox.resume()
