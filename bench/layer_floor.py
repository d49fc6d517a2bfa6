"""The floor under a round trip through a worker: channels_redis's pub/sub layer alone.

Two processes and the same redis-server, nothing else: this one sends a message to the
other's channel, which sends it straight back to this one's. That is the two hops a
command through a worker takes (front end -> Redis -> worker, worker -> Redis -> front
end) with no Daphne, no consumer and no sandbox; bench/workers.py prints it beside the
round trip through a worker so the part the layer costs and the part ours costs are
told apart in one run.
"""

import asyncio
import multiprocessing
import time

from channels_redis.pubsub import RedisPubSubChannelLayer

PING, PONG = "bench.floor.ping", "bench.floor.pong"


async def _answer(redis_url: str) -> None:
    layer = RedisPubSubChannelLayer(hosts=[redis_url])
    while True:
        message = await layer.receive(PONG)
        await layer.send(PING, message)
        if message.get("last"):
            await layer.flush()
            return


def _answerer(redis_url: str) -> None:
    asyncio.run(_answer(redis_url))


async def pubsub_round_trips(redis_url: str, count: int) -> list[float]:
    """`count` round trips through the layer, in seconds."""
    layer = RedisPubSubChannelLayer(hosts=[redis_url])
    other = multiprocessing.get_context("spawn").Process(target=_answerer, args=(redis_url,))
    other.start()
    try:
        await layer.new_channel()  # subscribes this process before the first message
        while True:  # a message sent before the other process subscribed is lost
            await layer.send(PONG, {"type": "ping"})
            try:
                await asyncio.wait_for(layer.receive(PING), 0.2)
                break
            except TimeoutError:
                continue
        times = []
        for n in range(count):
            started = time.perf_counter()
            await layer.send(PONG, {"type": "ping", "n": n, "last": n == count - 1})
            await layer.receive(PING)
            times.append(time.perf_counter() - started)
        return times
    finally:
        other.join(timeout=5)
        if other.is_alive():
            other.kill()
        await layer.flush()
