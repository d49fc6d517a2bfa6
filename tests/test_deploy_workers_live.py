"""Scale-out as deployed: every process of deploy/Procfile, on PostgreSQL, through nginx.

nginx (deploy/nginx.conf.template, rendered for the workers engine), gunicorn for HTTP,
2 Daphne WebSocket front ends, 2 playground workers and Redis, each started from its
Procfile line (tests/procfile.py), on a fresh PostgreSQL database. Every request and
every WebSocket goes through nginx, and each fault is injected for real: SIGKILL of a
front end and of a worker, SIGTERM of a worker, a Redis restart. The tests run in file
order on one set of processes; each puts back what it killed.
"""

import http.client
import re
import signal
import sys
import time
from pathlib import Path

import psycopg
import pytest
import redis

from playground.workers import PREFIX, lease_key
from tests import postgres_service
from tests.deploy_servers import write_nginx_config
from tests.live_server import LoggedProcess, prepare_site, site_env
from tests.procfile import ProcfileProcess
from tests.raw_websocket import RawWebSocket
from tests.services import free_port
from tests.test_deploy_live import NGINX, missing
from tests.visitor_session import playground_cookie, session_only


class Stack:
    def __init__(self, workdir, database_url: str):
        ports = {name: free_port() for name in ("REDIS_PORT", "HTTP_PORT", "WS1_PORT", "WS2_PORT")}
        self.port = free_port()  # nginx's
        self.url = f"http://127.0.0.1:{self.port}"
        self.redis_url = f"redis://127.0.0.1:{ports['REDIS_PORT']}/0"
        self.env = site_env(
            workdir,
            DATABASE_URL=database_url,
            REDIS_URL=self.redis_url,
            PLAYGROUND_ENGINE="workers",
            DJANGO_BEHIND_PROXY="1",
            DATABASE_POOL="1",  # as deploy/env.example
            GUNICORN_WORKERS="2",
            NGINX_DIR=str(workdir / "nginx"),
            **{name: str(port) for name, port in ports.items()},
        )
        write_nginx_config(
            workdir / "nginx",
            port=self.port,
            http=[f"127.0.0.1:{ports['HTTP_PORT']}"],
            ws=[f"127.0.0.1:{ports['WS1_PORT']}", f"127.0.0.1:{ports['WS2_PORT']}"],
            static_root=workdir / "static",
            engine="workers",
        )
        self.processes: dict[str, ProcfileProcess] = {}
        self.everyone: list[ProcfileProcess] = []  # every process started, dead ones too

    def start(self, name: str) -> ProcfileProcess:
        process = ProcfileProcess(name, self.env).start_now()
        self.processes[name] = process
        self.everyone.append(process)
        return process

    def workers(self) -> list[ProcfileProcess]:
        return [p for n, p in self.processes.items() if n.startswith("worker")]

    def owner(self, cookie: str) -> ProcfileProcess:
        """The live worker whose lease holds the session's sandbox."""
        worker = self.redis().get(lease_key(cookie.split("=", 1)[1]))
        return next(p for p in self.workers() if p.id == worker)

    def redis(self) -> redis.Redis:
        return redis.Redis.from_url(self.redis_url, decode_responses=True)

    def tracebacks(self) -> list[str]:
        return [f"{p.name}: {line}" for p in self.everyone for line in p.tracebacks()]

    def stop(self) -> None:
        for process in reversed(list(self.processes.values())):
            process.stop()


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    if NGINX is None:
        missing("The deploy tests need Debian's nginx: `sudo apt-get install nginx`.")
    workdir = tmp_path_factory.mktemp("deploy-workers")
    with postgres_service.fresh_database("sockets_deploy") as database_url:
        stack = Stack(workdir, database_url)
        try:
            stack.start("redis")  # load_course starts a new generation of the page cache there
            prepare_site(stack.env)
            for name in ("http", "ws1", "ws2", "worker1", "worker2", "nginx"):
                stack.start(name)
            yield stack
        finally:
            stack.stop()


def get(stack, path: str, cookie: str = ""):
    connection = http.client.HTTPConnection("127.0.0.1", stack.port, timeout=30)
    connection.request("GET", path, headers={"Cookie": cookie} if cookie else {})
    response = connection.getresponse()
    response.text = response.read().decode()
    connection.close()
    return response


def new_session(stack) -> str:
    return session_only(playground_cookie(f"http://127.0.0.1:{stack.port}"))


def tabs_of(stack, cookie: str, count: int = 2) -> list[RawWebSocket]:
    """`count` tabs of one session, each past its hello."""
    tabs = [tab(stack, cookie) for _ in range(count)]
    for ws in tabs:
        ws.hello()
    return tabs


def tab(stack, cookie: str) -> RawWebSocket:
    ws = RawWebSocket("127.0.0.1", stack.port, "/ws/playground/", origin=stack.url, cookie=cookie)
    assert ws.status == 101
    return ws


def answer(ws, **command) -> dict:
    ws.send_json(command)
    event = ws.until(lambda e: e["type"] in ("ok", "error") and e.get("ref") == command["ref"])
    assert event["type"] == "ok", event
    return event


def socket_row(socket_id):
    return lambda e: e["type"] == "socket" and e["socket"]["id"] == socket_id


def connection(ws) -> dict:
    """A listener, a client connected to it and the accepted socket; their ids."""
    listener = answer(ws, op="tcp.listen", device="server", port=3000, ref="listen")
    to = {"device": "server", "port": 3000}
    client = answer(ws, op="tcp.connect", device="laptop", to=to, ref="connect")
    return {"listener": listener["socket"]["id"], "client": client["socket"]["id"]}


def test_it_serves_the_course_from_postgresql_through_nginx(stack):
    for path in ("/", "/lessons/sockets/", "/quizzes/", "/playground/", "/healthz/"):
        assert get(stack, path).status == 200, path
    with psycopg.connect(stack.env["DATABASE_URL"]) as db:
        (lessons,) = db.execute("SELECT count(*) FROM lessons_lesson").fetchone()
    assert lessons >= 5


def test_it_shows_one_sandbox_to_a_sessions_tabs_on_two_front_ends(stack):
    cookie = new_session(stack)
    first, second = tabs_of(stack, cookie)
    # Each front end holding a WebSocket keeps a key alive: two keys, two front ends.
    assert len(stack.redis().keys(PREFIX + "front:*")) == 2
    ids = connection(first)
    second.until(socket_row(ids["client"]))
    answer(second, op="send", socket=ids["client"], data="hi", ref="send")
    data = first.until(lambda e: e["type"] == "data")
    assert data["data"] == "hi"
    first.close(), second.close()


def test_it_finds_its_sandbox_again_after_its_front_end_is_killed(stack):
    cookie = new_session(stack)
    tabs = tabs_of(stack, cookie)
    ids = connection(tabs[0])

    stack.processes["ws1"].signal(signal.SIGKILL)
    closed = []
    for ws in tabs:  # the tab on the killed front end is closed by nginx; the other goes on
        try:
            answer(ws, op="udp.bind", device="laptop", port=0, ref="alive")
        except (ConnectionError, OSError):
            closed.append(ws)
    assert len(closed) == 1
    again = tab(stack, cookie)  # the page reconnects: nginx takes it to the live front end
    rows = {row["id"] for row in again.hello()["sockets"]}
    assert {ids["listener"], ids["client"]} <= rows
    stack.start("ws1")
    assert stack.tracebacks() == []


def test_it_gives_the_visitors_of_a_killed_worker_a_fresh_sandbox(stack):
    cookie = new_session(stack)
    tabs = tabs_of(stack, cookie)
    connection(tabs[0])
    doomed = stack.owner(cookie)
    name = doomed.name

    doomed.signal(signal.SIGKILL)
    killed = time.monotonic()
    for ws in tabs:
        lost = ws.until(lambda e: e["type"] == "sandbox.lost")
        assert lost["reason"] == "worker_lost"
        assert ws.hello()["sockets"] == []
    print(f"sandbox.lost and a fresh hello {time.monotonic() - killed:.1f} s after SIGKILL")
    assert stack.owner(cookie).id != doomed.id
    answer(tabs[1], op="tcp.listen", device="server", port=3000, ref="again")
    stack.start(name)
    assert stack.tracebacks() == []


def test_it_drains_a_worker_on_sigterm_and_places_its_visitors_elsewhere(stack):
    cookie = new_session(stack)
    ws = tab(stack, cookie)
    ws.hello()
    answer(ws, op="udp.bind", device="laptop", port=0, ref="bind")
    draining = stack.owner(cookie)
    name = draining.name

    draining.process.send_signal(signal.SIGTERM)
    lost = ws.until(lambda e: e["type"] == "sandbox.lost")
    assert lost["reason"] == "worker_stopped"
    assert ws.hello()["sockets"] == []
    assert draining.process.wait(timeout=10) == 0
    assert stack.owner(cookie).id != draining.id
    answer(ws, op="udp.bind", device="laptop", port=0, ref="again")
    stack.start(name)
    assert stack.tracebacks() == []


def test_it_keeps_sandboxes_and_websockets_through_a_redis_restart(stack):
    cookie = new_session(stack)
    tabs = tabs_of(stack, cookie)
    ids = connection(tabs[0])

    stack.processes["redis"].signal(signal.SIGTERM)
    # Meanwhile pages are read from the database, for visitors with a session too.
    assert get(stack, "/lessons/sockets/", cookie=cookie).status == 200
    stack.start("redis")  # the same port, empty, as after a crash without persistence
    for ws in tabs:  # each tab is told what its sandbox holds now: all of it
        rows = {row["id"] for row in ws.hello()["sockets"]}
        assert {ids["listener"], ids["client"]} <= rows
    answer(tabs[1], op="send", socket=ids["client"], data="after", ref="send")
    assert tabs[0].until(lambda e: e["type"] == "data")["data"] == "after"
    # A new visitor gets a page, a session and a sandbox.
    tab(stack, new_session(stack)).hello()
    assert stack.tracebacks() == []


def test_it_runs_the_whole_procfile_under_honcho(tmp_path):
    """What docs/deploy.md says to run on one host: `honcho start -f deploy/Procfile`."""
    with postgres_service.fresh_database("sockets_honcho") as database_url:
        stack = Stack(tmp_path, database_url)
        honcho = LoggedProcess()
        argv = [str(Path(sys.executable).parent / "honcho"), "start", "-f", "deploy/Procfile"]
        redis_ready = re.compile(r"redis\.1 .*Ready to accept")
        honcho.start([*argv, "-d", "."], stack.env, redis_ready, "honcho", stdout=True)
        try:
            prepare_site(stack.env)
            for ready, count in (
                ("Application startup complete", 2),
                ("Listening on TCP address", 2),
                ("ready on playground.worker.", 2),
                ("start worker process", 1),
            ):
                assert honcho.wait_for_log(ready, count=count, timeout=60), "".join(honcho.log)
            assert get(stack, "/lessons/sockets/").status == 200
            ws = tab(stack, new_session(stack))
            ws.hello()
            answer(ws, op="tcp.listen", device="server", port=3000, ref="listen")
        finally:
            honcho.process.send_signal(signal.SIGTERM)  # honcho stops every process
            honcho.process.wait(timeout=30)
        for name in ("worker1", "worker2", "ws1", "ws2", "http", "nginx"):  # each exits cleanly
            assert honcho.wait_for_log(f"{name}.1 stopped (rc=0)"), "".join(honcho.log)
        assert not any("Traceback" in line for line in honcho.log), "".join(honcho.log)
