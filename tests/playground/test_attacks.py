"""The playground under attack, on a real Daphne with production settings.

Each test starts its own server (the limits differ) on one prepared database,
and attacks it the way an attack run did: clients that stop reading, fresh
cookies for every sandbox, concurrent commands from many WebSockets of one
session, a snapshot too large for one message, descriptors running out.
"""

import contextlib
import json
import os
import re
import resource
import socket
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.support.live_server import ROOT, DaphneServer, prepare_site, site_env
from tests.support.raw_websocket import RawWebSocket
from tests.support.visitor_session import playground_cookie, session_only


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    """One migrated database with the course and static files, for every server here."""
    path = tmp_path_factory.mktemp("attacks")
    env = site_env(path)
    prepare_site(env)
    return path


def server(workdir, **env) -> DaphneServer:
    settings = {f"PLAYGROUND_{name.upper()}": str(value) for name, value in env.items()}
    return DaphneServer(workdir, prepare=False, **settings)


def page(server, path="/playground/") -> tuple[int, str]:
    """A page's status and the session cookie it set ("" if none)."""
    with urllib.request.urlopen(server.url + path, timeout=30) as response:
        cookies = " ".join(response.headers.get_all("Set-Cookie") or [])
        found = re.search(r"sessionid=[^;]+", cookies)
        return response.status, found.group(0) if found else ""


def session(server) -> str:
    return session_only(playground_cookie(server.url))


def connect(server, cookie, **options) -> RawWebSocket:
    ws = RawWebSocket(
        server.host, server.port, "/ws/playground/", origin=server.url, cookie=cookie, **options
    )
    assert ws.status == 101
    return ws


def hello(ws) -> dict:
    event = ws.event()
    assert event["type"] == "hello", event
    return event


def answers(ws, refs) -> dict:
    """Read until every ref is answered; {ref: ok-or-error event}."""
    got = {}
    while len(got) < len(refs):
        event = ws.event()
        if event["type"] in ("ok", "error") and event.get("ref") in refs:
            got[event["ref"]] = event
    return got


def replies(ws, count) -> list[dict]:
    """The next `count` ok or error events."""
    got = []
    while len(got) < count:
        event = ws.event()
        if event["type"] in ("ok", "error"):
            got.append(event)
    return got


def resident_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        return int(re.search(r"VmRSS:\s+(\d+)", status.read()).group(1))


def socket_descriptors(pid: int) -> int:
    count = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        with contextlib.suppress(FileNotFoundError):  # closed while we looked
            count += os.readlink(f"/proc/{pid}/fd/{fd}").startswith("socket:")
    return count


# 1. Slow readers ---------------------------------------------------------------

WATCHERS = 30


def test_it_closes_clients_that_stop_reading_and_keeps_server_memory_bounded(workdir):
    with server(
        workdir,
        websockets_per_session=WATCHERS + 1,
        commands_per_second=100000,
        command_burst=100000,
        slow_client_seconds=2,
    ) as site:
        cookie = session(site)
        driver = connect(site, cookie)
        hello(driver)
        # Thirty tabs of the one session with tiny receive buffers that never read.
        watchers = [connect(site, cookie, receive_buffer=4096) for _ in range(WATCHERS)]
        driver.send_json({"op": "tcp.listen", "device": "server", "port": 3000, "ref": "l"})
        driver.send_json(
            {"op": "tcp.connect", "device": "laptop", "to": {"device": "server", "port": 3000}}
            | {"ref": "c"}
        )
        client = answers(driver, {"l", "c"})["c"]["socket"]["id"]
        before = resident_kib(site.process.pid)
        for batch in range(40):
            refs = {f"{batch}-{n}" for n in range(50)}
            for ref in sorted(refs):
                driver.send_json({"op": "send", "socket": client, "data": "x" * 1000, "ref": ref})
            answers(driver, refs)  # the driver reads: only the watchers fall behind
        peak = resident_kib(site.process.pid)
        assert site.wait_for_log("closing a WebSocket that stopped reading")
        codes = []
        for ws in watchers:
            # Now read: the server must have closed (4008) and ended the TCP
            # connection; a read that times out means it kept it open.
            code, _ = ws.until_closed()
            codes.append(code)
            ws.close()
        driver.close()
        growth = peak - before
        print(f"RSS before {before} KiB, at the end of the flood {peak} KiB")
        # Each ended: with 4008, or dropped (RST) before the client read the close frame,
        # since a client that does not answer the close is cut off after Daphne's 1 s.
        assert set(codes) <= {4008, None}, codes
        # 2000 sends of 1 KB to 30 tabs asked for ~80 MB of events; nothing like it stays.
        assert growth < 30 * 1024, f"server grew by {growth} KiB"


# 2. Quotas per address -----------------------------------------------------------


def test_it_keeps_sandboxes_for_other_addresses_while_one_address_is_at_its_quota(workdir):
    with server(
        workdir, sandboxes_per_process=4, sandboxes_per_address=2, reserved_sandboxes=1
    ) as site:
        open_ones = []

        def visit(source):
            # A fresh cookie every time, as the attack did.
            ws = connect(site, session(site), source=source)
            open_ones.append(ws)
            return ws

        a1, a2 = visit("127.0.0.2"), visit("127.0.0.2")
        hello(a1), hello(a2)
        refused = visit("127.0.0.2")
        error = refused.event()
        assert error["code"] == "limit_sandboxes_per_address"
        assert error["limit"] == "sandboxes_per_address" and "Your address" in error["message"]
        assert refused.until_closed()[0] == 4429
        # Another address still gets one...
        b1 = visit("127.0.0.3")
        assert hello(b1)["sockets"] == []
        # ...but not a second one: the last place is kept for an address with none.
        refused = visit("127.0.0.3")
        error = refused.event()
        assert (error["code"], error["limit"]) == ("limit_sandboxes", "reserved_sandboxes")
        assert refused.until_closed()[0] == 4503
        hello(visit("127.0.0.4"))
        full = visit("127.0.0.5")
        assert full.event()["code"] == "limit_sandboxes"
        assert full.until_closed()[0] == 4503
        for ws in open_ones:
            ws.close()


# 4. The socket limit under concurrency ------------------------------------------


def test_it_never_exceeds_the_socket_limit_under_concurrent_commands(workdir):
    tabs = 30
    with server(
        workdir,
        websockets_per_session=tabs + 2,
        commands_per_second=100000,
        command_burst=100000,
        sockets_per_sandbox=16,
    ) as site:
        cookie = session(site)
        first = connect(site, cookie)
        hello(first)
        first.send_json({"op": "tcp.listen", "device": "server", "port": 3000, "ref": "l"})
        answers(first, {"l"})
        pid = site.process.pid
        base = socket_descriptors(pid)  # one sandbox socket, the WebSocket, the server's own
        many = [connect(site, cookie) for _ in range(tabs)]
        for ws in many:
            hello(ws)
        for n, ws in enumerate(many):  # all sent before any answer is read
            ws.send_json({"op": "tcp.listen", "device": "laptop", "port": 0, "ref": f"l{n}"})
            ws.send_json(
                {"op": "tcp.connect", "device": "laptop", "to": {"device": "server", "port": 3000}}
                | {"ref": f"c{n}"}
            )
            ws.send_json({"op": "udp.bind", "device": "server", "port": 0, "ref": f"u{n}"})
        results = [answers(ws, {f"l{n}", f"c{n}", f"u{n}"}) for n, ws in enumerate(many)]
        made = sum(e["type"] == "ok" for r in results for e in r.values())
        refused = [e for r in results for e in r.values() if e["type"] == "error"]
        assert {e["code"] for e in refused} == {"limit_sockets"}
        # Rows of a fresh snapshot, and the descriptors the server really holds.
        last = connect(site, cookie)
        rows = [r for r in hello(last)["sockets"] if not r["closed_by_program"]]
        held = socket_descriptors(pid) - base - (tabs + 1)  # minus the new WebSockets
        print(f"{made} sockets made, {len(rows)} rows, {held} more socket descriptors")
        assert len(rows) <= 16
        assert held <= 16 - 1  # the listener was in the base already
        for ws in (first, *many, last):
            ws.close()


# 5. A snapshot larger than one message ------------------------------------------

E_ACUTE_BYTES = 65536  # what each socket keeps: é is two bytes, \\u00e9 six in ASCII JSON


def test_it_sends_a_large_snapshot_in_chunks_and_frees_the_sandbox_after_the_grace_period(
    workdir,
):
    with server(
        workdir,
        commands_per_second=100000,
        command_burst=100000,
        message_bytes=65536,
        send_bytes=32768,
        grace_period=1,
    ) as site:
        cookie = session(site)
        ws = connect(site, cookie)
        devices = [d["ip"] for d in hello(ws)["devices"]]
        ws.send_json({"op": "tcp.listen", "device": "server", "port": 3000, "ref": "l"})
        refs = {"l"} | {f"c{n}" for n in range(4)}
        for n in range(4):
            to = {"device": "server", "port": 3000}
            ws.send_json({"op": "tcp.connect", "device": "laptop", "to": to, "ref": f"c{n}"})
        got = answers(ws, refs)
        clients = [got[f"c{n}"]["socket"]["id"] for n in range(4)]
        received = {}  # by accepted socket: the listener's side of each connection
        text = "é" * (32768 // 2)
        for client in clients:
            for k in range(2):
                ws.send_json({"op": "send", "socket": client, "data": text, "ref": f"{client}-{k}"})
        while len(received) < 4 or min(received.values()) < E_ACUTE_BYTES:
            event = ws.event()
            if event["type"] == "data" and event["socket"] not in clients:
                received[event["socket"]] = received.get(event["socket"], 0) + event["bytes"]
        answer_refs = {}
        for peer in sorted(received):
            for k in range(2):
                answer_refs[f"{peer}-{k}"] = peer
                ws.send_json({"op": "send", "socket": peer, "data": text, "ref": f"{peer}-{k}"})
        answers(ws, set(answer_refs))
        ws.close()

        again = connect(site, cookie)
        greeting = hello(again)
        assert len(greeting["sockets"]) == 9
        kept = {}
        for _ in range(greeting["data_chunks"]):
            chunk = again.event()
            assert chunk["type"] == "data" and chunk["kept"] is True
            kept[chunk["socket"]] = kept.get(chunk["socket"], "") + chunk["data"]
        # Eight sockets, each still keeping 64 KiB of é: about 1 MiB as JSON even unescaped.
        assert len(kept) == 8
        assert all(value == "é" * (E_ACUTE_BYTES // 2) for value in kept.values())
        again.close()
        # Everyone left: the sandbox closes after the grace period.
        assert site.wait_for_log(f"playground: sandbox {' '.join(devices)} closed")


# 7. Commands per second per sandbox ----------------------------------------------


def test_it_limits_commands_per_sandbox_whatever_the_number_of_connections(workdir):
    rate, burst, tabs, each = 5, 10, 10, 20
    with server(
        workdir, commands_per_second=rate, command_burst=burst, websockets_per_session=tabs
    ) as site:
        cookie = session(site)
        many = [connect(site, cookie) for _ in range(tabs)]
        for ws in many:
            hello(ws)
        started = time.monotonic()
        for n, ws in enumerate(many):
            for k in range(each):
                ws.send_json({"op": "close", "socket": "s99", "ref": f"{n}-{k}"})
        # One answer a frame; a refused frame's error has no ref (it is not even read).
        results = [replies(ws, each) for ws in many]
        elapsed = time.monotonic() - started
        accepted = sum(e.get("code") != "limit_commands_per_second" for r in results for e in r)
        print(f"{accepted} of {tabs * each} commands accepted in {elapsed:.2f} s")
        assert accepted <= burst + rate * elapsed + 1
        # Binary and oversize frames pay too: with the bucket empty they are refused first.
        many[0].send_frame(0x2, b"\x00" * 10)
        many[0].send_frame(0x1, b" " * 70000)
        refusals = [many[0].event() for _ in range(2)]
        assert [e["code"] for e in refusals] == ["limit_commands_per_second"] * 2
        # One WebSocket more than the session may have is refused with a clear code.
        extra = connect(site, cookie)
        error = extra.event()
        assert error["code"] == "limit_websockets_per_session"
        assert extra.until_closed()[0] == 4429
        for ws in many:
            ws.close()


# 3. File descriptors ---------------------------------------------------------------

NOFILE = 512


def low_descriptor_limit():
    resource.setrlimit(resource.RLIMIT_NOFILE, (NOFILE, NOFILE))


def test_it_keeps_descriptors_for_the_pages_when_sandboxes_want_them_all(workdir):
    # The check passes: 10 x (16 + 1 + 2) + 256 = 446 <= 512.
    env = {
        "PLAYGROUND_SANDBOXES_PER_PROCESS": "10",
        "PLAYGROUND_WEBSOCKETS_PER_SESSION": "2",
        "PLAYGROUND_RESERVED_SANDBOXES": "0",
        "PLAYGROUND_SANDBOXES_PER_ADDRESS": "10",
        "PLAYGROUND_COMMANDS_PER_SECOND": "1000",
        "PLAYGROUND_COMMAND_BURST": "1000",
    }
    with DaphneServer(workdir, prepare=False, preexec_fn=low_descriptor_limit, **env) as site:
        assert site.manage("check").returncode == 0
        # Other clients hold connections open, as any busy site has: leave ~100 free.
        used = len(os.listdir(f"/proc/{site.process.pid}/fd"))
        idle = []
        for _ in range(NOFILE - used - 100):
            idle.append(socket.create_connection((site.host, site.port)))
        try:
            visitors = []
            codes = set()
            for _ in range(6):  # enough sandboxes to take the last ~100 descriptors
                ws = connect(site, session(site))
                visitors.append(ws)
                hello(ws)
                refs = {f"u{n}" for n in range(16)}
                for ref in sorted(refs):
                    ws.send_json({"op": "udp.bind", "device": "laptop", "port": 0, "ref": ref})
                got = answers(ws, refs)
                codes |= {e["code"] for e in got.values() if e["type"] == "error"}
                assert site.process.poll() is None
            assert codes == {"limit_descriptors"}, codes
            with ThreadPoolExecutor(4) as pool:
                statuses = list(pool.map(lambda _: page(site, "/")[0], range(8)))
            assert statuses == [200] * 8
            for ws in visitors:
                ws.close()
        finally:
            for sock in idle:
                sock.close()


def test_it_refuses_to_start_checks_when_the_descriptor_limit_cannot_hold_the_playground(
    workdir,
):
    env = site_env(workdir)
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (1024, 1024)),
    )
    assert result.returncode != 0
    assert "playground.E009" in result.stderr
    assert "12756 file descriptors" in result.stderr and "(1024" in result.stderr


def test_it_counts_nothing_in_json_escapes():
    # ensure_ascii is off: an é is sent as two bytes of UTF-8, not as \\u00e9.
    from playground.wire.protocol import dumps

    assert len(dumps({"data": "é" * 10}).encode()) == len(json.dumps({"data": ""})) + 20
