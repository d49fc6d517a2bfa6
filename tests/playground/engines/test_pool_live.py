"""The scaled site as deployed (PLAYGROUND_ENGINE=pool): every process of deploy/Procfile,
on PostgreSQL, through nginx, each fault injected for real.

Redis, gunicorn for pages, two sandbox processes (`manage.py playground_process`) and
nginx (deploy/nginx.conf.template rendered for the pool engine), each started from its
Procfile line (tests/support/procfile.py), on a fresh PostgreSQL database. A second nginx from
the same template on another port is a second proxy path, as a second load balancer
or a reload's new workers would be. Every request and every WebSocket goes through an
nginx; none reaches a sandbox process or the route view directly. The last test runs
the whole Procfile under honcho instead, as docs/deploy.md says to.

Rules:
- The tests run in file order on one set of processes; each puts back what it killed,
  and each fault test ends with no traceback in any process's log.
- Each visitor comes from an address of its own (a source address in 127.0.0.0/8,
  which nginx forwards in X-Forwarded-For), so the small per-address quota set here
  (SANDBOXES_PER_ADDRESS) refuses only where a test means it to.
- Sandboxes outlive their tabs for GRACE seconds, longer than the module runs: the
  loads read from Redis then change only by the tests' own placements, so where the
  next session goes can be said in advance (the live process with the fewest, the
  first id among equals: `next_placed`).
- A reconnect after a close waits as the page does (1 s, doubling): that wait is the
  page's retry timer, not a guess at when the server is ready. Everything else is
  awaited: a log line, an event, a close.
"""

import concurrent.futures
import http.client
import itertools
import re
import signal
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import psycopg
import pytest
import redis

from deploy.workers import WORKER_READY
from playground.engines.pool.names import PROCESSES, lease_key, process_key
from tests.deploy.test_deploy_live import NGINX
from tests.support import postgres_service
from tests.support.deploy_servers import write_nginx_config
from tests.support.live_server import LoggedProcess, prepare_site, site_env
from tests.support.procfile import ProcfileProcess
from tests.support.raw_websocket import RawWebSocket
from tests.support.services import free_port, missing
from tests.support.site_visitor import Browser, Tab, command, lab_item, socket_reaches
from tests.support.site_visitor import connect as connect_pair
from tests.support.visitor_session import playground_cookie, session_only

SANDBOXES_PER_ADDRESS = 2
WEBSOCKETS_PER_SESSION = 3
GRACE = 3600
SLOW_CLIENT_SECONDS = 2
LOST_WITHIN = 10  # seconds from a SIGKILL to a fresh hello, as the issue requires
UNREACHABLE = "Redis is unreachable"
REGISTERED = "registered again in Redis"
SLOW = "closing a WebSocket that stopped reading"
SLOW_WITHIN_SENDS = 10_000  # measured: ~1,600 through nginx on Debian's defaults
CLOSE_WAIT_QUIZ = "/quizzes/connections-quiz/"
CLOSE_WAIT_PROMPT = "In the playground, bring a TCP socket of the server into CLOSE_WAIT"
_addresses = (f"127.0.{n // 250 + 1}.{n % 250 + 1}" for n in itertools.count())


class Stack:
    """The Procfile's processes on free ports, and two nginx instances ("nginx" and
    "nginx2") rendered from one template."""

    def __init__(self, workdir: Path, database_url: str):
        self.workdir = workdir
        self.ports = {
            name: free_port()
            for name in ("REDIS_PORT", "HTTP_PORT", "SANDBOX1_PORT", "SANDBOX2_PORT")
        }
        self.proxies = {"nginx": free_port(), "nginx2": free_port()}
        self.redis_url = f"redis://127.0.0.1:{self.ports['REDIS_PORT']}/0"
        self.env = site_env(
            workdir,
            DATABASE_URL=database_url,
            REDIS_URL=self.redis_url,
            PLAYGROUND_ENGINE="pool",
            DJANGO_BEHIND_PROXY="1",
            DATABASE_POOL="1",  # as deploy/env.example
            GUNICORN_WORKERS="2",
            NGINX_DIR=str(workdir / "nginx"),
            PLAYGROUND_SANDBOXES_PER_ADDRESS=str(SANDBOXES_PER_ADDRESS),
            PLAYGROUND_WEBSOCKETS_PER_SESSION=str(WEBSOCKETS_PER_SESSION),
            PLAYGROUND_GRACE_PERIOD=str(GRACE),
            PLAYGROUND_SLOW_CLIENT_SECONDS=str(SLOW_CLIENT_SECONDS),
            # The slow reader's driver sends hundreds of commands at once.
            PLAYGROUND_COMMANDS_PER_SECOND="100000",
            PLAYGROUND_COMMAND_BURST="100000",
            **{name: str(port) for name, port in self.ports.items()},
        )
        for name, port in self.proxies.items():
            write_nginx_config(
                workdir / name,
                port=port,
                http=[f"127.0.0.1:{self.ports['HTTP_PORT']}"],
                static_root=workdir / "static",
                engine="pool",
            )
        self.processes: dict[str, ProcfileProcess] = {}
        self.everyone: list[ProcfileProcess] = []  # every process started, dead ones too

    def start(self, name: str, line: str | None = None, **env) -> ProcfileProcess:
        """The process `name` from the Procfile's `line` (default: its own), started again
        with the same settings after a test killed it."""
        if name == "nginx2":  # the first's line, its own directory (config, pid file)
            line, env = "nginx", {"NGINX_DIR": str(self.workdir / "nginx2"), **env}
        process = ProcfileProcess(name, {**self.env, **env}, line=line).start_now()
        process.started_with = (line, env)
        self.processes[name] = process
        self.everyone.append(process)
        return process

    def restart(self, process: ProcfileProcess) -> ProcfileProcess:
        line, env = process.started_with
        return self.start(process.name, line, **env)

    def url(self, proxy: str = "nginx") -> str:
        return f"http://127.0.0.1:{self.proxies[proxy]}"

    def server(self, proxy: str = "nginx") -> SimpleNamespace:
        """The site through `proxy`, as tests/site_visitor.Browser takes it."""
        return SimpleNamespace(host="127.0.0.1", port=self.proxies[proxy], url=self.url(proxy))

    def sandboxes(self) -> list[ProcfileProcess]:
        return [p for p in self.processes.values() if p.kind == "sandbox"]

    def redis(self) -> redis.Redis:
        return redis.Redis.from_url(self.redis_url, decode_responses=True)

    def owner(self, visitor: "Visitor") -> ProcfileProcess:
        """The live sandbox process whose lease holds the visitor's sandbox."""
        owner = self.redis().get(lease_key(visitor.session))
        assert owner is not None, "the session has no lease"
        return next(p for p in self.sandboxes() if p.id == owner)

    def loads(self) -> dict[str, int]:
        """Sandboxes held, by live sandbox process id, as placement reads them."""
        db = self.redis()
        scores = db.zrange(PROCESSES, 0, -1, withscores=True)
        return {id: int(load) for id, load in scores if db.exists(process_key(id))}

    def tracebacks(self) -> list[str]:
        return [f"{p.name}: {line}" for p in self.everyone for line in p.tracebacks()]

    def stop(self) -> None:
        for process in reversed(list(self.processes.values())):
            process.stop()


class Visitor:
    """One person at an address of their own: a session made as the page makes it
    (through nginx), and as many tabs as they open, through either proxy."""

    def __init__(self, stack: Stack, source: str | None = None):
        self.stack = stack
        self.source = source or next(_addresses)
        self.cookie = session_only(playground_cookie(stack.url()))
        self.session = self.cookie.split("=", 1)[1]

    def open(self, proxy: str = "nginx") -> RawWebSocket:
        """An upgrade through `proxy`, answered by whatever answers it."""
        url = self.stack.url(proxy)
        port = self.stack.proxies[proxy]
        return RawWebSocket(
            "127.0.0.1", port, "/ws/playground/", origin=url, cookie=self.cookie, source=self.source
        )

    def tab(self, proxy: str = "nginx") -> RawWebSocket:
        """A tab past its hello (kept as `hello_event`)."""
        ws = self.open(proxy)
        assert ws.status == 101, ws.status
        ws.hello_event = ws.hello()
        return ws

    def reconnect(self, proxy: str, since: float) -> tuple[RawWebSocket, list[dict], dict]:
        """What the page does after its WebSocket closed: try again after 1 s, then 2 s,
        4 s...; the new tab, the events before its hello, and the hello. Fails past
        LOST_WITHIN seconds from `since`."""
        delay = 1.0
        while True:
            time.sleep(delay)  # the page's retry timer
            try:
                ws = self.open(proxy)
            except OSError:
                ws = None
            if ws is not None and ws.status == 101:
                before = []
                while (event := ws.event())["type"] != "hello":
                    before.append(event)
                for _ in range(event["data_chunks"]):
                    ws.event()
                return ws, before, event
            if ws is not None:
                ws.close()
            delay *= 2
            assert time.monotonic() - since < LOST_WITHIN, "no sandbox within 10 s"


def answer(ws, **command) -> dict:
    ws.send_json(command)
    event = ws.until(lambda e: e["type"] in ("ok", "error") and e.get("ref") == command["ref"])
    assert event["type"] == "ok", event
    return event


def socket_row(socket_id):
    return lambda e: e["type"] == "socket" and e["socket"]["id"] == socket_id


def connection(ws) -> dict:
    """A listener, a client connected to it; their ids."""
    listener = answer(ws, op="tcp.listen", device="server", port=3000, ref="listen")
    to = {"device": "server", "port": 3000}
    client = answer(ws, op="tcp.connect", device="laptop", to=to, ref="connect")
    return {"listener": listener["socket"]["id"], "client": client["socket"]["id"]}


def shown_in(tabs, data: str) -> None:
    """Every tab is shown `data` arriving, as the next data it gets."""
    for tab in tabs:
        assert tab.until(lambda e: e["type"] == "data")["data"] == data


def socket_ids(hello: dict) -> set[str]:
    return {row["id"] for row in hello["sockets"]}


def get(stack, path: str, cookie: str = "", proxy: str = "nginx"):
    connection = http.client.HTTPConnection("127.0.0.1", stack.proxies[proxy], timeout=30)
    connection.request("GET", path, headers={"Cookie": cookie} if cookie else {})
    response = connection.getresponse()
    response.text = response.read().decode()
    connection.close()
    return response


def next_placed(loads: dict[str, int]) -> str:
    """The process placement picks next: the fewest sandboxes, then the first id (the
    sorted set's order among equal scores)."""
    return min(loads, key=lambda id: (loads[id], id))


def visitor_on(stack, process: ProcfileProcess, source: str) -> Visitor:
    """A new visitor from `source` whose sandbox placement puts on `process`: until it
    is the one picked next, a visitor from another address fills the one that is."""
    while True:
        if next_placed(stack.loads()) == process.id:
            return Visitor(stack, source=source)
        filler = Visitor(stack)
        filler.tab().close()


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    if NGINX is None:
        missing("The deploy tests need Debian's nginx: `sudo apt-get install nginx`.")
    workdir = tmp_path_factory.mktemp("deploy-pool")
    with postgres_service.fresh_database("sockets_pool") as database_url:
        stack = Stack(workdir, database_url)
        try:
            stack.start("redis")  # load_course starts a new generation of the page cache there
            prepare_site(stack.env)
            for name in ("http", "sandbox1", "sandbox2", "nginx", "nginx2"):
                stack.start(name)
            yield stack
        finally:
            stack.stop()


def test_it_serves_the_course_from_postgresql_through_nginx(stack):
    for proxy in stack.proxies:
        for path in ("/", "/lessons/sockets/", "/quizzes/", "/playground/", "/healthz/"):
            assert get(stack, path, proxy=proxy).status == 200, (proxy, path)
    with psycopg.connect(stack.env["DATABASE_URL"]) as db:
        (lessons,) = db.execute("SELECT count(*) FROM lessons_lesson").fetchone()
    assert lessons >= 5


def test_it_shows_one_sandbox_to_a_sessions_tabs_through_two_proxies(stack):
    visitor = Visitor(stack)
    first, second = visitor.tab("nginx"), visitor.tab("nginx2")
    ids = connection(first)
    second.until(socket_row(ids["client"]))  # made in one tab, shown in the other
    answer(second, op="send", socket=ids["client"], data="hi", ref="send")
    shown_in((first, second), "hi")  # the accepted socket's data

    # A socket's data reaches both tabs in the order it was sent, from both tabs in turn.
    received = {first: "", second: ""}

    def read(tab) -> dict:
        event = tab.event()
        if event["type"] == "data":
            received[tab] += event["data"]
        return event

    pieces = "".join(f"{n}," for n in range(20))
    for n, piece in enumerate(f"{n}," for n in range(20)):
        tab = (first, second)[n % 2]
        tab.send_json({"op": "send", "socket": ids["client"], "data": piece, "ref": n})
        while (event := read(tab)).get("ref") != n:
            pass
        assert event["type"] == "ok", event
    for tab in (first, second):
        while received[tab] != pieces:
            read(tab)
            assert pieces.startswith(received[tab]), received[tab]
    first.close()
    # A reload through either proxy finds the same sockets.
    again = visitor.tab("nginx2")
    assert {ids["listener"], ids["client"]} <= socket_ids(again.hello_event)
    second.close(), again.close()


def test_it_places_sessions_on_the_least_loaded_process(stack):
    loads = stack.loads()
    assert len(loads) == 2
    placed = []
    # Enough sessions that the emptier process catches up with the other and both get some.
    for _ in range(max(loads.values()) - min(loads.values()) + 2):
        loads = stack.loads()
        visitor = Visitor(stack)
        visitor.tab().close()
        owner = stack.owner(visitor)
        assert owner.id == next_placed(loads), (loads, owner.id)
        placed.append(owner.id)
    assert set(placed) == set(loads), placed


@pytest.mark.slow  # SIGKILL, then the lease's expiry
def test_it_gives_the_visitors_of_a_killed_process_a_fresh_sandbox_elsewhere(stack):
    visitor = Visitor(stack)
    tabs = {"nginx": visitor.tab("nginx"), "nginx2": visitor.tab("nginx2")}
    connection(tabs["nginx"])
    doomed = stack.owner(visitor)

    doomed.signal(signal.SIGKILL)
    killed = time.monotonic()
    for ws in tabs.values():  # each proxy ends the tab whose process went
        ws.until_closed()
    # Both pages reconnect at once, each on its own timer.
    with concurrent.futures.ThreadPoolExecutor(2) as pages:
        reconnected = list(pages.map(lambda proxy: visitor.reconnect(proxy, killed), tabs))
    print(f"sandbox.lost and a fresh hello {time.monotonic() - killed:.1f} s after SIGKILL")
    for _, before, hello in reconnected:  # each tab is told, then shown the fresh sandbox
        assert [(e["type"], e["reason"]) for e in before] == [("sandbox.lost", "process_lost")]
        assert hello["sockets"] == []
    assert stack.owner(visitor).id != doomed.id
    (first, *_), (second, *_) = reconnected
    listened = answer(first, op="tcp.listen", device="server", port=3000, ref="again")
    second.until(socket_row(listened["socket"]["id"]))  # one fresh sandbox for both
    first.close(), second.close()
    stack.restart(doomed)
    assert stack.tracebacks() == []


def test_it_drains_a_process_on_sigterm_and_places_its_visitors_elsewhere(stack):
    visitor = Visitor(stack)
    ws = visitor.tab()
    answer(ws, op="udp.bind", device="laptop", port=0, ref="bind")
    draining = stack.owner(visitor)

    draining.process.send_signal(signal.SIGTERM)
    stopped = time.monotonic()
    code, events = ws.until_closed()
    said = [e for e in events if e["type"].startswith("sandbox.")]
    assert [e["type"] for e in said] == ["sandbox.lost", "sandbox.closed"], events
    assert said[0]["reason"] == "process_stopped"
    assert code is not None  # a close frame, not a dropped connection
    assert draining.process.wait(timeout=10) == 0
    assert draining.wait_for_log(f"playground process {draining.id} stopped")
    # The page reconnects; its session, given back by the drain, is placed afresh.
    ws, before, hello = visitor.reconnect("nginx", stopped)
    assert before == [] and hello["sockets"] == []  # told once, by the drain
    assert stack.owner(visitor).id != draining.id
    answer(ws, op="udp.bind", device="laptop", port=0, ref="again")
    ws.close()
    stack.restart(draining)
    assert stack.tracebacks() == []


def test_it_keeps_sandboxes_and_websockets_through_a_redis_restart(stack):
    visitor = Visitor(stack)
    tabs = [visitor.tab("nginx"), visitor.tab("nginx2")]
    ids = connection(tabs[0])
    owner = stack.owner(visitor)
    said = {
        p: {text: sum(text in line for line in p.log) for text in (UNREACHABLE, REGISTERED)}
        for p in stack.sandboxes()
    }

    stack.processes["redis"].signal(signal.SIGTERM)
    # Commands never cross Redis: the open tabs go on, and pages come from the database.
    answer(tabs[1], op="send", socket=ids["client"], data="during", ref="during")
    shown_in(tabs, "during")
    assert get(stack, "/lessons/sockets/", cookie=visitor.cookie).status == 200
    stack.restart(stack.processes["redis"])  # the same port, empty, as after a crash
    for process, count in said.items():  # each said so, then wrote back its key and leases
        for text in (UNREACHABLE, REGISTERED):
            assert process.wait_for_log(text, count=count[text] + 1), "".join(process.log)
    answer(tabs[0], op="send", socket=ids["client"], data="after", ref="after")
    shown_in(tabs, "after")
    # A new tab after the restart reaches the same sandbox.
    again = visitor.tab("nginx2")
    assert {ids["listener"], ids["client"]} <= socket_ids(again.hello_event)
    assert stack.owner(visitor).id == owner.id
    for ws in (*tabs, again):
        ws.close()
    Visitor(stack).tab().close()  # and a new visitor gets a sandbox
    assert stack.tracebacks() == []


def test_it_reaches_the_same_owner_after_nginx_reloads(stack):
    visitor = Visitor(stack)
    ws = visitor.tab()
    ids = connection(ws)
    nginx = stack.processes["nginx"]
    started = sum("start worker process" in line for line in nginx.log)

    nginx.process.send_signal(signal.SIGHUP)
    assert nginx.wait_for_log("start worker process", count=started + 1)
    again = visitor.tab()  # through the new workers
    assert {ids["listener"], ids["client"]} <= socket_ids(again.hello_event)
    answer(again, op="send", socket=ids["client"], data="reloaded", ref="send")
    # The tab the old workers hold goes on until it closes.
    assert ws.until(lambda e: e["type"] == "data")["data"] == "reloaded"
    ws.close(), again.close()
    assert stack.tracebacks() == []


def test_it_moves_nobody_when_a_process_is_added_under_load(stack):
    visitors = [Visitor(stack) for _ in range(4)]
    tabs = [visitor.tab() for visitor in visitors]
    before = [(stack.owner(v).id, connection(ws)) for v, ws in zip(visitors, tabs, strict=True)]
    stop = threading.Event()
    failures = []

    def keep_sending(ws, client):
        try:
            for n in itertools.count():
                if stop.is_set():
                    return
                answer(ws, op="send", socket=client, data="x", ref=f"load{n}")
        except Exception as error:  # said by the test, not lost in the thread
            failures.append(error)

    senders = [
        threading.Thread(target=keep_sending, args=(ws, ids["client"]))
        for ws, (_, ids) in zip(tabs, before, strict=True)
    ]
    for sender in senders:
        sender.start()
    added = stack.start("sandbox3", line="sandbox2", SANDBOX2_PORT=str(free_port()))
    stop.set()
    for sender in senders:
        sender.join(timeout=30)
    assert failures == []
    for visitor, ws, (owner, ids) in zip(visitors, tabs, before, strict=True):
        assert stack.owner(visitor).id == owner  # nobody moved
        again = visitor.tab()
        assert {ids["listener"], ids["client"]} <= socket_ids(again.hello_event)
        ws.close(), again.close()
    newcomer = Visitor(stack)
    newcomer.tab().close()
    assert stack.owner(newcomer).id == added.id  # the emptiest process
    added.stop()
    del stack.processes["sandbox3"]
    assert added.process.returncode == 0
    assert stack.tracebacks() == []


@pytest.mark.slow  # SIGKILL, then the lease's expiry
def test_it_counts_sandboxes_per_address_across_processes(stack):
    first_process, second_process = stack.sandboxes()
    address = next(_addresses)
    first = visitor_on(stack, first_process, address)
    kept = first.tab()
    second = visitor_on(stack, second_process, address)
    second.tab().close()
    assert {stack.owner(first).id, stack.owner(second).id} == {p.id for p in stack.sandboxes()}

    refused = Visitor(stack, source=address).open()  # the address's third, wherever placed
    code, events = refused.until_closed()
    assert events[0]["code"] == "limit_sandboxes_per_address", events
    assert code == 4429

    # A process killed: its sandboxes stop counting, and its visitor gets a fresh one.
    doomed = stack.owner(first)
    doomed.signal(signal.SIGKILL)
    killed = time.monotonic()
    kept.until_closed()
    ws, before, hello = first.reconnect("nginx", killed)
    assert [e["reason"] for e in before] == ["process_lost"] and hello["sockets"] == []
    ws.close()
    stack.restart(doomed)
    assert stack.tracebacks() == []


def test_it_counts_websockets_per_session_at_the_owner(stack):
    visitor = Visitor(stack)
    proxies = itertools.cycle(stack.proxies)
    tabs = [visitor.tab(next(proxies)) for _ in range(WEBSOCKETS_PER_SESSION)]
    code, events = visitor.open(next(proxies)).until_closed()
    assert events[0]["code"] == "limit_websockets_per_session", events
    assert code == 4429
    for ws in tabs:
        ws.close()
    assert stack.tracebacks() == []


def test_it_lets_a_session_back_in_after_a_proxy_is_killed(stack):
    visitor = Visitor(stack)
    on_first = visitor.tab("nginx")
    ids = connection(on_first)
    on_second = [visitor.tab("nginx2") for _ in range(WEBSOCKETS_PER_SESSION - 1)]
    nginx2 = stack.processes["nginx2"]

    nginx2.kill_group()  # the master and its workers: every connection through it ends
    for ws in on_second:
        ws.until_closed()
    answer(on_first, op="udp.bind", device="laptop", port=0, ref="alive")  # the other goes on
    # The owner let go of the tabs it lost: the session's places are free again.
    again = [visitor.tab("nginx") for _ in range(WEBSOCKETS_PER_SESSION - 1)]
    assert {ids["listener"], ids["client"]} <= socket_ids(again[0].hello_event)
    for ws in (on_first, *again):
        ws.close()
    stack.restart(nginx2)
    assert stack.tracebacks() == []


def test_it_closes_tabs_that_stop_reading(stack):
    visitor = Visitor(stack)
    driver = visitor.tab()
    # Tabs of the same session, with tiny receive buffers, that never read.
    idle = []
    for proxy in itertools.islice(itertools.cycle(stack.proxies), WEBSOCKETS_PER_SESSION - 1):
        idle.append(
            RawWebSocket(
                "127.0.0.1",
                stack.proxies[proxy],
                "/ws/playground/",
                origin=stack.url(proxy),
                cookie=visitor.cookie,
                source=visitor.source,
                receive_buffer=4096,
            )
        )
    ids = connection(driver)
    owner = stack.owner(visitor)
    closed = sum(SLOW in line for line in owner.log) + len(idle)  # once each idle tab goes
    # The driver reads its answers: only the idle tabs fall behind. Their data first fills
    # nginx's kernel buffers towards them (autotuned, up to tcp_wmem's 4 MiB each), and only
    # then the owner's connection to nginx, whose send queue the slow-reader rule reads.
    for n in itertools.count():
        answer(driver, op="send", socket=ids["client"], data="x" * 1000, ref=n)
        if sum(SLOW in line for line in owner.log) == closed:
            break
        assert n < SLOW_WITHIN_SENDS, "the idle tabs were never closed"
    print(f"the idle tabs closed after {n + 1} sends of 1000 bytes")
    for ws in idle:
        code, _ = ws.until_closed()  # its backlog, then the close or the end
        assert code in (4008, None), code
    driver.close()
    assert stack.tracebacks() == []


def test_it_grades_a_lab_question_from_the_sandboxs_owner(stack):
    """The sandbox lives in a sandbox process; its experiment's progress reaches the
    session's tabs through both proxies, and the quiz, posted as a browser posts it to
    the HTTP workers, is graded from the kernel's view in that process (asked over the
    channel layer), not from the page."""
    browser = Browser(stack.server("nginx"))
    tab_a = browser.playground()
    assert any(e["id"] == "three-sockets" for e in browser.hello["experiments"])
    cookie = "; ".join(f"{c.name}={c.value}" for c in browser.jar)
    ws_b = RawWebSocket(
        "127.0.0.1", stack.proxies["nginx2"], "/ws/playground/", stack.url("nginx2"), cookie
    )
    assert ws_b.status == 101
    ws_b.hello()
    tab_b = Tab(ws_b)

    started = command(tab_a, "x", op="experiment.start", experiment="three-sockets")
    assert started["type"] == "ok" and started["done"] == 0
    three = {"experiment": "three-sockets"}
    assert command(tab_a, "p", op="experiment.predict", **three, step=2, choice=1)["type"] == "ok"
    client, accepted = connect_pair(tab_a, 3000)
    # The last step is the learner's pick of the server's end, judged in its process.
    assert command(tab_b, "k", op="experiment.pick", socket=accepted["id"])["matched"]
    progress = tab_b.until(lambda e: e["type"] == "experiment.progress" and e["finished"])
    assert progress["experiment"] == "three-sockets" and progress["done"] == 3

    browser.server = stack.server("nginx2")  # the next page through the other proxy
    result = lab_item(browser.submit_quiz(CLOSE_WAIT_QUIZ), CLOSE_WAIT_PROMPT)
    assert "✗ Wrong" in result and "1 of 2 steps reached" in result, result
    assert command(tab_a, "close", op="close", socket=client["id"])["type"] == "ok"
    socket_reaches(tab_b, lambda s: s["id"] == accepted["id"] and s["state"] == "CLOSE_WAIT")
    result = lab_item(browser.submit_quiz(CLOSE_WAIT_QUIZ), CLOSE_WAIT_PROMPT)
    assert "✓ Right" in result and "2 of 2 steps reached" in result, result
    tab_a.close(), tab_b.close()
    assert stack.tracebacks() == []


def test_it_hides_the_route_view_from_outside(stack):
    visitor = Visitor(stack)
    for proxy in stack.proxies:
        response = get(stack, "/playground/route/", cookie=visitor.cookie, proxy=proxy)
        assert response.status == 404
        assert "X-Playground-Owner" not in response.headers
    assert stack.redis().get(lease_key(visitor.session)) is None  # nor placed anyone


def test_it_logged_no_traceback_in_any_process(stack):
    assert stack.tracebacks() == []


def test_it_runs_the_whole_procfile_under_honcho(tmp_path):
    """What docs/deploy.md says to run on one host: `honcho start -f deploy/Procfile`."""
    if NGINX is None:
        missing("The deploy tests need Debian's nginx: `sudo apt-get install nginx`.")
    with postgres_service.fresh_database("sockets_honcho") as database_url:
        stack = Stack(tmp_path, database_url)
        honcho = LoggedProcess()
        argv = [str(Path(sys.executable).parent / "honcho"), "start", "-f", "deploy/Procfile"]
        redis_ready = re.compile(r"redis\.1 .*Ready to accept")
        honcho.start([*argv, "-d", "."], stack.env, redis_ready, "honcho", stdout=True)
        try:
            prepare_site(stack.env)
            for ready, count in (
                (WORKER_READY, 2),
                (" ready on 127.0.0.1:", 2),
                ("start worker process", 1),
            ):
                assert honcho.wait_for_log(ready, count=count, timeout=60), "".join(honcho.log)
            assert get(stack, "/lessons/sockets/").status == 200
            visitor = Visitor(stack)
            ws = visitor.tab()
            answer(ws, op="tcp.listen", device="server", port=3000, ref="listen")
        finally:
            honcho.process.send_signal(signal.SIGTERM)  # honcho stops every process
            honcho.process.wait(timeout=30)
        for name in ("sandbox1", "sandbox2", "http", "nginx"):  # each exits cleanly
            assert honcho.wait_for_log(f"{name}.1 stopped (rc=0)"), "".join(honcho.log)
        assert not any("Traceback" in line for line in honcho.log), "".join(honcho.log)
