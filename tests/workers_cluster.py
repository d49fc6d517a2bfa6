"""A workers-engine cluster on this machine for tests: real redis-server, real
`playground_worker` processes and real Daphne front ends, and the WebSocket helpers
the workers tests share."""

import contextlib

from tests.live_server import DaphneServer, WorkerProcess
from tests.raw_websocket import RawWebSocket
from tests.visitor_session import playground_cookie, session_only


@contextlib.contextmanager
def cluster(workdir, redis_server, workers=2, fronts=2, **limits):
    """`workers` workers and `fronts` Daphne front ends on one Redis."""
    assert redis_server.command("FLUSHALL") == "+OK"
    env = {"REDIS_URL": redis_server.url, "PLAYGROUND_ENGINE": "workers"}
    env.update({f"PLAYGROUND_{name.upper()}": str(value) for name, value in limits.items()})
    with contextlib.ExitStack() as stack:
        started = [stack.enter_context(WorkerProcess(workdir, **env)) for _ in range(workers)]
        servers = [
            stack.enter_context(DaphneServer(workdir, prepare=False, **env)) for _ in range(fronts)
        ]
        yield started, servers


def session(server) -> str:
    return session_only(playground_cookie(server.url))


def connect(server, cookie, **options) -> RawWebSocket:
    ws = RawWebSocket(
        server.host, server.port, "/ws/playground/", origin=server.url, cookie=cookie, **options
    )
    assert ws.status == 101
    return ws


def answer(ws, command: dict) -> dict:
    ws.send_json(command)
    return ws.until(lambda e: e["type"] in ("ok", "error") and e.get("ref") == command["ref"])
