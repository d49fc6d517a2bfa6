"""The playground's "same in Python" view is a program that runs.

For each guided experiment made of TCP and UDP socket calls, the real page (Chromium,
the real site under Daphne) is driven through the experiment with its forms; the
Python it shows is then run with the project's Python, its devices' addresses moved to
free loopback addresses, with a timeout (a hang fails). The sockets the program holds
at its end must be the page's: the same addresses and ports (the system's ephemeral
ports aside), the same ones closed, the same bytes waiting to be read."""

import json
import random
import re
import subprocess
import sys

import pytest
from playwright.sync_api import expect

from tests.support.browser_pages import new_page, visiting
from tests.support.live_server import DaphneServer

WAIT_MS = 15_000
EPHEMERAL = 32768

# Appended to the page's program: every socket it holds, as JSON.
REPORT = """
import json as _json
import time as _time

_time.sleep(0.3)
_report = {}
for _name, _value in list(globals().items()):
    if not isinstance(_value, socket.socket):
        continue
    if _value.fileno() == -1:
        _report[_name] = {"closed": True}
        continue
    try:
        _remote = "%s:%d" % _value.getpeername()
    except OSError:
        _remote = ""
    try:
        _waiting = len(_value.recv(65536, socket.MSG_DONTWAIT | socket.MSG_PEEK))
    except (BlockingIOError, OSError):
        _waiting = 0
    _report[_name] = {"closed": False, "local": "%s:%d" % _value.getsockname(),
                      "remote": _remote, "waiting": _waiting}
print(_json.dumps(_report))
"""


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """A site of this module's own: each case here is a new session with a sandbox of
    its own, more in half a minute than the shared server lets one address hold."""
    with DaphneServer(
        tmp_path_factory.mktemp("daphne-python-view"), PLAYGROUND_SANDBOXES_PER_ADDRESS="40"
    ) as server:
        yield server


@pytest.fixture
def page(browser, site):
    with visiting(new_page(browser, site)) as page:
        yield page


def answered(page, action):
    """Do `action` and wait for the server's answer (done or error) in the log."""
    # An experiment's progress is logged as done too: not an answer to a command.
    answers = page.locator(".pg-log li.log-ok, .pg-log li.log-error").filter(
        has_not_text="Experiment"
    )
    before = answers.count()
    action()
    expect(answers).to_have_count(before + 1)


def listen(page, device="server", port=3000):
    form = page.locator("form[data-op='tcp.listen']")
    form.locator("select[name=device]").select_option(device)
    form.locator("input[name=port]").fill(str(port))
    answered(page, form.locator("button").click)


def connect(page, port=3000):
    form = page.locator("form[data-op='tcp.connect']")
    form.locator("select[name=device]").select_option("laptop")
    form.locator("select[name=to_device]").select_option("server")
    form.locator("input[name=to_port]").fill(str(port))
    answered(page, form.locator("button").click)


def send(page, socket_id, text):
    form = page.locator("form[data-op='send']")
    form.locator("select[name=socket]").select_option(socket_id)
    form.locator("input[name=data]").fill(text)
    answered(page, form.locator("button").click)


def udp_bind(page, device, port):
    form = page.locator("form[data-op='udp.bind']")
    form.locator("select[name=device]").select_option(device)
    form.locator("input[name=port]").fill(str(port))
    answered(page, form.locator("button").click)


def sendto(page, socket_id, port, text="ping"):
    form = page.locator("form[data-op='udp.sendto']")
    form.locator("select[name=socket]").select_option(socket_id)
    form.locator("select[name=to_device]").select_option("server")
    form.locator("input[name=to_port]").fill(str(port))
    form.locator("input[name=data]").fill(text)
    answered(page, form.locator("button").click)


def press(page, label, socket_id):
    button = page.locator(f"tr[data-id='{socket_id}']").get_by_role(
        "button", name=f"{label} {socket_id}", exact=True
    )
    answered(page, button.click)


def port_before_socket(page):
    listen(page)


def connection_refused(page):
    connect(page)  # refused: no code
    listen(page)
    connect(page)


def same_port_tcp_udp(page):
    listen(page)
    udp_bind(page, "server", 3000)


def three_sockets(page):
    listen(page)
    connect(page)


def two_clients(page):
    listen(page)
    connect(page)
    connect(page)


def udp_no_connection(page):
    udp_bind(page, "server", 5353)
    udp_bind(page, "laptop", 0)
    sendto(page, "s2", 5353)


def ports_stay(page):
    listen(page)
    connect(page)
    press(page, "Close", "s3")
    press(page, "Close", "s2")
    page.wait_for_selector("tr[data-id='s3'][data-state='TIME_WAIT']")
    press(page, "Close", "s1")


def data_and_ack(page):
    listen(page)
    connect(page)
    send(page, "s2", "hi")
    page.wait_for_selector("tr[data-id='s3'][data-bytes-in='2']")


def who_waits(page):
    listen(page)
    connect(page)
    press(page, "Close", "s2")
    page.wait_for_selector("tr[data-id='s3'][data-state='CLOSE_WAIT']")
    press(page, "Close", "s3")
    page.wait_for_selector("tr[data-id='s2'][data-state='TIME_WAIT']")


def reset_connection(page):
    listen(page)
    connect(page)
    press(page, "Reset (RST)", "s2")
    # The server's accepted socket leaves the table too.
    expect(page.locator("tr[data-id='s2']")).to_have_count(0)
    expect(page.locator("tr[data-id='s3']")).to_have_count(0)


EXPERIMENTS = {
    "port-before-socket": port_before_socket,
    "connection-refused": connection_refused,
    "same-port-tcp-udp": same_port_tcp_udp,
    "three-sockets": three_sockets,
    "two-clients": two_clients,
    "udp-no-connection": udp_no_connection,
    "ports-stay": ports_stay,
    "handshake-packets": three_sockets,
    "data-and-ack": data_and_ack,
    "who-waits": who_waits,
    "reset-connection": reset_connection,
}


def page_sockets(page) -> dict:
    return page.eval_on_selector_all(
        "[data-rows] tr[data-id]",
        """rows => Object.fromEntries(rows.map(r => [r.dataset.id, {
             local: r.dataset.local, remote: r.dataset.remote,
             bytesIn: Number(r.dataset.bytesIn), closed: r.dataset.closed === "true"}]))""",
    )


def device_ips(page) -> dict[str, str]:
    """The sandbox's devices and their addresses, from the page's facts."""
    text = page.locator("[data-devices]").inner_text()
    return dict(part.split() for part in text.split(" · "))


def moved(address: str, to: dict[str, str]) -> str:
    """An ip:port with the device address moved, and an ephemeral port as such."""
    if not address:
        return ""
    ip, port = address.rsplit(":", 1)
    return f"{to.get(ip, ip)}:{'ephemeral' if int(port) >= EPHEMERAL else port}"


def run(code: str, ips: dict[str, str], tail: str):
    """Run the page's `code` and then `tail` (where SERVER is the server's address),
    the devices moved to free loopback addresses of a block of their own."""
    block = f"127.{random.randint(100, 250)}.{random.randint(0, 255)}"  # noqa: S311
    to = {ip: f"{block}.{i + 2}" for i, ip in enumerate(ips.values())}
    program = code
    for old, new in to.items():
        program = re.sub(rf"(?<![\d.]){re.escape(old)}(?![\d])", new, program)
    tail = tail.replace("SERVER", repr(to[ips["server"]]))
    result = subprocess.run(
        [sys.executable, "-c", program + tail], capture_output=True, text=True, timeout=20
    )
    return program, to, result


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_it_shows_python_that_runs_and_does_what_the_playground_did(page, experiment):
    page.goto(f"{page.base}/playground/?experiment={experiment}")
    page.wait_for_selector("[data-status='open']")
    expect(page.locator(".step-summary")).to_be_visible()
    EXPERIMENTS[experiment](page)
    sockets = page_sockets(page)
    code = page.locator("[data-code]").text_content()
    ips = device_ips(page)
    program, to, result = run(code, ips, REPORT)
    assert result.returncode == 0, f"{program}\n---\n{result.stderr}"
    held = json.loads(result.stdout.strip().splitlines()[-1])
    assert sockets, "the experiment made no sockets"
    for socket_id, row in sockets.items():
        names = [n for n in (f"s{socket_id[1:]}", f"conn{socket_id[1:]}") if n in held]
        assert len(names) == 1, f"{socket_id} is not in the program:\n{program}"
        mine = held[names[0]]
        assert mine["closed"] == row["closed"], (socket_id, program)
        if row["closed"]:
            continue
        assert moved(mine["local"], {}) == moved(row["local"], to), (socket_id, program)
        assert moved(mine["remote"], {}) == moved(row["remote"], to), (socket_id, program)
        assert mine["waiting"] == row["bytesIn"], (socket_id, program)
    if experiment == "ports-stay":
        # The step the program stops before: listening again is EADDRINUSE there too.
        again = "\ns9 = socket.socket()\ns9.bind((SERVER, 3000))\n"
        _, _, result = run(code, ips, again)
        assert "Address already in use" in result.stderr, result.stderr
