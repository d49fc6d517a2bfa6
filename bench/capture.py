"""Load for the playground benchmark's packet capture section: sandboxes that watch
their packets while they talk, read the way a page reads them.

- `Watched`: a WebSocket read all the time, as the page does; it records each
  packet's kernel timestamp (`time`) and the delay from it to the moment its
  `packet` event reached this client, and lets a caller await an event.
- `traffic`: a sandbox that asks for its packets (or not), opens a new connection
  and sends "hi" on it every `interval` seconds until told to stop.
- `state_latency`: a shutdown, then the peer's CLOSE_WAIT read from the kernel;
  `reset`: an RST, so the kernel keeps nothing of the connection.
- `history_cost`: what a full packet history of one sandbox costs in memory.
"""

import asyncio
import contextlib
import json
import random
import time
import tracemalloc
from collections import deque
from datetime import datetime

import websockets

from playground.capture.packets import Packet, record

TO_SERVER = {"device": "server", "port": 3000}


class Watched:
    """A WebSocket read continuously; `until` awaits an event, with the time it came."""

    def __init__(self, ws, delays: list[tuple[float, float]]):
        self.ws, self.delays = ws, delays
        self.packets = self.dropped = 0
        self._waiters: list[tuple] = []
        self._refs = 0
        self.task = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        try:
            async for text in self.ws:
                now = time.time()
                event = json.loads(text)
                if event["type"] == "packet":
                    sent = datetime.fromisoformat(event["time"]).timestamp()
                    self.delays.append((sent, now - sent))
                    self.packets += 1
                    self.dropped += event["dropped"]
                for waiter in list(self._waiters):
                    predicate, future = waiter
                    if predicate(event):
                        self._waiters.remove(waiter)
                        if not future.done():
                            future.set_result((event, now))
        except websockets.ConnectionClosed:
            pass

    def until(self, predicate) -> asyncio.Future:
        """A future of (event, time it came) for the next event that fits; made before
        the command that causes it is sent, so it cannot be missed."""
        future = asyncio.get_running_loop().create_future()
        self._waiters.append((predicate, future))
        return future

    async def command(self, **message) -> dict:
        self._refs += 1
        ref = message["ref"] = f"w{self._refs}"
        answered = self.until(lambda e: e.get("ref") == ref and e["type"] in ("ok", "error"))
        await self.ws.send(json.dumps(message))
        event, _ = await answered
        if event["type"] == "error":
            raise RuntimeError(event)
        return event

    async def close(self) -> None:
        await self.ws.close()
        await self.task


async def traffic(
    watched: Watched, stop: asyncio.Event, interval: float, capture: bool, connected
) -> dict:
    """Capture on (or off), a new connection (then `connected()`), then "hi" every
    `interval` s until `stop`: the client row of that connection."""
    await watched.command(op="capture", on=capture)
    client = (await watched.command(op="tcp.connect", device="laptop", to=TO_SERVER))["socket"]
    connected()
    await asyncio.sleep(random.uniform(0, interval))  # noqa: S311 - spreads the load
    while not stop.is_set():
        await watched.command(op="send", socket=client["id"], data="hi")
        # Pacing the load, not waiting for anything.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval)
    return client


async def state_latency(watched: Watched, client: dict) -> tuple[float, float]:
    """Shut the client down: the time to the peer's CLOSE_WAIT event from sending the
    command, and from its `ok` (the kernel's change to its event)."""
    port = client["local"]["port"]
    close_wait = watched.until(
        lambda e: (
            e["type"] == "socket"
            and e["socket"]["role"] == "accepted"
            and e["socket"]["state"] == "CLOSE_WAIT"
            and e["socket"]["state_source"] == "kernel"
            and e["socket"]["remote"]["port"] == port
        )
    )
    answered = watched.until(lambda e: e.get("ref") == "shut" and e["type"] == "ok")
    started = time.time()
    await watched.ws.send(json.dumps({"op": "shutdown", "socket": client["id"], "ref": "shut"}))
    (_, ok_at), (_, changed_at) = await asyncio.gather(answered, close_wait)
    return changed_at - started, changed_at - ok_at


async def reset(watched: Watched, client: dict) -> None:
    """Reset the connection (an RST) and wait until its client socket is gone."""
    gone = watched.until(lambda e: e["type"] == "socket.gone" and e["socket"] == client["id"])
    await watched.command(op="tcp.reset", socket=client["id"])
    await gone


def history_cost(history: int, preview: int) -> int:
    """Bytes a full history takes: `history` records with `preview`-byte payloads."""
    packet = Packet(6, bytes(4), 41234, bytes(4), 3000, 0x18, 1, 1, 512, preview, b"x" * preview)
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    kept = deque(
        (
            record(n, time.time_ns() + n, packet, (n, n), 0, (2, 3))
            for n in range(1_000_000, 1_000_000 + history)
        ),
        maxlen=history,
    )
    cost = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    del kept
    return cost
