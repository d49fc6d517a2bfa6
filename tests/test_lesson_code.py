"""The Python server and client in the Sockets lesson run as printed, on 127.0.0.1."""

import re
import socket
import subprocess
import sys
from pathlib import Path

from django.conf import settings


def lesson_programs() -> tuple[str, str]:
    body = (Path(settings.COURSE_CONTENT_DIR) / "lessons" / "sockets.md").read_text()
    server, client = re.findall(r"```python\n(.*?)```", body, re.S)
    return server, client


def free_port() -> int:
    # The lesson's port 3000 may be taken on a test machine; only the number changes.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_it_runs_the_lesson_s_server_and_client_against_each_other(tmp_path):
    server_code, client_code = lesson_programs()
    assert "PORT = 3000" in server_code and "PORT = 3000" in client_code
    port = free_port()
    for name, code in (("server.py", server_code), ("client.py", client_code)):
        (tmp_path / name).write_text(code.replace("PORT = 3000", f"PORT = {port}"))
    server = subprocess.Popen(  # the lesson's own code
        [sys.executable, "-u", str(tmp_path / "server.py")], stdout=subprocess.PIPE, text=True
    )
    try:
        # The server says when it listens: the client starts only then, so no race.
        listening = server.stdout.readline()
        assert listening.startswith(f"listening on ('127.0.0.1', {port})"), listening
        client = subprocess.run(
            [sys.executable, str(tmp_path / "client.py")], capture_output=True, text=True
        )
        assert client.returncode == 0, client.stderr
        connected, reply = client.stdout.splitlines()
        client_port = int(re.search(r"connected from \('127\.0\.0\.1', (\d+)\)", connected)[1])
        assert f"to ('127.0.0.1', {port})" in connected
        assert reply == "b'HELLO, SERVER'"
        accepted = server.stdout.readline()
        # The accepted socket shares the listener's port, with another descriptor,
        # and its remote address is the client's ephemeral port.
        assert f"accepted ('127.0.0.1', {port}) from ('127.0.0.1', {client_port})" in accepted
        listener_fd = int(listening.rsplit(" ", 1)[1])
        assert int(accepted.rsplit(" ", 1)[1]) != listener_fd
        assert server.wait() == 0
    finally:
        if server.poll() is None:
            server.kill()
        server.stdout.close()
