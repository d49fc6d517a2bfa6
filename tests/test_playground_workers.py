"""The workers engine end to end: real redis-server, real workers, two real Daphnes.

Front ends hold no sandbox; `manage.py playground_worker` processes do, and the
channel layer (channels_redis) routes between them. One session's WebSockets on
two front ends see one sandbox; a worker killed or stopped is said, not hidden.
"""

import signal
import time

import pytest

from playground.checks import check_engine
from playground.workers import lease_key
from tests.live_server import prepare_site, site_env
from tests.site_visitor import Browser, Tab, command, lab_item, socket_reaches
from tests.site_visitor import connect as connect_pair
from tests.workers_cluster import answer, cluster, connect, session

CLOSE_WAIT_QUIZ = "/quizzes/connections-quiz/"
CLOSE_WAIT_PROMPT = "In the playground, bring a TCP socket of the server into CLOSE_WAIT"


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    path = tmp_path_factory.mktemp("workers")
    env = site_env(path)
    prepare_site(env)
    return path


def owner(redis_server, cookie) -> str:
    """The worker whose lease holds the session's sandbox."""
    worker = redis_server.get(lease_key(cookie.split("=", 1)[1]))
    assert worker is not None, "the session has no lease"
    return worker


def listener_row(port):
    return lambda e: (
        e["type"] == "socket"
        and e["socket"]["role"] == "listener"
        and e["socket"]["local"]["port"] == port
    )


def test_it_shows_one_sandbox_to_a_session_on_two_front_ends(workdir, redis_server):
    with cluster(workdir, redis_server) as (_, (front_a, front_b)):
        cookie = session(front_a)
        ws_a, ws_b = connect(front_a, cookie), connect(front_b, cookie)
        hello_a, hello_b = ws_a.hello(), ws_b.hello()
        assert hello_a["devices"] == hello_b["devices"]

        listened = answer(ws_a, {"op": "tcp.listen", "device": "server", "port": 3000, "ref": 1})
        assert listened["type"] == "ok", listened
        ws_b.until(listener_row(3000))  # seen on the other front end

        connected = answer(
            ws_b,
            {
                "op": "tcp.connect",
                "device": "laptop",
                "to": {"device": "server", "port": 3000},
                "ref": 2,
            },
        )
        assert connected["type"] == "ok", connected
        accepted = ws_a.until(lambda e: e["type"] == "socket" and e["socket"]["role"] == "accepted")
        sent = answer(
            ws_b, {"op": "send", "socket": connected["socket"]["id"], "data": "hi", "ref": 3}
        )
        assert sent["type"] == "ok", sent
        data = ws_a.until(lambda e: e["type"] == "data")
        assert (data["socket"], data["data"]) == (accepted["socket"]["id"], "hi")

        # A reload on either front end finds the same sockets.
        ws_a.close()
        again = connect(front_a, cookie).hello()
        assert {row["role"] for row in again["sockets"]} == {"listener", "client", "accepted"}


def test_it_places_sessions_on_the_least_loaded_worker(workdir, redis_server):
    with cluster(workdir, redis_server, fronts=1) as (workers, (front,)):
        first, second = session(front), session(front)
        connect(front, first).hello()
        connect(front, second).hello()
        placed = {owner(redis_server, first), owner(redis_server, second)}
        assert placed == {worker.id for worker in workers}


def test_it_tells_visitors_of_a_killed_worker_and_gives_them_a_fresh_sandbox(workdir, redis_server):
    with cluster(workdir, redis_server) as (workers, (front_a, front_b)):
        cookie = session(front_a)
        ws_a, ws_b = connect(front_a, cookie), connect(front_b, cookie)
        ws_a.hello(), ws_b.hello()
        assert (
            answer(ws_a, {"op": "tcp.listen", "device": "server", "port": 3000, "ref": 1})["type"]
            == "ok"
        )
        doomed = owner(redis_server, cookie)
        victim = next(w for w in workers if w.id == doomed)

        victim.process.send_signal(signal.SIGKILL)
        killed = time.monotonic()
        for ws in (ws_a, ws_b):
            lost = ws.until(lambda e: e["type"] == "sandbox.lost")
            assert lost["reason"] == "worker_lost"
            fresh = ws.hello()
            assert fresh["sockets"] == []
        print(f"sandbox.lost and a fresh hello {time.monotonic() - killed:.1f} s after SIGKILL")

        assert owner(redis_server, cookie) != doomed
        again = answer(ws_b, {"op": "tcp.listen", "device": "server", "port": 3000, "ref": 2})
        assert again["type"] == "ok", again
        ws_a.until(listener_row(3000))


def test_it_drains_a_worker_on_sigterm(workdir, redis_server):
    with cluster(workdir, redis_server, fronts=1) as (workers, (front,)):
        cookie = session(front)
        ws = connect(front, cookie)
        ws.hello()
        assert (
            answer(ws, {"op": "udp.bind", "device": "laptop", "port": 0, "ref": 1})["type"] == "ok"
        )
        draining = next(w for w in workers if w.id == owner(redis_server, cookie))

        draining.process.send_signal(signal.SIGTERM)
        lost = ws.until(lambda e: e["type"] == "sandbox.lost")
        assert lost["reason"] == "worker_stopped"
        assert ws.hello()["sockets"] == []
        assert draining.process.wait(timeout=10) == 0
        assert any("stopped" in line for line in draining.log)
        assert owner(redis_server, cookie) != draining.id


def test_it_counts_sandboxes_per_address_across_workers(workdir, redis_server):
    with cluster(workdir, redis_server, fronts=1, sandboxes_per_address=1) as (_, (front,)):
        first, second = session(front), session(front)
        kept = connect(front, first)
        kept.hello()
        refused = connect(front, second)
        code, events = refused.until_closed()
        assert events[0]["code"] == "limit_sandboxes_per_address", events
        assert code == 4429


def test_it_refuses_the_workers_engine_without_redis(settings):
    settings.PLAYGROUND_ENGINE, settings.REDIS_URL = "workers", ""
    assert [message.id for message in check_engine()] == ["playground.E011"]
    settings.REDIS_URL = "redis://127.0.0.1:6379/0"
    assert check_engine() == []
    settings.PLAYGROUND_ENGINE = "cluster"
    assert [message.id for message in check_engine()] == ["playground.E010"]


def test_it_keeps_sandboxes_and_open_websockets_through_a_redis_restart(workdir, redis_server):
    with cluster(workdir, redis_server, workers=1, fronts=1) as ((worker,), (front,)):
        cookie = session(front)
        ws = connect(front, cookie)
        ws.hello()
        listened = answer(ws, {"op": "tcp.listen", "device": "server", "port": 3000, "ref": 1})
        assert listened["type"] == "ok", listened

        redis_server.stop()
        redis_server.start()  # the same port, empty
        # The open WebSocket is not closed: it gets a fresh hello with its socket in it.
        again = ws.hello()
        assert [row["id"] for row in again["sockets"]] == [listened["socket"]["id"]]
        assert worker.wait_for_log("registered again")
        # Commands and events flow again, to this tab and to a new one.
        second = connect(front, cookie)
        assert [row["id"] for row in second.hello()["sockets"]] == [listened["socket"]["id"]]
        udp = answer(ws, {"op": "udp.bind", "device": "laptop", "port": 0, "ref": 2})
        assert udp["type"] == "ok", udp
        second.until(lambda e: e["type"] == "socket" and e["socket"]["id"] == udp["socket"]["id"])
        assert owner(redis_server, cookie) == worker.id
        for process in (front, worker):  # said once, not a traceback per WebSocket
            assert not any("Traceback" in line for line in process.log), "".join(process.log)
            assert any("Redis is unreachable" in line for line in process.log)


def test_it_delivers_a_sockets_events_in_order_to_tabs_on_both_front_ends(workdir, redis_server):
    with cluster(workdir, redis_server) as (_, (front_a, front_b)):
        cookie = session(front_a)
        tabs = connect(front_a, cookie), connect(front_b, cookie)
        received = {tab: "" for tab in tabs}

        def read(tab) -> dict:
            event = tab.event()
            if event["type"] == "data":
                received[tab] += event["data"]
            return event

        def command(tab, **fields) -> dict:
            tab.send_json(fields)
            while True:
                event = read(tab)
                if event["type"] in ("ok", "error") and event.get("ref") == fields["ref"]:
                    assert event["type"] == "ok", event
                    return event

        for tab in tabs:
            tab.hello()
        command(tabs[0], op="tcp.listen", device="server", port=3000, ref="l")
        to = {"device": "server", "port": 3000}
        client = command(tabs[0], op="tcp.connect", device="laptop", to=to, ref="c")
        pieces = "".join(f"{n}," for n in range(20))
        for n, piece in enumerate(f"{n}," for n in range(20)):  # from both tabs in turn
            command(tabs[n % 2], op="send", socket=client["socket"]["id"], data=piece, ref=n)
        for tab in tabs:
            while received[tab] != pieces:
                read(tab)
                assert pieces.startswith(received[tab]), received[tab]


def test_it_counts_websockets_per_session_across_front_ends(workdir, redis_server):
    with cluster(workdir, redis_server, websockets_per_session=1) as (_, (front_a, front_b)):
        cookie = session(front_a)
        first = connect(front_a, cookie)  # kept open (and referenced) while the second tries
        first.hello()
        code, events = connect(front_b, cookie).until_closed()
        assert events[0]["code"] == "limit_websockets_per_session", events
        assert code == 4429


def test_it_stops_counting_the_sandboxes_of_a_killed_worker(workdir, redis_server):
    with cluster(workdir, redis_server, fronts=1, sandboxes_per_address=1) as (workers, (front,)):
        cookie = session(front)
        ws = connect(front, cookie)
        ws.hello()
        doomed = owner(redis_server, cookie)
        next(w for w in workers if w.id == doomed).process.send_signal(signal.SIGKILL)
        ws.until(lambda e: e["type"] == "sandbox.lost")
        # The address's one sandbox on the dead worker no longer counts: a fresh one is made.
        assert ws.hello()["sockets"] == []
        assert owner(redis_server, cookie) != doomed


def test_it_detaches_the_websockets_of_a_killed_front_end(workdir, redis_server):
    with cluster(workdir, redis_server, workers=1, websockets_per_session=1) as (
        (worker,),
        (front_a, front_b),
    ):
        cookie = session(front_b)
        ws = connect(front_a, cookie)
        ws.hello()
        front_a.process.send_signal(signal.SIGKILL)
        front_a.process.wait(timeout=10)
        assert worker.wait_for_log("is gone; detached 1 WebSockets")
        # The session's one WebSocket no longer counts: a tab on the other front end gets in.
        assert connect(front_b, cookie).hello()["type"] == "hello"


def test_it_closes_tabs_that_stop_reading_on_a_front_end(workdir, redis_server):
    limits = {"commands_per_second": 100000, "command_burst": 100000, "slow_client_seconds": 2}
    with cluster(workdir, redis_server, workers=1, fronts=1, **limits) as (_, (front,)):
        cookie = session(front)
        driver = connect(front, cookie)
        driver.hello()
        # Tabs of the one session with tiny receive buffers that never read.
        idle = [connect(front, cookie, receive_buffer=4096) for _ in range(5)]
        listen = answer(driver, {"op": "tcp.listen", "device": "server", "port": 3000, "ref": "l"})
        assert listen["type"] == "ok", listen
        to = {"device": "server", "port": 3000}
        client = answer(driver, {"op": "tcp.connect", "device": "laptop", "to": to, "ref": "c"})
        for n in range(600):  # the driver reads its answers: only the idle tabs fall behind
            sent = answer(driver, {"op": "send", "socket": client["socket"]["id"],
                                   "data": "x" * 1000, "ref": n})  # fmt: skip
            assert sent["type"] == "ok", sent
        assert front.wait_for_log("closing a WebSocket that stopped reading")
        for ws in idle:
            code, _ = ws.until_closed()  # a read that times out: the front end kept it open
            assert code in (4008, None), code


def test_it_runs_experiments_and_grades_lab_questions_through_the_workers(workdir, redis_server):
    """The sandbox lives in a worker: its experiment's progress reaches the session's tabs
    on both front ends, and a quiz submitted to either front end is graded from the
    kernel's view in that worker (asked over the channel layer), not from the page."""
    with cluster(workdir, redis_server) as (_, (front_a, front_b)):
        browser = Browser(front_a)
        tab_a = browser.playground()
        assert any(e["id"] == "three-sockets" for e in browser.hello["experiments"])
        cookie = "; ".join(f"{c.name}={c.value}" for c in browser.jar)
        tab_b = Tab(connect(front_b, cookie))
        tab_b.ws.hello()

        started = command(tab_a, "x", op="experiment.start", experiment="three-sockets")
        assert started["type"] == "ok" and started["done"] == 0
        three = {"experiment": "three-sockets"}
        predicted = command(tab_a, "p", op="experiment.predict", **three, step=2, choice=1)
        assert predicted["type"] == "ok"
        client, accepted = connect_pair(tab_a, 3000)
        # The last step is the learner's pick of the server's end, judged in the worker.
        assert command(tab_b, "k", op="experiment.pick", socket=accepted["id"])["matched"]
        progress = tab_b.until(lambda e: e["type"] == "experiment.progress" and e["finished"])
        assert progress["experiment"] == "three-sockets" and progress["done"] == 3

        browser.server = front_b  # the same visitor's next page comes from the other front end
        result = lab_item(browser.submit_quiz(CLOSE_WAIT_QUIZ), CLOSE_WAIT_PROMPT)
        assert "✗ Wrong" in result and "1 of 2 steps reached" in result, result
        assert command(tab_a, "close", op="close", socket=client["id"])["type"] == "ok"
        socket_reaches(tab_b, lambda s: s["id"] == accepted["id"] and s["state"] == "CLOSE_WAIT")
        result = lab_item(browser.submit_quiz(CLOSE_WAIT_QUIZ), CLOSE_WAIT_PROMPT)
        assert "✓ Right" in result and "2 of 2 steps reached" in result, result
        tab_a.close()
        tab_b.close()
