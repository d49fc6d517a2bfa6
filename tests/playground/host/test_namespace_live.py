"""The playground's network namespace on a real Daphne: host services are absent, not
just refused, and the host's own tables never show a sandbox's sockets."""

import json
import socket
import subprocess

import pytest

from tests.support.playground_helpers import namespace_helper_pid, namespace_table
from tests.support.raw_websocket import RawWebSocket
from tests.support.visitor_session import playground_cookie, session_only


def visitor(server) -> RawWebSocket:
    cookie = session_only(playground_cookie(server.url))
    ws = RawWebSocket(server.host, server.port, "/ws/playground/", server.url, cookie)
    assert ws.status == 101
    return ws


def hello(ws) -> dict:
    return next(e for e in events(ws) if e["type"] == "hello")


def events(ws):
    while True:
        _, payload = ws.frame()
        yield json.loads(payload)


def command(ws, **message) -> dict:
    ws.send_json({**message, "ref": message["op"]})
    return next(e for e in events(ws) if e.get("ref") == message["op"])


@pytest.fixture
def host_service():
    """A service of the host listening on every address, like a database would."""
    with socket.socket() as sock:
        sock.bind(("0.0.0.0", 0))  # noqa: S104 - the point of the test
        sock.listen()
        yield sock.getsockname()[1]


def test_it_gives_a_sandbox_a_port_that_a_host_service_holds(daphne_server, host_service):
    ws = visitor(daphne_server)
    try:
        greeting = hello(ws)
        assert greeting["network_namespace"] is True, greeting["network_namespace_note"]
        listened = command(ws, op="tcp.listen", device="server", port=host_service)
        assert listened["type"] == "ok", listened
        connected = command(
            ws, op="tcp.connect", device="laptop", to={"device": "server", "port": host_service}
        )
        assert connected["type"] == "ok", connected
        server_ip = next(d["ip"] for d in greeting["devices"] if d["name"] == "server")
    finally:
        ws.close()
    host = subprocess.run(["ss", "-tan"], capture_output=True, text=True, check=True).stdout
    assert server_ip not in host
    inside = namespace_table(namespace_helper_pid(daphne_server.process.pid))
    assert inside[(server_ip, host_service, "0.0.0.0", 0)] == "LISTEN"  # noqa: S104


def test_it_cannot_reach_the_servers_own_port_even_by_listening_on_it(daphne_server):
    """In its own network, the sandbox's connect to that port finds its own listener."""
    ws = visitor(daphne_server)
    try:
        hello(ws)
        port = daphne_server.port
        assert command(ws, op="tcp.listen", device="server", port=port)["type"] == "ok"
        connected = command(
            ws, op="tcp.connect", device="laptop", to={"device": "server", "port": port}
        )
        assert connected["type"] == "ok"
        accepted = next(
            e for e in events(ws) if e["type"] == "socket" and e["socket"]["role"] == "accepted"
        )
        assert accepted["socket"]["listener"] == "s1"
    finally:
        ws.close()
