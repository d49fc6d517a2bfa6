"""The files of deploy/ as the tools that read them see them: systemd's own verifier
for the units, nginx's own check for the rendered config, and a real nginx from it
routing WebSockets as the pool engine's route view tells it (the route view and the
sandbox processes stood in for by small servers here, so only nginx's part is
tested: the whole pool stack is tests/playground/engines/test_pool_live.py's). Then the
Procfile's lines, and `make serve-scaled`, which runs them.
"""

import base64
import hashlib
import json
import os
import re
import shutil
import socket
import socketserver
import struct
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from deploy import scaled
from deploy.render import render
from tests.deploy.test_deploy_live import NGINX
from tests.support.deploy_servers import NginxServer
from tests.support.live_server import ROOT
from tests.support.procfile import commands
from tests.support.raw_websocket import RawWebSocket
from tests.support.services import free_port, missing

UNITS = ROOT / "deploy" / "systemd"


def sandbox_ports_of_target() -> list[str]:
    """The sandbox processes sockets.target starts: their instance names, i.e. ports."""
    wants = [line for line in (UNITS / "sockets.target").read_text().splitlines() if "=" in line]
    return sorted(re.findall(r"sockets-playground@(\d+)\.service", "\n".join(wants)))


@pytest.fixture
def installed_units(tmp_path):
    """The units as installed: /srv/sockets is this checkout and its .venv."""
    venv = Path(sys.executable).parent.parent
    for unit in UNITS.iterdir():
        text = unit.read_text().replace("/srv/sockets/.venv", str(venv))
        (tmp_path / unit.name).write_text(text.replace("/srv/sockets", str(ROOT)))
    # The template is verified as the instances sockets.target starts.
    for port in sandbox_ports_of_target():
        shutil.copy(
            tmp_path / "sockets-playground@.service",
            tmp_path / f"sockets-playground@{port}.service",
        )
    return tmp_path


def test_it_has_systemd_units_that_systemd_verifies(installed_units):
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        missing("Checking the units needs systemd-analyze: `sudo apt-get install systemd`.")
    names = sorted(p.name for p in installed_units.iterdir() if not p.name.endswith("@.service"))
    result = subprocess.run(
        [analyze, "verify", "--man=no", *names],
        cwd=installed_units,
        capture_output=True,
        text=True,
        timeout=60,
    )
    # Unknown keys and bad values are only warnings for systemd: none is allowed here.
    assert result.returncode == 0 and not result.stderr.strip(), result.stderr


def test_it_runs_one_playground_process_per_unit_instance_on_the_instances_port():
    unit = (UNITS / "sockets-playground@.service").read_text()
    assert "manage.py playground_process --host 127.0.0.1 --port %i\n" in unit
    assert not (UNITS / "sockets-ws@.service").exists()


def test_it_starts_every_procfile_process_under_systemd_too():
    target = (UNITS / "sockets.target").read_text()
    processes = commands()
    assert list(processes) == ["redis", "http", "sandbox1", "sandbox2", "nginx"]
    for unit in ("sockets-http.service", "sockets-nginx.service"):  # Redis is Debian's own
        assert unit in target, unit
    # The same sandbox processes, on the same ports, as the Procfile's defaults.
    procfile_ports = [
        str(port) for name, port in scaled.procfile_ports().items() if name.startswith("SANDBOX")
    ]
    assert sandbox_ports_of_target() == procfile_ports == ["8101", "8102"]


def test_it_has_procfile_lines_that_exec_the_sandbox_processes_on_their_ports():
    processes = commands()
    for number, port in (("1", 8101), ("2", 8102)):
        assert processes[f"sandbox{number}"] == (
            "exec .venv/bin/python manage.py playground_process "
            f"--host 127.0.0.1 --port ${{SANDBOX{number}_PORT:-{port}}}"
        )
    # A signal sent to a process must reach the program itself (SIGTERM drains).
    assert all(command.startswith("exec ") for command in processes.values())


def nginx_check(config: str, directory: Path) -> subprocess.CompletedProcess:
    (directory / "tmp").mkdir(exist_ok=True)
    (directory / "nginx.conf").write_text(config)
    command = [NGINX, "-t", "-q", "-e", "stderr", "-c", str(directory / "nginx.conf")]
    return subprocess.run(
        [*command, "-p", f"{directory}/"], capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize("engine", ["pool", "local"])
def test_it_renders_an_nginx_config_that_nginx_accepts(tmp_path, engine):
    if NGINX is None:
        missing("Checking the nginx config needs Debian's nginx: `sudo apt-get install nginx`.")
    config = render(
        listen="127.0.0.1:8080",
        http=["127.0.0.1:8001"],
        static_root=tmp_path / "static",
        engine=engine,
        ws="127.0.0.1:8101" if engine == "local" else None,
    )
    result = nginx_check(config, tmp_path)
    assert result.returncode == 0, result.stderr
    websockets = config.split("location /ws/ {", 1)[1].split("\n        }\n", 1)[0]
    if engine == "pool":  # no sandbox process is listed: the route view names each owner
        assert "auth_request /_playground_route;" in websockets
        directives = "\n".join(line.partition("#")[0] for line in config.splitlines())
        assert "sockets_ws" not in directives and "8101" not in directives
    else:
        assert "proxy_pass http://sockets_ws;" in websockets
        assert "server 127.0.0.1:8101;" in config


def test_it_refuses_to_render_a_config_its_engine_cannot_use():
    with pytest.raises(ValueError, match="engine"):
        render(listen="80", http=["a:1"], static_root="/s", engine="workers")
    with pytest.raises(ValueError, match="Daphne"):
        render(listen="80", http=["a:1"], static_root="/s", engine="local")
    with pytest.raises(ValueError, match="route view"):
        render(listen="80", http=["a:1"], static_root="/s", engine="pool", ws="b:2")


# nginx routing WebSockets for the pool engine, with stand-ins for its two neighbours.

WEBSOCKET_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class RouteServer(ThreadingHTTPServer):
    """The route view's part: sessionid -> (status, headers); every request recorded."""

    daemon_threads = True

    def __init__(self, routes: dict[str, tuple[int, dict]]):
        super().__init__(("127.0.0.1", 0), RouteHandler)
        self.routes = routes
        self.seen: list[tuple[str, str, dict]] = []
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def address(self) -> str:
        return "{}:{}".format(*self.server_address)


class RouteHandler(BaseHTTPRequestHandler):
    def do_GET(self):
        self.server.seen.append((self.command, self.path, dict(self.headers)))
        session = self.headers.get("Cookie", "").partition("sessionid=")[2].split(";")[0]
        status, headers = self.server.routes.get(session, (503, {}))
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


class OwnerServer(socketserver.ThreadingTCPServer):
    """A sandbox process's part: accepts a WebSocket, says who it is and what it was
    told in a first text frame, then echoes one frame."""

    daemon_threads = True

    def __init__(self, name: str):
        super().__init__(("127.0.0.1", 0), OwnerHandler)
        self.name = name
        self.connections = 0
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def address(self) -> str:
        return "{}:{}".format(*self.server_address)


class OwnerHandler(socketserver.BaseRequestHandler):
    def handle(self):
        self.server.connections += 1
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.request.recv(4096)
            if not chunk:
                return
            head += chunk
        request, *lines = head.split(b"\r\n\r\n")[0].decode().split("\r\n")
        headers = {}
        for line in lines:
            name, _, value = line.partition(":")
            headers.setdefault(name.strip().lower(), []).append(value.strip())
        digest = hashlib.sha1(  # noqa: S324 - RFC 6455's accept key, not a secret
            (headers["sec-websocket-key"][0] + WEBSOCKET_GUID).encode()
        ).digest()
        self.request.sendall(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
            b"Connection: Upgrade\r\nSec-WebSocket-Accept: "
            + base64.b64encode(digest)
            + b"\r\n\r\n"
        )
        told = {
            "owner": self.server.name,
            "path": request.split()[1],
            "lost": headers.get("x-playground-lost", []),
            "forwarded_for": headers.get("x-forwarded-for", []),
        }
        self.send_text(json.dumps(told).encode())
        try:
            _, second = self.exactly(2)
        except ConnectionError:
            return  # the client only wanted the upgrade (the per-address limit's test)
        mask = self.exactly(4)
        payload = bytes(b ^ mask[i % 4] for i, b in enumerate(self.exactly(second & 0x7F)))
        self.send_text(payload)

    def exactly(self, n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = self.request.recv(n - len(data))
            if not chunk:
                raise ConnectionError("closed")
            data += chunk
        return data

    def send_text(self, payload: bytes) -> None:
        self.request.sendall(struct.pack("!BBH", 0x81, 126, len(payload)) + payload)


@pytest.fixture(scope="module")
def pool_nginx(tmp_path_factory):
    if NGINX is None:
        missing("The nginx routing test needs Debian's nginx: `sudo apt-get install nginx`.")
    workdir = tmp_path_factory.mktemp("pool-nginx")
    first, second = OwnerServer("first"), OwnerServer("second")
    route = RouteServer(
        {
            "one": (204, {"X-Playground-Owner": first.address}),
            "two": (204, {"X-Playground-Owner": second.address}),
            "moved": (
                204,
                {"X-Playground-Owner": second.address, "X-Playground-Lost": "process_lost"},
            ),
            # anything else: 503, as when no live process has room
        }
    )
    with NginxServer(
        workdir / "nginx",
        port=free_port(),
        http=[route.address],
        static_root=workdir / "static",
        engine="pool",
    ) as nginx:
        nginx.route, nginx.owners = route, (first, second)
        yield nginx
    for server in (route, first, second):
        server.shutdown()
        server.server_close()


def websocket(nginx, session: str, source="127.0.0.1", extra_header: str = "") -> RawWebSocket:
    # RawWebSocket writes the cookie as its own line: another header may follow it.
    cookie = f"sessionid={session}" + (f"\r\n{extra_header}" if extra_header else "")
    return RawWebSocket(
        "127.0.0.1", nginx.port, "/ws/playground/", origin=nginx.url, cookie=cookie, source=source
    )


def test_it_sends_each_websocket_to_the_process_the_route_view_names(pool_nginx):
    for session, owner in (("one", "first"), ("two", "second"), ("one", "first")):
        ws = websocket(pool_nginx, session, source="127.0.0.5")
        try:
            assert ws.status == 101
            told = ws.event()
            assert told["owner"] == owner
            assert told["path"] == "/ws/playground/"
            assert told["lost"] == []  # nothing was lost: no header at all
            assert told["forwarded_for"] == ["127.0.0.5"]
            ws.send_json({"op": "echo"})
            assert ws.event() == {"op": "echo"}  # both ways through nginx
        finally:
            ws.close()
    method, path, headers = pool_nginx.route.seen[-1]
    # The subrequest: the session's cookie and the client's address, no body.
    assert (method, path) == ("GET", "/playground/route/")
    assert headers["Cookie"] == "sessionid=one"
    assert headers["X-Forwarded-For"] == "127.0.0.5"
    assert "Content-Length" not in headers or headers["Content-Length"] == "0"


def test_it_tells_the_new_owner_a_sandbox_was_lost_and_only_when_the_route_view_says_so(
    pool_nginx,
):
    ws = websocket(pool_nginx, "moved")
    try:
        assert ws.event()["lost"] == ["process_lost"]
    finally:
        ws.close()
    forged = websocket(pool_nginx, "two", extra_header="X-Playground-Lost: process_lost")
    try:
        assert forged.event()["lost"] == []
    finally:
        forged.close()


def test_it_refuses_the_upgrade_with_503_when_no_process_has_room(pool_nginx):
    connections = sum(owner.connections for owner in pool_nginx.owners)
    ws = websocket(pool_nginx, "full")
    try:
        assert ws.status == 503
    finally:
        ws.close()
    assert sum(owner.connections for owner in pool_nginx.owners) == connections


def test_it_answers_404_to_the_route_view_from_outside(pool_nginx):
    seen = len(pool_nginx.route.seen)
    for path in ("/playground/route/", "/playground/route", "/playground//route/?x=1"):
        with socket.create_connection(("127.0.0.1", pool_nginx.port), timeout=10) as conn:
            request = f"GET {path} HTTP/1.1\r\nHost: x\r\nCookie: sessionid=one\r\n"
            conn.sendall(f"{request}Connection: close\r\n\r\n".encode())
            answer = b""
            while chunk := conn.recv(4096):
                answer += chunk
        assert answer.startswith(b"HTTP/1.1 404"), (path, answer[:100])
    assert len(pool_nginx.route.seen) == seen  # never reached the site


def raw_get(port: int, path: str, headers: str = "") -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        request = f"GET {path} HTTP/1.1\r\nHost: x\r\nCookie: sessionid=one\r\n{headers}"
        conn.sendall(f"{request}Connection: close\r\n\r\n".encode())
        answer = b""
        while chunk := conn.recv(4096):
            answer += chunk
    return answer


def test_it_routes_only_websocket_upgrades_and_limits_them_per_address(pool_nginx):
    seen = len(pool_nginx.route.seen)
    # A plain request to /ws/ places nobody: refused before the route view is asked.
    assert raw_get(pool_nginx.port, "/ws/playground/").startswith(b"HTTP/1.1 400")
    assert len(pool_nginx.route.seen) == seen
    # One address's upgrades past the burst (60, then 10 a second) are refused with 429,
    # never reaching the route view; another address is not held back by it.
    statuses, started = [], time.monotonic()
    while 429 not in statuses and len(statuses) < 1000:
        ws = websocket(pool_nginx, "one", source="127.0.0.9")
        statuses.append(ws.status)
        ws.close()
    assert statuses[-1] == 429
    assert 60 <= statuses.count(101) <= 60 + 10 * (time.monotonic() - started) + 1
    assert len(pool_nginx.route.seen) - seen == statuses.count(101)
    other = websocket(pool_nginx, "one", source="127.0.0.10")
    try:
        assert other.status == 101
    finally:
        other.close()


# `make serve-scaled`: deploy/scaled.py, then honcho over the Procfile.


def test_it_has_a_make_target_that_serves_the_procfile_scaled():
    # As a user runs it, not as a sub-make of `make test` (which prints directories).
    outer = ("MAKEFLAGS", "MAKELEVEL", "MFLAGS")
    dry = subprocess.run(
        ["make", "--no-print-directory", "--dry-run", "--always-make", "serve-scaled"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={name: value for name, value in os.environ.items() if name not in outer},
    )
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.strip().splitlines()[-1].endswith("python -m deploy.scaled")
    assert "production,redis" in dry.stdout  # gunicorn, honcho and channels_redis


def test_it_serves_scaled_with_the_pool_engine_whatever_dotenv_says(tmp_path):
    env, forced = scaled.environment(
        {"PATH": "/usr/bin:/bin", "SANDBOX2_PORT": "9102"},
        {"PLAYGROUND_ENGINE": "workers", "REDIS_PORT": "6390", "DJANGO_BEHIND_PROXY": "0"},
    )
    assert env["PLAYGROUND_ENGINE"] == forced["PLAYGROUND_ENGINE"] == "pool"
    assert env["REDIS_URL"] == "redis://127.0.0.1:6390/0"  # the Procfile's own Redis
    assert env["DJANGO_BEHIND_PROXY"] == "1"
    assert (env["PORT"], env["HTTP_PORT"], env["SANDBOX1_PORT"], env["SANDBOX2_PORT"]) == (
        "8080",
        "8001",
        "8101",
        "9102",
    )
    assert "DATABASE_POOL" not in env  # SQLite
    postgres, _ = scaled.environment({"DATABASE_URL": "postgres://u@127.0.0.1/s"}, {})
    assert postgres["DATABASE_POOL"] == "1"


def test_it_refuses_to_serve_scaled_on_a_port_already_taken_and_names_it():
    if NGINX is None or shutil.which("redis-server") is None:
        missing("`make serve-scaled` needs nginx and redis-server: `sudo apt-get install ...`.")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "deploy.scaled"],
            cwd=ROOT,
            env={**os.environ, "REDIS_PORT": str(port), "PORT": str(free_port())},
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode != 0
    assert f"REDIS_PORT={port}" in result.stderr
