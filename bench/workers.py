"""Scale-out benchmark: the workers engine (PLAYGROUND_ENGINE=workers), from one run.

A real redis-server, 2 playground workers and one Daphne front end (with the bare
Channels echo consumer of bench/asgi.py beside the playground), and, for comparison,
a Daphne with the local engine. It prints:

1. command round trip p50/p99 through a worker (front end -> Redis -> worker -> Redis
   -> front end) against the bare echo on the same front end and against the local
   engine (target: p50 at most 2x the bare echo), and the floor under it: the same two
   hops through channels_redis's pub/sub layer between two bare processes
   (bench/layer_floor.py), so the layer's share and ours are told apart;
2. 2,000 concurrent sandboxes x 4 sockets on the 2 workers: memory per sandbox, front
   end and workers (with their namespace helpers) together (target: under 150 KB), and
   the p99 time from a kernel state change to its event (target: under 300 ms): with
   the changes spread over 10 s (a shutdown in each sandbox, 200 a second), and all at
   once (then a second connection in each, at the same moment: its accepted socket
   appears), with the CPU each process spent;
3. SIGKILL of a worker: the time until each of its visitors has `sandbox.lost`
   (target: under 10 s), and until its fresh sandbox's `hello`.

Run it with `make bench` (after bench.playground) or `.venv/bin/python -m bench.workers`.
It prints figures; docs/benchmarks.md records them.
"""

import argparse
import asyncio
import contextlib
import json
import os
import signal
import tempfile
import time
from pathlib import Path

import redis

from bench.layer_floor import pubsub_round_trips
from bench.playground import (
    connect,
    new_sessions,
    open_sandbox,
    percentile,
    round_trips,
    rss_kib,
)
from playground.workers import lease_key
from tests.live_server import DaphneServer, WorkerProcess
from tests.redis_service import RedisServer

TARGET_RATIO = 2.0
TARGET_KB_PER_SANDBOX = 150
TARGET_STATE_P99_MS = 300
TARGET_LOST_SECONDS = 10


def family(pid: int) -> list[int]:
    """A process and its descendants (a worker and its namespace helper), alive now."""
    found, pending = [], [pid]
    while pending:
        current = pending.pop()
        with contextlib.suppress(FileNotFoundError, ProcessLookupError):
            for task in Path(f"/proc/{current}/task").iterdir():
                pending += [int(c) for c in (task / "children").read_text().split()]
            found.append(current)
    return found


def tree_rss_kib(pid: int) -> int:
    total = 0
    for member in family(pid):
        with contextlib.suppress(FileNotFoundError, ProcessLookupError):
            total += rss_kib(member)
    return total


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process and its descendants."""
    total = 0.0
    for member in family(pid):
        with contextlib.suppress(FileNotFoundError, ProcessLookupError):
            fields = Path(f"/proc/{member}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


async def change(ws, command: dict, changed) -> tuple[float, dict]:
    """Send `command`; the time from its `ok` (the kernel changed as it was made) to the
    first row, reported from the kernel's table, that `changed` accepts; that row."""
    await ws.send(json.dumps(command))
    ok_at = None
    while True:
        event = json.loads(await ws.recv())
        if event.get("ref") == command["ref"] and event["type"] in ("ok", "error"):
            if event["type"] == "error":
                raise RuntimeError(event)
            ok_at = time.perf_counter()
        row = event.get("socket") if event["type"] == "socket" else None
        if row and row["state_source"] == "kernel" and changed(row):
            return time.perf_counter() - (ok_at or time.perf_counter()), row


async def shutdown_later(ws, client: str, delay: float):
    """A shutdown after `delay`: the other side goes to CLOSE_WAIT; its id."""
    await asyncio.sleep(delay)
    shutdown = {"op": "shutdown", "socket": client, "ref": "s"}
    spread, accepted = await change(
        ws, shutdown, lambda row: row["role"] == "accepted" and row["state"] == "CLOSE_WAIT"
    )
    return spread, accepted["id"]


def report(name: str, times: list[float]) -> str:
    p50, p99 = percentile(times, 50) * 1e3, percentile(times, 99) * 1e3
    return (
        f"   {name:<34} p50 {p50:7.1f} ms   p99 {p99:7.1f} ms"
        f"   (target p99 < {TARGET_STATE_P99_MS} ms)"
    )


def line(name: str, times: list[float], echo: list[float]) -> str:
    p50, p99 = percentile(times, 50) * 1e3, percentile(times, 99) * 1e3
    ratio = p50 / (percentile(echo, 50) * 1e3)
    return f"   {name:<22} p50 {p50:7.3f} ms   p99 {p99:7.3f} ms   p50 {ratio:5.2f}x the echo"


async def opened_all(server, keys, concurrency: int = 100):
    gate = asyncio.Semaphore(concurrency)

    async def one(key):
        async with gate:
            return await open_sandbox(server, key)

    return await asyncio.gather(*(one(key) for key in keys))


async def lost_times(server, keys, workers: list[WorkerProcess], redis_url: str):
    """SIGKILL the worker holding most of these visitors' sandboxes; for each of its
    visitors, seconds to sandbox.lost and to the fresh sandbox's hello."""
    tabs = await asyncio.gather(*(connect(server, "/ws/playground/", key) for key in keys))
    for ws in tabs:
        await ws.recv()  # hello
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    owners = [client.get(lease_key(key)) for key in keys]
    victim = max(workers, key=lambda worker: owners.count(worker.id))
    mine = [ws for ws, owner in zip(tabs, owners, strict=True) if owner == victim.id]

    async def until_fresh(ws, killed):
        lost = None
        while True:
            event = json.loads(await ws.recv())
            if event["type"] == "sandbox.lost":
                lost = time.perf_counter() - killed
            elif event["type"] == "hello" and lost is not None:
                return lost, time.perf_counter() - killed

    victim.process.send_signal(signal.SIGKILL)
    killed = time.perf_counter()
    results = await asyncio.gather(*(until_fresh(ws, killed) for ws in mine))
    await asyncio.gather(*(ws.close() for ws in tabs))
    return results


async def main(args) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="sockets-bench-workers-"))
    per_worker = args.sandboxes // 2 + 200
    env = {
        # Commands back to back and every sandbox from 127.0.0.1: those limits are lifted.
        "PLAYGROUND_COMMANDS_PER_SECOND": "1000000",
        "PLAYGROUND_COMMAND_BURST": "1000000",
        "PLAYGROUND_SANDBOXES_PER_PROCESS": str(per_worker),
        "PLAYGROUND_SANDBOXES_PER_ADDRESS": str(args.sandboxes + 500),
        "PLAYGROUND_RESERVED_SANDBOXES": "0",
        # The descriptor check (playground.E009) against this machine's limit of 20,000.
        "PLAYGROUND_SOCKETS_PER_SANDBOX": "6",
    }
    with RedisServer() as redis_server:
        cluster = {**env, "REDIS_URL": redis_server.url, "PLAYGROUND_ENGINE": "workers"}
        with (
            DaphneServer(workdir, application="bench.asgi:application", **env) as local,
            WorkerProcess(workdir, **cluster) as first,
            WorkerProcess(workdir, **cluster) as second,
            DaphneServer(
                workdir, application="bench.asgi:application", prepare=False, **cluster
            ) as front,
        ):
            keys = new_sessions(front, args.sandboxes + args.killed + 2)
            print(f"front end pid {front.process.pid}, workers {first.id} and {second.id}")
            print(
                "\n1. Command round trip (send on a connected TCP socket, until its ok), "
                f"{args.round_trips} each"
            )
            play, echo = await round_trips(front, keys.pop(), args.round_trips)
            local_play, local_echo = await round_trips(local, keys.pop(), args.round_trips)
            print(line("through a worker", play, echo))
            print(line("bare echo, same front", echo, echo))
            print(line("local engine", local_play, local_echo))
            print(line("bare echo, local", local_echo, local_echo))
            ratio = percentile(play, 50) / percentile(echo, 50)
            print(f"   through a worker / bare echo p50: {ratio:.2f}x (target <= {TARGET_RATIO}x)")
            floor = await pubsub_round_trips(redis_server.url, args.round_trips)
            hops, echo_p50 = percentile(floor, 50), percentile(echo, 50)
            least, rest = (echo_p50 + hops) / echo_p50, percentile(play, 50) - echo_p50 - hops
            print(line("the two hops alone", floor, echo))
            print(
                f"   so at least the echo + the hops: {least:.2f}x the echo; the rest, "
                f"{rest * 1e3:.3f} ms, is the worker and the front end's routing"
            )

            pids = [front.process.pid, first.process.pid, second.process.pid]
            before = sum(tree_rss_kib(pid) for pid in pids)
            started = time.perf_counter()
            opened = await opened_all(front, keys[: args.sandboxes])
            setup = time.perf_counter() - started
            grown = sum(tree_rss_kib(pid) for pid in pids) - before
            print(
                f"\n2. {len(opened):,} concurrent sandboxes x 4 sockets on 2 workers "
                f"(opened in {setup:.1f} s)"
            )
            print(
                f"   memory per sandbox, front end and workers together: "
                f"{grown / len(opened):6.1f} KiB   (target < {TARGET_KB_PER_SANDBOX} KB)"
            )
            for name, pid in zip(("front end", "worker 1", "worker 2"), pids, strict=True):
                print(f"     {name:<10} {tree_rss_kib(pid) / 1024:7.1f} MiB now")
            print("   kernel state change to its event, from the command's ok:")
            # Evenly spaced: one sandbox's change every spread_seconds / sandboxes.
            delays = [n * args.spread_seconds / len(opened) for n in range(len(opened))]
            spread = await asyncio.gather(
                *(shutdown_later(ws, c, d) for (ws, c), d in zip(opened, delays, strict=True))
            )
            print(
                report(
                    f"spread over {args.spread_seconds:.0f} s (shutdown)", [t for t, _ in spread]
                )
            )
            all_pids = {"front end": pids[0], "worker 1": pids[1], "worker 2": pids[2]}
            all_pids["redis"] = redis_server.process.pid
            cpu_before = {name: cpu_seconds(pid) for name, pid in all_pids.items()}
            client_before = sum(os.times()[:2])
            started = time.perf_counter()
            to = {"device": "server", "port": 3000}
            burst = await asyncio.gather(
                *(
                    change(
                        ws,
                        {"op": "tcp.connect", "device": "laptop", "to": to, "ref": "c2"},
                        lambda row, old=old: row["role"] == "accepted" and row["id"] != old,
                    )
                    for (ws, _), (_, old) in zip(opened, spread, strict=True)
                )
            )
            wall = time.perf_counter() - started
            print(report(f"all {len(opened):,} at once (connect)", [t for t, _ in burst]))
            spent = {name: cpu_seconds(pid) - cpu_before[name] for name, pid in all_pids.items()}
            spent["this client"] = sum(os.times()[:2]) - client_before
            print(
                f"   CPU during the burst ({wall:.1f} s on 2 cores): "
                + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in spent.items())
            )
            await asyncio.gather(*(ws.close() for ws, _ in opened))

            print(f"\n3. SIGKILL of a worker, {args.killed} visitors across both workers")
            times = await lost_times(
                front, keys[args.sandboxes :], [first, second], redis_server.url
            )
            lost = [t[0] for t in times]
            fresh = [t[1] for t in times]
            print(
                f"   its {len(times)} visitors: sandbox.lost after "
                f"p50 {percentile(lost, 50):.2f} s, "
                f"max {max(lost):.2f} s (target < {TARGET_LOST_SECONDS} s); fresh hello max "
                f"{max(fresh):.2f} s"
            )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--round-trips", type=int, default=1000)
    parser.add_argument("--sandboxes", type=int, default=2000)
    parser.add_argument("--killed", type=int, default=100)
    parser.add_argument("--spread-seconds", type=float, default=10)
    asyncio.run(main(parser.parse_args()))
