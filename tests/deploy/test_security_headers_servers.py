"""No server the project starts names its software in a Server header: each is started
exactly as the project starts it (the Makefile's `make run`, each server line of
deploy/Procfile, the test suite's own live server) and asked for a page; the Daphnes
also for a WebSocket, whose handshake Autobahn answers with its own headers."""

import contextlib
import os
import re
import shlex
import signal
import socket
import sys
import uuid
from types import SimpleNamespace

from tests.deploy.test_deploy_live import Browser
from tests.support.live_server import LISTENING, ROOT, LoggedProcess
from tests.support.procfile import ProcfileProcess
from tests.support.services import free_port


def make_run_command() -> list[str]:
    """The command of the Makefile's `run` recipe, on a free port."""
    makefile = (ROOT / "Makefile").read_text()
    recipe = re.search(r"^run:.*\n\t(.+)$", makefile, re.M).group(1)
    recipe = recipe.replace("$(PY)", sys.executable).replace("$(HOST)", "127.0.0.1")
    return shlex.split(recipe.replace("$(PORT)", "0"))


@contextlib.contextmanager
def make_run(env):
    """`make run`'s server (Django's autoreloader and its child), stopped as a group."""
    process = LoggedProcess()
    env = {**env, "DJANGO_DEBUG": "1"}  # as a fresh checkout runs it
    match = process.start(make_run_command(), env, LISTENING, "runserver", start_new_session=True)
    try:
        yield SimpleNamespace(port=int(match.group(2)), url=f"http://127.0.0.1:{match.group(2)}")
    finally:
        os.killpg(process.process.pid, signal.SIGTERM)
        process.process.wait(timeout=20)


@contextlib.contextmanager
def procfile(name, env, port_variable):
    port = free_port()
    process = ProcfileProcess(name, {**env, port_variable: str(port), "GUNICORN_WORKERS": "1"})
    try:
        process.start_now()
        yield SimpleNamespace(port=port, url=f"http://127.0.0.1:{port}")
    finally:
        process.stop()


def signed_up(site) -> Browser:
    """A visitor with a session (an account), whatever a bare GET does with sessions."""
    visitor = Browser(site)
    page = visitor.get("/accounts/signup/").text
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    password = "a-very-long-passphrase"
    form = {
        "csrfmiddlewaretoken": token,
        "username": f"server-{uuid.uuid4().hex[:8]}",
        "password1": password,
        "password2": password,
    }
    assert visitor.request("POST", "/accounts/signup/", body=form).status == 302
    return visitor


def websocket_handshake(site, visitor) -> tuple[int, dict[str, str]]:
    """The status and headers of the answer to a playground WebSocket's opening."""
    with socket.create_connection(("127.0.0.1", site.port), timeout=30) as sock:
        request = (
            f"GET /ws/playground/ HTTP/1.1\r\nHost: 127.0.0.1:{site.port}\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
            f"Origin: {site.url}\r\nCookie: sessionid={visitor.cookies['sessionid']}\r\n\r\n"
        )
        sock.sendall(request.encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = sock.recv(1024)
            assert chunk, head
            head += chunk
    status_line, *lines = head.split(b"\r\n\r\n")[0].decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines)
    return int(status_line.split()[1]), {name.lower(): value for name, value in headers.items()}


def assert_names_no_server(site, websocket=True):
    visitor = signed_up(site)
    page = visitor.get("/")
    assert page.status == 200
    assert page.headers.get_all("Server") is None, page.headers.get_all("Server")
    if websocket:
        status, headers = websocket_handshake(site, visitor)
        assert status == 101
        assert "server" not in headers, headers["server"]


def test_it_names_no_server_from_make_run(daphne_server):
    with make_run(daphne_server.env) as site:
        assert_names_no_server(site)


def test_it_names_no_server_from_the_procfiles_sandbox_process(daphne_server, redis_server):
    env = {**daphne_server.env, "PLAYGROUND_ENGINE": "pool", "REDIS_URL": redis_server.url}
    with procfile("sandbox1", env, "SANDBOX1_PORT") as site:
        assert_names_no_server(site)


def test_it_names_no_server_from_the_procfiles_http_workers(daphne_server):
    with procfile("http", daphne_server.env, "HTTP_PORT") as site:
        assert_names_no_server(site, websocket=False)  # nginx sends WebSockets to sandboxes


def test_it_names_no_server_from_the_test_suites_live_server(daphne_server):
    assert_names_no_server(daphne_server)
