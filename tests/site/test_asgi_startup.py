"""A Daphne started straight from sockets_site.asgi (no system check) under a low
descriptor limit: it serves a smaller playground and says so, or refuses to start
when not one sandbox fits (playground.checks.fit_to_descriptors)."""

import re
import resource
import subprocess
import sys
import urllib.request

import pytest

from tests.support.live_server import ROOT, DaphneServer, prepare_site, site_env
from tests.support.raw_websocket import RawWebSocket

NOFILE = 512


def low_descriptor_limit():
    resource.setrlimit(resource.RLIMIT_NOFILE, (NOFILE, NOFILE))


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    path = tmp_path_factory.mktemp("asgi-startup")
    prepare_site(site_env(path))
    return path


def session_cookies(server, count: int) -> list[str]:
    """Session cookies for `count` visitors (made in the site's database, as the
    playground's session POST would: this test is about descriptors, not sessions)."""
    code = (
        "from django.contrib.sessions.backends.db import SessionStore\n"
        f"for _ in range({count}):\n"
        "    s = SessionStore(); s['started'] = True; s.create(); print(s.session_key)"
    )
    result = server.manage("shell", "-c", code)
    assert result.returncode == 0, result.stderr
    keys = re.findall(r"^[a-z0-9]{32}$", result.stdout, re.MULTILINE)
    assert len(keys) == count, result.stdout
    return [f"sessionid={key}" for key in keys]


def first_event(server, cookie, source) -> dict:
    ws = RawWebSocket(
        server.host, server.port, "/ws/playground/", server.url, cookie, source=source
    )
    assert ws.status == 101
    try:
        return ws.event()
    finally:
        ws.sock.close()


def test_it_serves_fewer_sandboxes_and_says_so_under_a_low_descriptor_limit(workdir):
    # 500 x (16 + 1 + 8) + 256 = 12756 descriptors would be needed; 512 hold
    # (512 - 256) // 25 = 10 sandboxes, one of them kept for a new address.
    with DaphneServer(workdir, prepare=False, preexec_fn=low_descriptor_limit) as site:
        said = [line for line in site.log if "serving at most" in line]
        assert len(said) == 1
        assert "at most 10 sandboxes, not 500" in said[0] and "512" in said[0]
        cookies = session_cookies(site, 11)
        held = []
        for n in range(10):
            ws = RawWebSocket(
                site.host,
                site.port,
                "/ws/playground/",
                site.url,
                cookies[n],
                source=f"127.0.9.{n + 1}",
            )
            event = ws.event()
            assert event["type"] == "hello", event
            held.append(ws)
        try:
            refused = first_event(site, cookies[10], "127.0.9.99")
            assert refused["type"] == "error" and refused["code"] == "limit_sandboxes"
            with urllib.request.urlopen(site.url + "/", timeout=30) as response:
                assert response.status == 200
        finally:
            for ws in held:
                ws.sock.close()


def test_it_refuses_to_start_when_not_one_sandbox_fits_the_descriptor_limit(workdir):
    env = site_env(workdir, PLAYGROUND_DESCRIPTOR_RESERVE="500")
    result = subprocess.run(
        [sys.executable, "-m", "daphne", "-p", "0", "sockets_site.asgi:application"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=low_descriptor_limit,
    )
    assert result.returncode != 0
    assert "The playground cannot start" in result.stderr
    assert "may open 512 file descriptors" in result.stderr
    assert "Listening on TCP address" not in result.stderr


def test_it_starts_as_configured_when_the_descriptors_suffice(workdir):
    limits = {"PLAYGROUND_SANDBOXES_PER_PROCESS": "10", "PLAYGROUND_RESERVED_SANDBOXES": "1"}
    with DaphneServer(workdir, prepare=False, preexec_fn=low_descriptor_limit, **limits) as site:
        with urllib.request.urlopen(site.url + "/", timeout=30) as response:
            assert response.status == 200
        assert not any("serving at most" in line for line in site.log)
