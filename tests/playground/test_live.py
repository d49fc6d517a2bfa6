"""The playground on a real Daphne: a client that stops reading costs bounded server
memory and is closed with 4008 (the TCP connection ends); the server's own port is out
of reach."""

import json
import re

import pytest

from tests.support.live_server import DaphneServer
from tests.support.raw_websocket import RawWebSocket
from tests.support.visitor_session import playground_cookie, session_only

FLOOD = 4000  # commands, each answered with about 1.3 KB of events


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with DaphneServer(
        tmp_path_factory.mktemp("slow-client"),
        PLAYGROUND_COMMANDS_PER_SECOND="100000",
        PLAYGROUND_COMMAND_BURST="100000",
        PLAYGROUND_OUTGOING_QUEUE="100",
    ) as server:
        yield server


def session_cookie(server) -> str:
    # The playground page's script starts the session its sandbox belongs to.
    return session_only(playground_cookie(server.url))


def resident_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        return int(re.search(r"VmRSS:\s+(\d+)", status.read()).group(1))


def open_playground(server, **options) -> RawWebSocket:
    """A new visitor (a new session) on the playground WebSocket."""
    return RawWebSocket(
        server.host,
        server.port,
        "/ws/playground/",
        origin=server.url,
        cookie=session_cookie(server),
        **options,
    )


@pytest.mark.slow  # the slow reader is closed after slow_client_seconds
def test_it_closes_a_client_that_stops_reading_with_4008(server):
    ws = open_playground(server, receive_buffer=4096)
    assert ws.status == 101
    ws.send_json({"op": "tcp.listen", "device": "server", "port": 3000})
    ws.send_json(
        {"op": "tcp.connect", "device": "laptop", "to": {"device": "server", "port": 3000}}
    )
    before = resident_kib(server.process.pid)
    try:
        for n in range(FLOOD):
            ws.send_json({"op": "send", "socket": "s2", "data": "x" * 1000, "ref": n})
    except OSError:
        pass  # closed on us mid-flood: what this test expects
    # Read what is left: the connection must end, with a 4008 close frame unless the
    # server had to drop it because the client never answered the close. A read that
    # times out raises: the server kept the connection open.
    close_code, _ = ws.until_closed()
    ws.close()
    assert close_code in (None, 4008)
    assert server.wait_for_log("closing a WebSocket that stopped reading"), "".join(
        server.log[-20:]
    )
    # 4000 commands asked for about 5 MB of events; the server holds nothing like that.
    growth = resident_kib(server.process.pid) - before
    assert growth < 40 * 1024, f"server grew by {growth} KiB"


def test_it_cannot_reach_this_servers_own_port(server):
    """Daphne listens on 127.0.0.1 here; the sandbox must not reach it by any name."""
    ws = open_playground(server)
    assert ws.status == 101
    answers = []
    for n, device in enumerate(["server", "laptop", "127.0.0.1", "localhost"]):
        ws.send_json(
            {
                "op": "tcp.connect",
                "device": "laptop",
                "to": {"device": device, "port": server.port},
                "ref": n,
            }
        )
    while len(answers) < 4:
        _, payload = ws.frame()
        event = json.loads(payload)
        if event.get("ref") is not None:
            answers.append(event)
    ws.close()
    assert [a["type"] for a in answers] == ["error"] * 4
    assert [a["code"] for a in answers] == [
        "ECONNREFUSED",
        "ECONNREFUSED",
        "unknown_device",
        "unknown_device",
    ]
