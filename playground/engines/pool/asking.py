"""Questions to a sandbox's owner over the channel layer, off the learners' path (no Django).

Rules:
- An asking process keeps one reply channel, received by one task of its own;
  each question carries a request id and is waited for at most ASK_SECONDS
  (TimeoutError then: the owner died, or Redis is away).
- A sandbox process answers on its own channel (names.process_channel). The
  channel layer is channels_redis's pub/sub layer: a message to a channel nobody
  receives is lost, so `Answerer.until_listening` waits until a message to that
  channel has come back, before the process joins the pool, and again after
  Redis restarted.
- A question that fails to be answered is logged and answered with an error,
  never left to time out in silence; a Redis outage is logged once
  (sockets_site.outage_notice).
"""

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable

from playground.engines.pool.names import (
    ASK_SECONDS,
    HEARTBEAT,
    lease_key,
    process_channel,
    process_key,
)
from sockets_site import outage_notice as outage

log = logging.getLogger(__name__)

Handler = Callable[[dict], Awaitable[dict]]


def keep_task(tasks: set, coroutine) -> asyncio.Task:
    """Run `coroutine` as a task held in `tasks` until it ends (asyncio keeps only weak
    references to tasks)."""
    task = asyncio.get_running_loop().create_task(coroutine)
    tasks.add(task)
    task.add_done_callback(tasks.discard)
    return task


async def cancel_all(tasks: set) -> None:
    """Cancel every task `keep_task` holds in `tasks`, and wait until they have ended."""
    for task in list(tasks):
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


class Asker:
    def __init__(self, layer):
        self.layer = layer
        self.replies: dict[str, asyncio.Future] = {}
        self._channel: asyncio.Future | None = None
        self._tasks: set[asyncio.Task] = set()

    async def ask(self, channel: str, message: dict, timeout: float = ASK_SECONDS) -> dict:
        """Send `message` to `channel`; the reply (TimeoutError if none comes in time)."""
        if self._channel is None or (self._channel.done() and self._channel.exception()):
            self._channel = asyncio.ensure_future(self._open())
        reply_to = await asyncio.shield(self._channel)
        request = uuid.uuid4().hex
        self.replies[request] = asyncio.get_running_loop().create_future()
        try:
            await self.layer.send(channel, {**message, "reply_to": reply_to, "request": request})
            return await asyncio.wait_for(self.replies[request], timeout)
        finally:
            self.replies.pop(request, None)

    async def _open(self) -> str:
        channel = await self.layer.new_channel()

        async def receive():
            while True:
                reply = await outage.retrying(lambda: self.layer.receive(channel))
                future = self.replies.get(reply.pop("request", None))
                if future is not None and not future.done():
                    future.set_result(reply)

        keep_task(self._tasks, receive())
        return channel

    async def aclose(self) -> None:
        await cancel_all(self._tasks)


class Answerer:
    """Answers the questions sent to one channel, each with the handler its type names."""

    def __init__(self, layer, channel: str, handlers: dict[str, Handler]):
        self.layer, self.channel, self.handlers = layer, channel, handlers
        self.listening = asyncio.Event()
        self._tasks: set[asyncio.Task] = set()
        self._receiver = keep_task(self._tasks, self._receive())

    async def until_listening(self) -> None:
        """Until a message sent to this channel has come back to it."""
        self.listening.clear()
        while not self.listening.is_set():
            await outage.retrying(lambda: self.layer.send(self.channel, {"type": "listening"}))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.listening.wait(), HEARTBEAT)

    async def _receive(self) -> None:
        while True:
            # Redis away (restarting): the sandboxes live on; retried until it is back.
            message = await outage.retrying(lambda: self.layer.receive(self.channel))
            if message.get("type") == "listening":
                self.listening.set()
            elif message.get("reply_to"):
                keep_task(self._tasks, self._answer(message))

    async def _answer(self, message: dict) -> None:
        handler = self.handlers.get(message.get("type"))
        try:
            reply = await handler(message) if handler else {"error": "unknown question"}
        except Exception:
            log.exception("playground: answering a %s failed", message.get("type"))
            reply = {"error": "internal_error"}
        try:
            await self.layer.send(message["reply_to"], {**reply, "request": message["request"]})
        except Exception as error:  # the asker gives up by itself (ASK_SECONDS)
            outage.redis.failed(error)

    async def aclose(self) -> None:
        await cancel_all(self._tasks)


async def ask_owner(redis, asker: Asker, session: str) -> dict | None:
    """The session's sandbox as its owner holds it (Registry.inspect there), or None: no
    lease, its process gone (not waited for), or no answer."""
    try:
        owner = await redis.get(lease_key(session))
        alive = owner is not None and await redis.exists(process_key(owner))
    except Exception as error:
        outage.redis.failed(error)
        return None
    if not alive:
        return None
    try:
        reply = await asker.ask(process_channel(owner), {"type": "inspect", "session": session})
    except TimeoutError:
        log.warning("playground: process %s did not answer an inspect", owner)
        return None
    except Exception as error:
        outage.redis.failed(error)
        return None
    return reply.get("inspected")


async def ask_owner_once(redis_url: str, layer, session: str) -> dict | None:
    """`ask_owner` from a process that holds no engine (an HTTP worker): its Redis client
    and reply channel last this one question, so a WSGI worker, whose every call runs
    in an event loop of its own, keeps nothing bound to a closed loop."""
    import redis.asyncio as aioredis

    client = aioredis.from_url(redis_url, decode_responses=True)
    asker = Asker(layer)
    try:
        return await ask_owner(client, asker, session)
    finally:
        await asker.aclose()
        await client.aclose()
