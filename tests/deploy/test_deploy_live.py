"""The production topology of deploy/, end to end: Debian's nginx (from
deploy/nginx.conf.template rendered for the local engine, as the current user, on a
free port) in front of gunicorn with 2 gthread workers (WSGI) for HTTP and the one Daphne that
holds the sandboxes for WebSockets, all on one SQLite database, with
DJANGO_BEHIND_PROXY=1. Every check goes through nginx. Last, `make serve-scaled`'s
command runs the pool engine's topology (deploy/Procfile under honcho) once; its
faults are tests/playground/engines/test_pool_live.py's.

Other client addresses come from binding the client's socket to 127.0.0.2, 127.0.0.3...
(Linux routes all of 127.0.0.0/8 to the loopback device), while nginx itself always
reaches the site from 127.0.0.1: so the site can only see those addresses through the
X-Forwarded-For header nginx sets.
"""

import http.client
import os
import re
import shutil
import signal
import sys
from urllib.parse import urlencode

import pytest

from deploy.workers import WORKER_READY
from tests.support.deploy_servers import GunicornServer, NginxServer
from tests.support.live_server import DaphneServer, LoggedProcess, site_env
from tests.support.raw_websocket import RawWebSocket
from tests.support.services import free_port, missing
from tests.support.visitor_session import playground_cookie, session_only

NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
FAILURE_LIMIT = 3


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    if NGINX is None:
        message = (
            "The deploy test needs Debian's nginx: install it with "
            "`sudo apt-get install nginx` (CI installs it in .ci/run)."
        )
        missing(message)
    workdir = tmp_path_factory.mktemp("deploy")
    env = {
        "DJANGO_BEHIND_PROXY": "1",
        "DJANGO_LOGIN_FAILURE_LIMIT": str(FAILURE_LIMIT),
        "DJANGO_LOGIN_ADDRESS_FAILURE_LIMIT": "20",
        "PLAYGROUND_NETWORK_NAMESPACE": "0",
    }
    with (
        DaphneServer(workdir, **env) as ws,  # prepares the database and static files
        GunicornServer(workdir, workers=2, **env) as http_workers,
        NginxServer(
            workdir / "nginx",
            port=free_port(),
            http=[http_workers.address],
            static_root=workdir / "static",
            engine="local",
            ws=f"{ws.host}:{ws.port}",
        ) as nginx,
    ):
        nginx.manage = ws.manage
        yield nginx


class Browser:
    """One client address (a source address in 127.0.0.0/8) with its cookies."""

    def __init__(self, site, source: str = "127.0.0.1"):
        self.site = site
        self.source = source
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, body: dict | None = None, headers=None):
        connection = http.client.HTTPConnection(
            "127.0.0.1", self.site.port, timeout=30, source_address=(self.source, 0)
        )
        headers = dict(headers or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        data = None
        if body is not None:
            data = urlencode(body)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["Referer"] = self.site.url + path
        connection.request(method, path, body=data, headers=headers)
        response = connection.getresponse()
        response.text = response.read().decode("utf-8", "replace")
        for cookie in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = cookie.partition("=")
            self.cookies[name] = rest.split(";", 1)[0]
        connection.close()
        return response

    def get(self, path: str, **headers):
        return self.request("GET", path, headers=headers)

    def log_in(self, username: str, password: str, **headers):
        page = self.get("/accounts/login/").text
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        form = {"csrfmiddlewaretoken": token, "username": username, "password": password}
        return self.request("POST", "/accounts/login/", body=form, headers=headers)


def recorded_addresses(site) -> set[str]:
    """The addresses the site recorded failed log-ins from (django-axes, in the database)."""
    code = (
        "from axes.models import AccessAttempt\n"
        "for a in AccessAttempt.objects.all(): print('IP', a.ip_address)"
    )
    result = site.manage("shell", "-v", "0", "-c", code)
    assert result.returncode == 0, result.stderr
    return set(re.findall(r"IP (\S+)", result.stdout))


def test_it_serves_pages_through_nginx_with_the_security_headers(site):
    for path in ("/", "/lessons/sockets/", "/quizzes/", "/playground/", "/healthz/"):
        response = Browser(site).get(path)
        assert response.status == 200, path
        assert "default-src 'self'" in response.headers["Content-Security-Policy"]
        assert "camera=()" in response.headers["Permissions-Policy"]
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "same-origin"
        assert response.headers.get_all("Server") is None, response.headers.get_all("Server")


def test_it_serves_the_static_files_from_nginx(site):
    page = Browser(site).get("/").text
    stylesheet = re.search(r'href="(/static/site/site\.[0-9a-f]+\.css)"', page).group(1)
    response = Browser(site).get(stylesheet, **{"Accept-Encoding": "gzip"})
    assert response.status == 200
    assert response.headers["Content-Type"] == "text/css"
    # nginx's own headers (WhiteNoise would say max-age=315360000): a year,
    # and the .gz file collectstatic wrote, sent as it is (gzip_static).
    assert "max-age=31536000" in response.headers["Cache-Control"]
    assert "immutable" in response.headers["Cache-Control"]
    assert response.headers["Content-Encoding"] == "gzip"
    assert Browser(site).get("/static/site/no-such-file.css").status == 404


def test_it_opens_a_playground_websocket_through_nginx(site):
    browser = Browser(site)
    page = browser.get("/playground/")
    assert page.status == 200
    # The page's script makes the session (no GET does), before its WebSocket.
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    assert (
        browser.request("POST", "/playground/session/", {"x": ""}, {"X-CSRFToken": token}).status
        == 204
    )
    for _ in range(2):  # two tabs, both to the one Daphne
        ws = RawWebSocket(
            "127.0.0.1",
            site.port,
            "/ws/playground/",
            origin=site.url,
            cookie=f"sessionid={browser.cookies['sessionid']}",
        )
        try:
            assert ws.status == 101
            assert ws.event()["type"] == "hello"
        finally:
            ws.close()


def test_it_refuses_a_websocket_from_another_origin_through_nginx(site):
    ws = RawWebSocket(
        "127.0.0.1", site.port, "/ws/playground/", origin="http://evil.example", cookie=""
    )
    try:
        assert ws.status == 403
    finally:
        ws.close()


def test_it_sees_the_real_client_address_not_the_one_the_client_claims(site):
    browser = Browser(site, source="127.0.0.2")
    response = browser.log_in("nobody-here", "wrong", **{"X-Forwarded-For": "10.9.9.9"})
    assert response.status == 200  # the form again, with its error
    addresses = recorded_addresses(site)
    assert "127.0.0.2" in addresses
    assert "10.9.9.9" not in addresses
    assert "127.0.0.1" not in addresses  # nginx's own address, the site's peer


def test_it_counts_log_in_failures_per_real_address(site):
    attacker = Browser(site, source="127.0.0.3")
    statuses = [attacker.log_in("alice", "wrong").status for _ in range(FAILURE_LIMIT)]
    assert statuses == [200] * (FAILURE_LIMIT - 1) + [429]  # the limit-th failure locks
    # A forged header does not buy a fresh address.
    assert attacker.log_in("alice", "wrong", **{"X-Forwarded-For": "10.1.2.3"}).status == 429
    # The same account from another address is still asked for its password.
    assert Browser(site, source="127.0.0.4").log_in("alice", "wrong").status == 200


# `make serve-scaled`: the one command for the scaled site (PLAYGROUND_ENGINE=pool), as
# the Makefile runs it (`python -m deploy.scaled`), on free ports and a database of its
# own. Its output is honcho's: every process's log, prefixed with the process's name.

SCALED_READY = re.compile(r"nginx\.1\s+\|.*start worker process")


@pytest.fixture(scope="module")
def scaled_site(tmp_path_factory):
    if NGINX is None or shutil.which("redis-server") is None:
        missing("`make serve-scaled` needs nginx and redis-server: `sudo apt-get install ...`.")
    workdir = tmp_path_factory.mktemp("scaled")
    ports = {
        name: str(free_port())
        for name in ("PORT", "HTTP_PORT", "SANDBOX1_PORT", "SANDBOX2_PORT", "REDIS_PORT")
    }
    env = site_env(
        workdir,
        NGINX_DIR=str(workdir / "run"),
        GUNICORN_WORKERS="2",
        PLAYGROUND_NETWORK_NAMESPACE="0",
        **ports,
    )
    site = LoggedProcess()
    site.port = int(ports["PORT"])
    site.url = f"http://127.0.0.1:{site.port}"
    # Set-up (migrate, load_course, collectstatic) comes first: minutes on a busy machine.
    site.start([sys.executable, "-m", "deploy.scaled"], env, SCALED_READY, "serve-scaled", True)
    try:
        assert site.wait_for_log(" ready on 127.0.0.1:", count=2, timeout=120), "".join(site.log)
        assert site.wait_for_log(WORKER_READY, count=2, timeout=120)
        yield site
    finally:
        if site.process.poll() is None:
            site.process.terminate()
            site.process.wait(timeout=60)


def test_it_serves_the_scaled_site_from_one_command(scaled_site):
    response = Browser(scaled_site).get("/lessons/sockets/")
    assert response.status == 200
    assert response.headers.get_all("Server") is None
    cookie = session_only(playground_cookie(scaled_site.url))
    hellos = []
    for _ in range(2):  # two tabs, two connections through nginx: one sandbox
        ws = RawWebSocket(
            "127.0.0.1", scaled_site.port, "/ws/playground/", origin=scaled_site.url, cookie=cookie
        )
        try:
            assert ws.status == 101
            hellos.append(ws.hello())
        finally:
            ws.close()
    assert hellos[0]["devices"] == hellos[1]["devices"]
    # The route view answers nginx alone.
    assert Browser(scaled_site).get("/playground/route/").status == 404


def test_it_stops_the_scaled_site_on_sigterm_draining_each_sandbox_process(scaled_site):
    scaled_site.process.send_signal(signal.SIGTERM)
    # honcho says it was stopped by SIGTERM (128 + 15) once every process has exited.
    assert scaled_site.process.wait(timeout=60) == 128 + signal.SIGTERM
    log = "".join(scaled_site.log)
    # Each process exited by itself, with 0: the sandbox processes after their drain.
    for name in ("redis", "http", "sandbox1", "sandbox2", "nginx"):
        assert f"{name}.1 stopped (rc=0)" in log, log
    assert len(re.findall(r"playground process \w+ stopped", log)) == 2, log
    assert "Traceback" not in log, log
