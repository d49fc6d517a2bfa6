"""Playground benchmark: starts the real site under Daphne and prints, from one run,

1. command round trip p50/p99 against a bare Channels echo consumer on the same
   Daphne (target: at most 1.5x), on a quiet host and with 20,000 unrelated
   sockets open on the host;
2. 500 concurrent sandboxes with 4 sockets each in one process, each running a
   guided experiment whose steps the server checks as events happen, with those
   host sockets still open: memory per sandbox (target: under 150 KB), the p99
   time from a kernel state change to its event (target: under 300 ms), and the
   round trip again while all those experiments run (target: at most 1.5x);
3. the cost of one kernel socket-table dump with all those sockets present, and of
   making one socket through the network namespace helper;
4. 30 WebSockets of one session that never read, for 60 s while the sandbox is
   busy: how much the server grew (target: under 5 MiB) and that all were closed;
5. watching the packets: the same 500 sandboxes each sending "hi" every second on a
   new connection, first without capture, then each capturing its packets
   (playground.capture): the round trip of one more sandbox meanwhile (target: at
   most 1.5x the echo), the kernel state change to event p99 (target: under 300 ms),
   the delay from a packet's kernel timestamp to its `packet` event at the client
   (p50/p99), and memory per sandbox with its packet history (target: under 150 KB).

Run it with `make bench` (or `.venv/bin/python -m bench.playground`). It is not a
test: it prints figures; docs/benchmarks.md records them.
"""

import argparse
import asyncio
import json
import os
import re
import statistics
import tempfile
import time
from pathlib import Path

import websockets

from bench.capture import Watched, history_cost, reset, state_latency, traffic
from bench.hostile import HostSockets, helper_cost, namespace_dump_cost, slow_readers
from tests.support.live_server import DaphneServer

TARGET_RATIO = 1.5
TARGET_KB_PER_SANDBOX = 150
TARGET_STATE_P99_MS = 300
TARGET_SLOW_READERS_MIB = 5


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        return int(re.search(r"VmRSS:\s+(\d+)", status.read()).group(1))


def new_sessions(server: DaphneServer, count: int) -> list[str]:
    code = (
        "from django.contrib.sessions.backends.db import SessionStore\n"
        f"for _ in range({count}):\n"
        "    s = SessionStore(); s['bench'] = 1; s.create(); print(s.session_key)"
    )
    result = server.manage("shell", "-v", "0", "-c", code)
    keys = [line for line in result.stdout.split() if len(line) == 32]
    if len(keys) != count:
        raise RuntimeError(f"could not make sessions:\n{result.stderr}")
    return keys


async def connect(server: DaphneServer, path: str, key: str | None = None):
    headers = {"Origin": server.url}
    if key:
        headers["Cookie"] = f"sessionid={key}"
    return await websockets.connect(
        f"ws://{server.host}:{server.port}{path}",
        additional_headers=headers,
        max_size=None,
        open_timeout=60,
        ping_interval=None,
        # Read everything as it comes, as the page does: a client that lets frames pile
        # up unread is closed as a slow reader (4008).
        max_queue=None,
    )


async def answer(ws, ref) -> dict:
    while True:
        event = json.loads(await ws.recv())
        if event.get("ref") == ref and event["type"] in ("ok", "error"):
            if event["type"] == "error":
                raise RuntimeError(event)
            return event


async def round_trips(
    server, key, count: int, experiment: str | None = None, capture: bool = False
) -> tuple[list[float], list[float]]:
    play = await connect(server, "/ws/playground/", key)
    await play.recv()  # hello
    if experiment:
        await start_experiment(play, experiment)
    if capture:  # its own packets then come as events too, among the answers
        await play.send(json.dumps({"op": "capture", "on": True, "ref": "p"}))
        await answer(play, "p")
    await play.send(json.dumps({"op": "tcp.listen", "device": "server", "port": 3000, "ref": "l"}))
    await answer(play, "l")
    connect_cmd = {
        "op": "tcp.connect",
        "device": "laptop",
        "to": {"device": "server", "port": 3000},
    }
    await play.send(json.dumps({**connect_cmd, "ref": "c"}))
    client = (await answer(play, "c"))["socket"]["id"]
    # The session's cookie on the echo too: behind the pool's proxy it is routed as the
    # playground's WebSocket is, to the same process.
    echo = await connect(server, "/ws/echo/", key)
    return await alternate(play, echo, client, count)


async def alternate(play, echo, client: str, count: int) -> tuple[list[float], list[float]]:
    """A send on the connected socket `client`, to its `ok`, then the same message to
    the echo, `count` times; both WebSockets closed after."""
    play_times, echo_times = [], []
    for n in range(count):
        # Alternate, so both see the same machine at the same moment.
        message = json.dumps({"op": "send", "socket": client, "data": "hello, socket", "ref": n})
        started = time.perf_counter()
        await play.send(message)
        await answer(play, n)
        play_times.append(time.perf_counter() - started)
        started = time.perf_counter()
        await echo.send(message)
        await echo.recv()
        echo_times.append(time.perf_counter() - started)
    await play.close()
    await echo.close()
    return play_times, echo_times


async def start_experiment(ws, experiment: str) -> None:
    await ws.send(json.dumps({"op": "experiment.start", "experiment": experiment, "ref": "x"}))
    await answer(ws, "x")


async def open_sandbox(server, key, experiment: str | None = None) -> tuple:
    ws = await connect(server, "/ws/playground/", key)
    await ws.recv()  # hello
    if experiment:
        # Its checks then run on every event of this sandbox from here on.
        await start_experiment(ws, experiment)
    commands = [
        {"op": "tcp.listen", "device": "server", "port": 3000, "ref": "l"},
        {
            "op": "tcp.connect",
            "device": "laptop",
            "to": {"device": "server", "port": 3000},
            "ref": "c",
        },
        {"op": "udp.bind", "device": "laptop", "port": 0, "ref": "u"},
    ]
    answers = {}
    for command in commands:
        await ws.send(json.dumps(command))
        answers[command["ref"]] = await answer(ws, command["ref"])
    return ws, answers["c"]["socket"]["id"]


async def state_change_latency(ws, client_id: str) -> tuple[float, float]:
    """A shutdown makes the kernel move the other side to CLOSE_WAIT. Returns the time
    to that event from sending the command, and from its `ok`: the server sends the ok
    right after the shutdown call, so the second is kernel change to event."""
    started = time.perf_counter()
    await ws.send(json.dumps({"op": "shutdown", "socket": client_id, "ref": "s"}))
    ok_at = None
    while True:
        event = json.loads(await ws.recv())
        if event.get("ref") == "s" and event["type"] == "ok":
            ok_at = time.perf_counter()
        row = event.get("socket") if event["type"] == "socket" else None
        if (
            row
            and row["role"] == "accepted"
            and row["state"] == "CLOSE_WAIT"
            and (row["state_source"] == "kernel")
        ):
            now = time.perf_counter()
            return now - started, now - (ok_at or now)


def pin(server_pid: int) -> None:
    """The server on one core, this client on the other: otherwise the scheduler's
    choice of placing both on one core or not swings a round trip by 2x from run
    to run, more than the difference being measured."""
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) >= 2:
        os.sched_setaffinity(0, {cores[0]})
        os.sched_setaffinity(server_pid, {cores[1]})


def print_round_trips(play: list[float], echo: list[float]) -> None:
    p50p, p99p = percentile(play, 50) * 1e3, percentile(play, 99) * 1e3
    p50e, p99e = percentile(echo, 50) * 1e3, percentile(echo, 99) * 1e3
    print(f"   playground  p50 {p50p:7.3f} ms   p99 {p99p:7.3f} ms")
    print(f"   bare echo   p50 {p50e:7.3f} ms   p99 {p99e:7.3f} ms")
    print(
        f"   ratio       p50 {p50p / p50e:7.2f} x    p99 {p99p / p99e:7.2f} x"
        f"   (target <= {TARGET_RATIO} x)"
    )


async def busy(ws, client: str, seconds: float) -> None:
    """Keep a sandbox busy: send on its connection as fast as answers come."""
    deadline = time.monotonic() + seconds
    n = 0
    while time.monotonic() < deadline:
        n += 1
        await ws.send(json.dumps({"op": "send", "socket": client, "data": "x" * 200, "ref": n}))
        await answer(ws, n)
    await ws.close()


async def talking(
    server, watched: list, key: str, args, capture: bool, delays: list[tuple[float, float]]
) -> dict:
    """Every watched sandbox talks (capturing or not) while one more sandbox measures
    its round trips; then all shut down at once. The figures of that phase."""
    stop, connected = asyncio.Event(), asyncio.Event()
    count = [0]

    def one_more() -> None:
        count[0] += 1
        if count[0] == len(watched):
            connected.set()

    started = time.perf_counter()
    tasks = [
        asyncio.ensure_future(traffic(w, stop, args.capture_interval, capture, one_more))
        for w in watched
    ]
    await connected.wait()  # every sandbox has its new connection
    packets_before = sum(w.packets for w in watched)
    # Steady: packets sent from a second after the last connect to the stop (the burst
    # of 500 handshakes at once is over by then).
    steady_from = time.time() + 1
    play, echo = await round_trips(server, key, args.round_trips, capture=capture)
    # At least `capture_seconds` of talking, the round trips measured inside it.
    await asyncio.sleep(max(0.0, args.capture_seconds - (time.perf_counter() - started)))
    stop.set()
    steady_to = time.time()
    steady = [delay for sent, delay in delays if steady_from <= sent <= steady_to]
    clients = await asyncio.gather(*tasks)
    seconds = time.perf_counter() - started
    latencies = await asyncio.gather(
        *(state_latency(w, client) for w, client in zip(watched, clients, strict=True))
    )
    # Reset: the kernel forgets the connection at once, so the next phase's kernel
    # table is as large as this one's was.
    await asyncio.gather(*(reset(w, client) for w, client in zip(watched, clients, strict=True)))
    return {
        "seconds": seconds,
        "play": play,
        "echo": echo,
        "packets": sum(w.packets for w in watched) - packets_before,
        "steady": [d * 1e3 for d in steady],
        "from_command": [r[0] * 1e3 for r in latencies],
        "from_change": [r[1] * 1e3 for r in latencies],
    }


async def watch_packets(server, opened: list, keys: list[str], args, base_kib: int) -> dict:
    """Section 5: the opened sandboxes talk without capture, then capturing."""
    delays: list[tuple[float, float]] = []
    watched = [Watched(ws, delays) for ws, _ in opened]
    figures = {"sandboxes": len(opened)}
    figures["off"] = await talking(server, watched, keys[0], args, False, delays)
    figures["on"] = await talking(server, watched, keys[1], args, True, delays)
    figures["kib"] = (rss_kib(server.process.pid) - base_kib) / len(opened)
    figures["delays"] = [delay * 1e3 for _, delay in delays]
    figures["dropped"] = sum(w.dropped for w in watched)
    for w in watched:  # the WebSockets are closed by the caller; their readers end then
        w.task.cancel()
    return figures


def print_state(figures: dict, n: int) -> None:
    change, command = figures["from_change"], figures["from_command"]
    print(f"   kernel state change to event (shutdown -> CLOSE_WAIT), all {n} at once:")
    print(
        f"   from the change (its ok):   p50 {percentile(change, 50):7.1f} ms   p99 "
        f"{percentile(change, 99):7.1f} ms   (target p99 < {TARGET_STATE_P99_MS} ms)"
    )
    print(
        f"   from sending the command:   p50 {percentile(command, 50):7.1f} ms   p99 "
        f"{percentile(command, 99):7.1f} ms"
    )


def print_capture(figures: dict, args) -> None:
    n, off, on = figures["sandboxes"], figures["off"], figures["on"]
    print(
        f'\n5. Watching the packets: {n} sandboxes, each sending "hi" every '
        f"{args.capture_interval:g} s on a connection of its own"
    )
    print(f"   a. capture off ({off['seconds']:.0f} s): round trip of one more sandbox meanwhile:")
    print_round_trips(off["play"], off["echo"])
    print_state(off, n)
    print(
        f"   b. every sandbox capturing ({on['seconds']:.0f} s, {on['packets']:,} packet "
        "events): round trip of one more sandbox, capturing too, meanwhile:"
    )
    print_round_trips(on["play"], on["echo"])
    print_state(on, n)
    delays, steady = figures["delays"], on["steady"]
    print("   packet's kernel timestamp to its event at the client:")
    print(
        f"   while they talk:            p50 {percentile(steady, 50):7.2f} ms   p99 "
        f"{percentile(steady, 99):7.2f} ms   ({len(steady):,} packet events)"
    )
    print(
        f"   all, with the bursts of {n} connects and {n} shutdowns at once: p50 "
        f"{percentile(delays, 50):7.2f} ms   p99 {percentile(delays, 99):7.2f} ms   "
        f"({len(delays):,} packet events; {figures['dropped']:,} packets dropped by the "
        "per-sandbox rate limit)"
    )
    print(
        f"   server memory per sandbox now, packet history included: {figures['kib']:6.1f} KiB"
        f"   (target < {TARGET_KB_PER_SANDBOX} KB); a full history (200 packets with 64-byte "
        f"payloads) costs {history_cost(200, 64) / 1024:4.1f} KiB"
    )


async def main(args) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="sockets-bench-"))
    env = {
        # Round trips are measured back to back, far above a visitor's 20 a second.
        "PLAYGROUND_COMMANDS_PER_SECOND": "1000000",
        "PLAYGROUND_COMMAND_BURST": "1000000",
        "PLAYGROUND_SANDBOXES_PER_PROCESS": str(args.sandboxes + 6),
        # One client address opens every sandbox here, so its quota is lifted. The
        # slow readers meet the real websockets_per_session: the ones past it are
        # refused at once, the rest must be closed for not reading.
        "PLAYGROUND_SANDBOXES_PER_ADDRESS": str(args.sandboxes + 6),
        "PLAYGROUND_RESERVED_SANDBOXES": "0",
    }
    with DaphneServer(workdir, application="bench.asgi:application", **env) as server:
        pid = server.process.pid
        pin(pid)
        keys = new_sessions(server, args.sandboxes + 6)  # the last two: section 5's
        print(f"Daphne pid {pid} at {server.url}; {args.round_trips} round trips each")

        print("\n1. Command round trip (send on a connected TCP socket, until its ok)")
        print_round_trips(*await round_trips(server, keys.pop(), args.round_trips))
        with HostSockets(args.host_sockets):
            print(f"   with {args.host_sockets:,} unrelated sockets open on the host:")
            print_round_trips(*await round_trips(server, keys.pop(), args.round_trips))

            base = rss_kib(pid)
            started = time.perf_counter()
            opened = await asyncio.gather(
                *(open_sandbox(server, key, args.experiment) for key in keys[2:-2])
            )
            setup = time.perf_counter() - started
            per_sandbox = (rss_kib(pid) - base) / len(opened)
            print(
                f"\n2. {len(opened)} concurrent sandboxes, 4 sockets each, each running the "
                f"experiment {args.experiment!r} (opened in {setup:.1f} s), "
                f"{args.host_sockets:,} host sockets still open"
            )
            print(
                f"   server memory per sandbox, its WebSocket included: {per_sandbox:6.1f} KiB"
                f"   (target < {TARGET_KB_PER_SANDBOX} KB)"
            )
            print(f"   round trip of one more sandbox running {args.experiment!r}, meanwhile:")
            print_round_trips(
                *await round_trips(server, keys[1], args.round_trips, args.experiment)
            )
            results = await asyncio.gather(*(state_change_latency(ws, c) for ws, c in opened))
        from_command = [r[0] * 1e3 for r in results]
        from_change = [r[1] * 1e3 for r in results]
        print(
            f"   kernel state change to event (shutdown -> CLOSE_WAIT), all {len(opened)} at once:"
        )
        print(
            f"   from the change (its ok):   p50 {percentile(from_change, 50):7.1f} ms   p99 "
            f"{percentile(from_change, 99):7.1f} ms   (target p99 < {TARGET_STATE_P99_MS} ms)"
        )
        print(
            f"   from sending the command:   p50 {percentile(from_command, 50):7.1f} ms   p99 "
            f"{percentile(from_command, 99):7.1f} ms   (includes the queue of 500 commands)"
        )
        capture_figures = await watch_packets(server, opened, keys[-2:], args, base)
        await asyncio.gather(*(ws.close() for ws, _ in opened))

        costs, rows = await asyncio.to_thread(namespace_dump_cost, args.sandboxes, args.dumps)
        print(f"\n3. One kernel dump (TCP + UDP) of a namespace holding {rows} sandbox sockets")
        print(
            f"   mean {statistics.mean(costs) * 1e3:6.2f} ms   p99 "
            f"{percentile(costs, 99) * 1e3:6.2f} ms   over {args.dumps} dumps; one per tick "
            "for the whole process, whatever the number of sandboxes or host sockets"
        )
        through, direct = await asyncio.to_thread(helper_cost, 2000)
        print(
            f"   one TCP socket made through the namespace helper: {through:6.1f} us "
            f"(made directly: {direct:5.1f} us)"
        )

        print(
            f"\n4. {args.slow_readers} WebSockets of one session that never read, "
            f"{args.slow_seconds:.0f} s of a busy sandbox"
        )
        # The busy WebSocket comes first, as the tab that opened the sandbox would.
        driver, client = await open_sandbox(server, keys[0])
        outcome = await slow_readers(
            server,
            f"sessionid={keys[0]}",
            args.slow_readers,
            lambda seconds: busy(driver, client, seconds),
            args.slow_seconds,
            lambda: rss_kib(pid),
        )
        print(
            f"   server grew {outcome['grown_kib'] / 1024:5.2f} MiB "
            f"(target < {TARGET_SLOW_READERS_MIB} MiB); closed by the server: "
            f"{outcome['closed']} of {outcome['opened']}"
        )

    print_capture(capture_figures, args)

    # The bare echo baseline in a fresh server of its own, so neither measurement
    # reuses memory the other freed.
    with DaphneServer(
        Path(tempfile.mkdtemp(prefix="sockets-bench-")), application="bench.asgi:application", **env
    ) as server:
        base = rss_kib(server.process.pid)
        echoes = await asyncio.gather(
            *(connect(server, "/ws/echo/") for _ in range(args.sandboxes))
        )
        echo_kib = (rss_kib(server.process.pid) - base) / len(echoes)
        print(
            f"\n   for comparison, a bare echo WebSocket alone: {echo_kib:6.1f} KiB each "
            f"({len(echoes)} open); the sandbox's own share: {per_sandbox - echo_kib:6.1f} KiB"
        )
        await asyncio.gather(*(ws.close() for ws in echoes))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--round-trips", type=int, default=1000)
    parser.add_argument("--sandboxes", type=int, default=500)
    parser.add_argument("--dumps", type=int, default=50)
    parser.add_argument("--host-sockets", type=int, default=20_000)
    parser.add_argument("--slow-readers", type=int, default=30)
    parser.add_argument("--slow-seconds", type=float, default=60)
    # Each capturing sandbox of section 5 sends on its connection this often.
    parser.add_argument("--capture-interval", type=float, default=1.0)
    parser.add_argument("--capture-seconds", type=float, default=20)
    # Its checks look at kernel states (TIME_WAIT) and at answers (EADDRINUSE).
    parser.add_argument("--experiment", default="ports-stay")
    asyncio.run(main(parser.parse_args()))
