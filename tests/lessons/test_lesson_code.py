"""Every Python block in the lessons runs as printed, on 127.0.0.1.

Rules: the two blocks of the Sockets lesson whose first line is `# server.py` or
`# client.py` run against each other. Every other Python block is a whole program that
runs alone (it uses port 0, so it never needs a particular port free); it must exit
cleanly, and each `print(...)  # shown` comment is a line it really prints ("# e.g. ..."
marks output that differs from run to run, and is not compared). The one shell script,
the 5-tuple lesson's NAT demonstration, runs as printed in namespaces of its own.
"""

import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from tests.support.services import missing

LESSONS = Path(settings.COURSE_CONTENT_DIR) / "lessons"
PAIR = ("# server.py", "# client.py")

# Not a speed limit: a lesson program that hangs (a broken namespace, a lost packet) must
# fail its test instead of holding CI until its cap. Every program ends in seconds.
HUNG = 120


def python_blocks() -> list[tuple[str, str]]:
    """(lesson file name, code) for every ```python block of every lesson."""
    return [
        (path.name, code)
        for path in sorted(LESSONS.glob("*.md"))
        for code in re.findall(r"```python\n(.*?)```", path.read_text(), re.S)
    ]


def lesson_programs() -> tuple[str, str]:
    blocks = {code.split("\n", 1)[0]: code for name, code in python_blocks()}
    return blocks[PAIR[0]], blocks[PAIR[1]]


def standalone_programs() -> list[tuple[str, str]]:
    return [(name, code) for name, code in python_blocks() if not code.startswith(PAIR)]


def shown_output(code: str) -> list[str]:
    """What the block's comments say its print() calls print."""
    shown = re.findall(r"^\s*print\(.*\)  # (.+)$", code, re.M)
    return [line for line in shown if not line.startswith("e.g.")]


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
            [sys.executable, str(tmp_path / "client.py")],
            capture_output=True,
            text=True,
            timeout=HUNG,
        )
        assert client.returncode == 0, client.stderr
        connected, reply = client.stdout.splitlines()
        client_port = int(re.search(r"connected from \('127\.0\.0\.1', (\d+)\)", connected)[1])
        assert f"to ('127.0.0.1', {port})" in connected
        # One line, framed by its newline, read to the end whatever recv() returned.
        assert reply == r"b'HELLO, SERVER\n'"
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


def test_it_shows_two_sends_coming_back_from_one_recv():
    shown = [line for _, code in standalone_programs() for line in shown_output(code)]
    assert r"b'GET /one\nGET /two\n'" in shown


@pytest.mark.parametrize(
    "code",
    [pytest.param(code, id=f"{name}-{i}") for i, (name, code) in enumerate(standalone_programs())],
)
def test_it_runs_each_standalone_program_and_prints_what_the_lesson_shows(code, tmp_path):
    program = tmp_path / "program.py"
    program.write_text(code)
    run = subprocess.run(
        [sys.executable, str(program)], capture_output=True, text=True, timeout=HUNG
    )
    assert run.returncode == 0, run.stderr
    printed = run.stdout.splitlines()
    for line in shown_output(code):
        assert line in printed, (line, printed)


def test_it_runs_the_nat_script_and_the_server_sees_the_router_s_address(tmp_path):
    for program in ("unshare", "ip", "nft"):
        if shutil.which(program) is None:
            missing(f"{program} not found: apt-get install util-linux iproute2 nftables")
    body = (LESSONS / "the-5-tuple.md").read_text()
    (script,) = re.findall(r"```sh\n(# Run as: unshare -Urnm sh nat\.sh\n.*?)```", body, re.S)
    (tmp_path / "nat.sh").write_text(script)
    run = subprocess.run(
        ["unshare", "-Urnm", "sh", str(tmp_path / "nat.sh")],
        capture_output=True,
        text=True,
        timeout=HUNG,
    )
    assert run.returncode == 0, run.stderr
    laptop = re.search(
        r"^laptop: ESTAB .* 192\.168\.1\.23:(\d+) +203\.0\.113\.5:3000$", run.stdout, re.M
    )
    server = re.search(
        r"^server: ESTAB .* 203\.0\.113\.5:3000 +203\.0\.113\.1:(\d+)$", run.stdout, re.M
    )
    assert laptop and server, run.stdout
    # The laptop sees its private address, the server the router's; the router's table
    # holds both sides of the rewrite.
    assert f"src=192.168.1.23 dst=203.0.113.5 sport={laptop[1]} dport=3000" in run.stdout
    assert f"src=203.0.113.5 dst=203.0.113.1 sport=3000 dport={server[1]}" in run.stdout
