"""Sandboxes come and go without leaking file descriptors or tasks."""

import asyncio
import gc
import os

import pytest
from asgiref.sync import sync_to_async
from django.db import connections

from playground import engines
from tests.support.consumer_helpers import command, new_session, open_ws

pytestmark = pytest.mark.django_db(transaction=True)


async def open_fds() -> int:
    """Open descriptors, less the database connection of the thread that runs the ORM.

    Django keeps one per thread, and channels' test communicator stops the consumer
    closing it after each message as it does in a server; on PostgreSQL it is a socket.
    Garbage is collected first: a socket an earlier test dropped (a client it no longer
    references) would otherwise close between the two counts, whenever Python collects.
    """
    await sync_to_async(connections.close_all)()
    gc.collect()
    return len(os.listdir("/proc/self/fd"))


def live_tasks() -> int:
    return len([t for t in asyncio.all_tasks() if not t.done()])


async def busy_sandbox(key: str) -> None:
    ws = await open_ws(key)
    await ws.receive_json_from()
    await command(ws, op="tcp.listen", device="server", port=3000)
    for _ in range(2):
        await command(ws, op="tcp.connect", device="laptop", to={"device": "server", "port": 3000})
    await command(ws, op="udp.bind", device="laptop", port=0)
    return ws


async def test_it_returns_every_file_descriptor_and_task_after_many_sandboxes(settings):
    settings.PLAYGROUND_LIMITS = {**settings.PLAYGROUND_LIMITS, "grace_period": 0.05}
    # Warm up once: the registry, its address lock file and the kernel reader stay open.
    warm_key = await new_session()
    ws = await busy_sandbox(warm_key)
    await ws.disconnect()
    registry = engines.get_engine().registry
    await asyncio.wait_for(registry.wait_gone(warm_key), 10)
    await registry.watcher.settled()
    fds, tasks = await open_fds(), live_tasks()

    keys = [await new_session() for _ in range(20)]
    sockets = await asyncio.gather(*(busy_sandbox(key) for key in keys))
    assert len(registry) == 20
    assert await open_fds() >= fds + 20 * 6  # 6 sockets each, really open
    for n, ws in enumerate(sockets):
        if n % 2:
            await ws.disconnect()
        else:
            # Abrupt: the client vanishes without a close frame.
            await ws.send_input({"type": "websocket.disconnect", "code": 1006})
            await ws.wait()
    for key in keys:
        await asyncio.wait_for(registry.wait_gone(key), 10)
    assert len(registry) == 0
    assert registry.pool.in_use == 0
    await registry.watcher.settled()
    assert await open_fds() == fds
    assert live_tasks() == tasks
    await engines.close_engines()
