"""Experiments and lab grading against real sandboxes: real sockets, the real kernel table,
through the real WebSocket stack. The experiments are the course's own files, loaded
by a test LabHooks (no database for them; the session is a real one)."""

import asyncio
import itertools
import json
from dataclasses import replace
from pathlib import Path

import pytest
import yaml
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore

from playground import conf
from playground.engines import Client
from playground.engines.local import LocalEngine
from playground.labs import lab as labs
from playground.labs.checks import JOURNAL_ENTRIES, replay
from playground.labs.lab import LabHooks
from playground.sandbox.registry import Registry
from playground.wire.limits import Limits
from sockets_site.asgi import application
from tests.support.playground_helpers import TEST_RANGE, WAIT, Events, running

pytestmark = pytest.mark.django_db(transaction=True)
EXPERIMENTS = Path(settings.COURSE_CONTENT_DIR) / "experiments"
ORIGIN = b"http://127.0.0.1:8000"
TO_SERVER = {"device": "server", "port": 3000}


class FileHooks(LabHooks):
    """The course's experiment files as the catalogue; progress kept in memory."""

    def __init__(self):
        self.records: dict[tuple, tuple] = {}  # (owner, experiment) -> (done, steps, finished)
        self.calls: list[tuple] = []

    async def catalogue(self) -> list[dict]:
        items = [
            {"id": p.stem, **yaml.safe_load(p.read_text())} for p in EXPERIMENTS.glob("*.yaml")
        ]
        return sorted(items, key=lambda item: item["order"])

    async def load(self, owner: dict) -> dict[str, dict]:
        mine = [(k[1], v) for k, v in self.records.items() if k[0] == json.dumps(owner)]
        return {experiment: {"done": v[0], "finished": v[2]} for experiment, v in mine}

    async def record(self, owner, experiment, done, steps, finished) -> None:
        self.calls.append((owner, experiment, done, steps, finished))
        self.records[(json.dumps(owner), experiment)] = (done, steps, finished)


def test_config():
    return replace(conf.engine_config(), address_range=TEST_RANGE)


@pytest.fixture
def hooks():
    return FileHooks()


@pytest.fixture
async def registry(hooks, tmp_path):
    """The registry the consumer uses on this loop, with the file hooks."""
    config = replace(test_config(), lock_file=str(tmp_path / "lock"))
    async with running(Registry(conf.limits(), config, hooks)) as registry:
        yield registry


@sync_to_async
def new_session(learner: str | None = "a1b2c3") -> str:
    session = SessionStore()
    session["started"] = True
    if learner:
        session["learner"] = learner
    session.create()
    return session.session_key


_refs = itertools.count()


class Tab:
    """One WebSocket of a session: every event it got, and waits for the next one wanted."""

    def __init__(self, ws: WebsocketCommunicator):
        self.ws, self.log, self.taken = ws, [], set()

    @classmethod
    async def open(cls, key: str) -> "Tab":
        headers = [(b"origin", ORIGIN), (b"host", b"127.0.0.1:8000")]
        ws = WebsocketCommunicator(
            application,
            "/ws/playground/",
            headers=[*headers, (b"cookie", f"sessionid={key}".encode())],
        )
        assert (await ws.connect())[0]
        tab = cls(ws)
        tab.hello = await tab.until(lambda e: e["type"] == "hello")
        return tab

    async def until(self, predicate) -> dict:
        """The first event not yet taken that matches, reading more as needed."""
        seen = 0
        while True:
            for n in range(seen, len(self.log)):
                if n not in self.taken and predicate(self.log[n]):
                    self.taken.add(n)
                    return self.log[n]
            seen = len(self.log)
            self.log.append(await self.ws.receive_json_from(timeout=WAIT))

    async def command(self, **message) -> dict:
        ref = message.setdefault("ref", f"r{next(_refs)}")
        await self.ws.send_json_to(message)
        return await self.until(lambda e: e["type"] in ("ok", "error") and e.get("ref") == ref)

    async def progress(self, experiment: str, done: int) -> dict:
        return await self.until(
            lambda e: (
                e["type"] == "experiment.progress"
                and e["experiment"] == experiment
                and e["done"] == done
            )
        )

    def dones(self, experiment: str) -> list[int]:
        return [
            e["done"]
            for e in self.log
            if e["type"] == "experiment.progress" and e["experiment"] == experiment
        ]

    async def socket(self, **fields) -> dict:
        """The first socket row with these fields."""

        def matches(event):
            row = event.get("socket")
            return event["type"] == "socket" and all(row.get(k) == v for k, v in fields.items())

        return (await self.until(matches))["socket"]

    async def close(self) -> None:
        await self.ws.disconnect()


# What a learner does for each step, and `done` once it is done. Sockets the steps name
# come from the answers ("$client") or from rows ("$accepted").


async def predict(tab: Tab, experiment: str, step: int) -> dict:
    """Lock in the right prediction of a step (read from its file), as the page would."""
    steps = yaml.safe_load((EXPERIMENTS / f"{experiment}.yaml").read_text())["steps"]
    choice = steps[step - 1]["predict"]["answer"]
    answer = await tab.command(
        op="experiment.predict", experiment=experiment, step=step, choice=choice
    )
    assert answer["type"] == "ok", answer
    return answer


async def pick(tab: Tab, **what) -> dict:
    answer = await tab.command(op="experiment.pick", **what)
    assert answer["type"] == "ok" and answer["matched"], answer
    return answer


async def packet(tab: Tab, **fields) -> dict:
    """The first packet event with these fields (flags compared as lists)."""

    def matches(event):
        return event["type"] == "packet" and all(
            (event[k]["device"] if k in ("from", "to") else event.get(k)) == v
            for k, v in fields.items()
        )

    return await tab.until(matches)


async def port_before_socket(tab: Tab, ids: dict):
    yield 1  # an empty sandbox already has no socket at server port 3000
    await predict(tab, "port-before-socket", 2)
    listener = (await tab.command(op="tcp.listen", device="server", port=3000))["socket"]["id"]
    yield 2  # the listener's row; the third step waits for the learner's pick
    await pick(tab, socket=listener)
    yield 3


async def connection_refused(tab: Tab, ids: dict):
    yield 1
    await predict(tab, "connection-refused", 2)
    assert (await tab.command(op="tcp.connect", device="laptop", to=TO_SERVER))["code"] == (
        "ECONNREFUSED"
    )
    yield 2
    await tab.command(op="tcp.listen", device="server", port=3000)
    yield 3
    assert (await tab.command(op="tcp.connect", device="laptop", to=TO_SERVER))["type"] == "ok"
    yield 4


async def same_port_tcp_udp(tab: Tab, ids: dict):
    yield 0
    await tab.command(op="tcp.listen", device="server", port=3000)
    yield 1
    await predict(tab, "same-port-tcp-udp", 2)
    udp = await tab.command(op="udp.bind", device="server", port=3000)
    assert udp["type"] == "ok"
    yield 2
    await pick(tab, socket=udp["socket"]["id"])
    yield 3


async def three_sockets(tab: Tab, ids: dict):
    yield 0
    await tab.command(op="tcp.listen", device="server", port=3000)
    yield 1
    await predict(tab, "three-sockets", 2)
    await tab.command(op="tcp.connect", device="laptop", to=TO_SERVER)
    accepted = await tab.socket(role="accepted")
    yield 2
    await pick(tab, socket=accepted["id"])
    yield 3


async def two_clients(tab: Tab, ids: dict):
    yield 0
    await tab.command(op="tcp.listen", device="server", port=3000)
    yield 1
    await tab.command(op="tcp.connect", device="laptop", to=TO_SERVER)
    await tab.socket(role="accepted")
    yield 2
    await predict(tab, "two-clients", 3)
    await tab.command(op="tcp.connect", device="laptop", to=TO_SERVER)
    accepted = await tab.socket(role="accepted")
    yield 3
    await predict(tab, "two-clients", 4)
    await pick(tab, socket=accepted["id"])
    yield 4


async def udp_no_connection(tab: Tab, ids: dict):
    yield 0
    server = (await tab.command(op="udp.bind", device="server", port=5353))["socket"]["id"]
    yield 1
    laptop = (await tab.command(op="udp.bind", device="laptop", port=0))["socket"]["id"]
    yield 2
    await predict(tab, "udp-no-connection", 3)
    to = {"device": "server", "port": 5353}
    assert (await tab.command(op="udp.sendto", socket=laptop, to=to, data="hi"))["type"] == "ok"
    yield 3  # the answer, with the sender's row counting the bytes
    await tab.until(lambda e: e["type"] == "data" and e["socket"] == server)
    await pick(tab, socket=server)
    yield 4  # the datagram arrived, and the learner picked its receiver


async def ports_stay(tab: Tab, ids: dict):
    yield 0
    listener = (await tab.command(op="tcp.listen", device="server", port=3000))["socket"]["id"]
    client = (await tab.command(op="tcp.connect", device="laptop", to=TO_SERVER))["socket"]["id"]
    accepted = (await tab.socket(role="accepted"))["id"]
    yield 1
    await tab.command(op="close", socket=accepted)
    yield 2
    await predict(tab, "ports-stay", 3)
    await tab.command(op="close", socket=client)
    await tab.socket(id=accepted, state="TIME_WAIT")  # as the kernel reports it
    yield 3
    await tab.command(op="close", socket=listener)
    yield 4
    await predict(tab, "ports-stay", 5)
    again = await tab.command(op="tcp.listen", device="server", port=3000)
    assert again["code"] == "EADDRINUSE"
    yield 5
    # The fix: SO_REUSEADDR on the old listener and on the new one.
    to_3001 = {"device": "server", "port": 3001}
    made = await tab.command(op="tcp.listen", device="server", port=3001, reuse_address=True)
    client = (await tab.command(op="tcp.connect", device="laptop", to=to_3001))["socket"]["id"]
    accepted = (
        await tab.until(
            lambda e: (
                e["type"] == "socket"
                and e["socket"]["role"] == "accepted"
                and e["socket"]["local"]["port"] == 3001
            )
        )
    )["socket"]["id"]
    yield 6
    await tab.command(op="close", socket=accepted)
    await tab.command(op="close", socket=client)
    yield 7
    await tab.command(op="close", socket=made["socket"]["id"])
    yield 8
    await predict(tab, "ports-stay", 9)
    again = await tab.command(op="tcp.listen", device="server", port=3001, reuse_address=True)
    assert again["type"] == "ok", again
    yield 9


async def handshake_packets(tab: Tab, ids: dict):
    yield 0
    await tab.command(op="tcp.listen", device="server", port=3000)
    yield 1
    await predict(tab, "handshake-packets", 2)
    await tab.command(op="tcp.connect", device="laptop", to=TO_SERVER)
    yield 2  # the SYN; the next two steps wait for the learner's picks
    await predict(tab, "handshake-packets", 3)
    await pick(tab, packet=(await packet(tab, flags=["SYN", "ACK"]))["n"])
    yield 3
    await pick(tab, packet=(await packet(tab, flags=["ACK"]))["n"])
    yield 4


async def data_and_ack(tab: Tab, ids: dict):
    yield 0
    await tab.command(op="tcp.listen", device="server", port=3000)
    client = (await tab.command(op="tcp.connect", device="laptop", to=TO_SERVER))["socket"]["id"]
    await tab.socket(role="accepted")
    yield 1
    await predict(tab, "data-and-ack", 2)
    await tab.command(op="send", socket=client, data="hi")
    yield 2  # the data packet
    ack = await packet(tab, **{"from": "server", "flags": ["ACK"], "ack_relative": 3})
    await pick(tab, packet=ack["n"])
    yield 3


async def who_waits(tab: Tab, ids: dict):
    yield 0
    await tab.command(op="tcp.listen", device="server", port=3000)
    client = (await tab.command(op="tcp.connect", device="laptop", to=TO_SERVER))["socket"]["id"]
    accepted = (await tab.socket(role="accepted"))["id"]
    yield 1
    await tab.command(op="close", socket=client)
    yield 2  # the laptop's FIN
    await predict(tab, "who-waits", 3)
    await tab.socket(id=accepted, state="CLOSE_WAIT")
    await tab.socket(id=client, state="FIN_WAIT2")
    await pick(tab, socket=accepted)
    yield 3
    await tab.command(op="close", socket=accepted)
    yield 4  # the server's FIN
    await predict(tab, "who-waits", 5)
    await tab.socket(id=client, state="TIME_WAIT")
    await pick(tab, socket=client)
    yield 5  # the laptop, which closed first, in TIME_WAIT


async def reset_connection(tab: Tab, ids: dict):
    yield 1  # an empty sandbox has no connection at server port 3000
    listener = (await tab.command(op="tcp.listen", device="server", port=3000))["socket"]["id"]
    client = (await tab.command(op="tcp.connect", device="laptop", to=TO_SERVER))["socket"]["id"]
    accepted = (await tab.socket(role="accepted"))["id"]
    yield 2
    await predict(tab, "reset-connection", 3)
    assert (await tab.command(op="tcp.reset", socket=client))["type"] == "ok"
    yield 3  # the RST
    await tab.until(lambda e: e["type"] == "socket.gone" and e["socket"] == accepted)
    await pick(tab, socket=listener)
    yield 4  # only the listener left, neither end in TIME_WAIT


async def byte_stream(tab: Tab, ids: dict):
    yield 0
    await tab.command(op="tcp.listen", device="server", port=3000, auto_read=False)
    client = (await tab.command(op="tcp.connect", device="laptop", to=TO_SERVER))["socket"]["id"]
    accepted = (await tab.socket(role="accepted"))["id"]
    yield 1
    await tab.command(op="send", socket=client, data="hello")
    yield 2
    await tab.command(op="send", socket=client, data="world")
    yield 3
    await predict(tab, "byte-stream", 4)
    assert (await tab.command(op="recv", socket=accepted))["bytes"] == 10
    yield 4


async def half_close(tab: Tab, ids: dict):
    yield 0
    await tab.command(op="tcp.listen", device="server", port=3000)
    client = (await tab.command(op="tcp.connect", device="laptop", to=TO_SERVER))["socket"]["id"]
    accepted = (await tab.socket(role="accepted"))["id"]
    yield 1
    await predict(tab, "half-close", 2)
    await tab.command(op="shutdown", socket=client)
    yield 2  # CLOSE_WAIT and FIN_WAIT2, as the kernel reports them
    await predict(tab, "half-close", 3)
    assert (await tab.command(op="send", socket=accepted, data="still here"))["type"] == "ok"
    yield 3  # the fourth step waits for the learner's pick of the laptop's socket
    await tab.until(lambda e: e["type"] == "data" and e["socket"] == client)
    await pick(tab, socket=client)
    yield 4
    await predict(tab, "half-close", 5)
    assert (await tab.command(op="send", socket=client, data="more"))["code"] == "EPIPE"
    yield 5
    await tab.command(op="close", socket=accepted)
    yield 6


async def udp_connect_refused(tab: Tab, ids: dict):
    yield 0
    udp = await tab.command(op="udp.bind", device="laptop", port=0, auto_read=False)
    udp = udp["socket"]["id"]
    yield 1
    await predict(tab, "udp-connect-refused", 2)
    nobody = {"device": "server", "port": 9999}
    assert (await tab.command(op="udp.connect", socket=udp, to=nobody))["type"] == "ok"
    yield 2
    await predict(tab, "udp-connect-refused", 3)
    assert (await tab.command(op="send", socket=udp, data="hi"))["bytes"] == 2
    yield 3
    await predict(tab, "udp-connect-refused", 4)
    assert (await tab.command(op="send", socket=udp, data="hi"))["code"] == "ECONNREFUSED"
    yield 4


async def accept_queue_full(tab: Tab, ids: dict):
    yield 0
    listener = await tab.command(
        op="tcp.listen", device="server", port=3000, backlog=1, auto_accept=False
    )
    yield 1
    await predict(tab, "accept-queue-full", 2)
    await tab.command(op="tcp.connect", device="laptop", to=TO_SERVER)
    yield 2
    await tab.command(op="tcp.connect", device="laptop", to=TO_SERVER)
    yield 3
    await predict(tab, "accept-queue-full", 4)
    third = await tab.command(op="tcp.connect", device="laptop", to=TO_SERVER)
    assert third["socket"]["state"] == "SYN_SENT"
    yield 4
    await predict(tab, "accept-queue-full", 5)
    accepted = await tab.command(op="accept", socket=listener["socket"]["id"])
    assert accepted["socket"]["role"] == "accepted"
    yield 5
    yield 6  # the third client's next SYN gets in


SCRIPTS = {
    "port-before-socket": port_before_socket,
    "connection-refused": connection_refused,
    "same-port-tcp-udp": same_port_tcp_udp,
    "three-sockets": three_sockets,
    "two-clients": two_clients,
    "udp-no-connection": udp_no_connection,
    "ports-stay": ports_stay,
    "handshake-packets": handshake_packets,
    "data-and-ack": data_and_ack,
    "who-waits": who_waits,
    "reset-connection": reset_connection,
    "byte-stream": byte_stream,
    "half-close": half_close,
    "udp-connect-refused": udp_connect_refused,
    "accept-queue-full": accept_queue_full,
}


def test_it_has_a_script_for_every_experiment_file():
    assert sorted(SCRIPTS) == sorted(p.stem for p in EXPERIMENTS.glob("*.yaml"))


async def run(tab: Tab, experiment: str) -> list[int]:
    """Start the experiment and do each step; `done` as expected after each. The points
    where it should be, in order."""
    script = SCRIPTS[experiment](tab, {})
    expected = [await anext(script)]
    started = await tab.command(op="experiment.start", experiment=experiment)
    assert started == {**started, "type": "ok", "experiment": experiment, "done": expected[0]}
    await tab.progress(experiment, expected[0])
    async for done in script:
        await tab.progress(experiment, done)
        expected.append(done)
    return expected


@pytest.mark.parametrize("experiment", sorted(SCRIPTS))
async def test_it_reaches_every_step_of_every_experiment_by_real_ops(registry, hooks, experiment):
    key = await new_session()
    tab = await Tab.open(key)
    steps = len(yaml.safe_load((EXPERIMENTS / f"{experiment}.yaml").read_text())["steps"])
    assert tab.hello["progress"][experiment] == {
        "done": 0,
        "steps": steps,
        "finished": False,
        "revealed": [],
        "predicted": {},
    }
    assert tab.hello["experiment"] is None
    expected = await run(tab, experiment)
    assert expected[-1] == steps
    # Every change of `done` was sent once, in order, and only as far as reached (a
    # prediction is news too, with `done` unchanged).
    dones = [d for n, d in enumerate(tab.dones(experiment)) if d not in tab.dones(experiment)[:n]]
    assert dones == sorted(set(dones)) and set(expected) <= set(dones)
    assert dones[-1] == steps
    finished = [e["finished"] for e in tab.log if e["type"] == "experiment.progress"]
    assert finished == [False] * (len(finished) - 1) + [True]
    await tab.close()
    await registry.labs.settled()
    assert hooks.records[(json.dumps({"learner": "a1b2c3"}), experiment)] == (steps, steps, True)


async def test_it_shows_the_same_progress_in_every_tab_and_after_a_reconnect(registry):
    key = await new_session()
    first, second = await Tab.open(key), await Tab.open(key)
    await first.command(op="experiment.start", experiment="connection-refused")
    await second.progress("connection-refused", 1)
    await predict(first, "connection-refused", 2)
    await second.command(op="tcp.connect", device="laptop", to=TO_SERVER)
    for tab in (first, second):
        await tab.progress("connection-refused", 2)
    await first.close()
    await second.close()
    again = await Tab.open(key)  # within the grace period: the same sandbox
    assert again.hello["experiment"] == "connection-refused"
    progress = again.hello["progress"]["connection-refused"]
    assert (progress["done"], progress["steps"], progress["finished"]) == (2, 4, False)
    assert progress["predicted"] == {"2": 1}
    assert [shown["step"] for shown in progress["revealed"]] == [2]
    await again.command(op="tcp.listen", device="server", port=3000)
    await again.progress("connection-refused", 3)
    await again.close()


async def test_it_loads_the_progress_into_a_fresh_sandbox_and_resumes_there(registry, hooks):
    key = await new_session()
    tab = await Tab.open(key)
    await tab.command(op="experiment.start", experiment="connection-refused")
    await predict(tab, "connection-refused", 2)
    await tab.command(op="tcp.connect", device="laptop", to=TO_SERVER)
    await tab.progress("connection-refused", 2)
    await tab.close()
    await registry.discard(key)
    fresh = await Tab.open(key)  # made once what the old one still had to record is recorded
    assert hooks.calls[-1] == ({"learner": "a1b2c3"}, "connection-refused", 2, 4, False)
    assert fresh.hello["experiment"] is None
    assert fresh.hello["progress"]["connection-refused"]["done"] == 2
    resumed = await fresh.command(op="experiment.start", experiment="connection-refused")
    assert (resumed["done"], resumed["finished"]) == (2, False)
    await fresh.close()


async def test_it_starts_a_finished_experiment_over_and_keeps_it_finished(registry, hooks):
    key = await new_session()
    tab = await Tab.open(key)
    await run(tab, "port-before-socket")
    await tab.command(op="reset")  # clears the sockets, not the progress
    await tab.until(lambda e: e["type"] == "socket.gone")
    again = await tab.command(op="experiment.start", experiment="port-before-socket")
    assert (again["done"], again["steps"], again["finished"]) == (1, 3, True)
    other = await tab.command(op="experiment.start", experiment="three-sockets")
    assert (other["done"], other["finished"]) == (0, False)
    await tab.close()
    await registry.labs.settled()
    owner = json.dumps({"learner": "a1b2c3"})
    assert hooks.records[(owner, "port-before-socket")] == (1, 3, True)
    assert hooks.records[(owner, "three-sockets")] == (0, 3, False)


async def test_it_keeps_the_progress_of_an_unknown_owner_only_in_the_sandbox(registry, hooks):
    tab = await Tab.open(await new_session(learner=None))
    await run(tab, "port-before-socket")
    await tab.close()
    assert hooks.calls == []


async def test_it_answers_a_malformed_experiment_start_and_goes_on(registry):
    tab = await Tab.open(await new_session())
    cases = [
        ({"op": "experiment.start"}, "missing_field"),
        ({"op": "experiment.start", "experiment": 7}, "wrong_type"),
        ({"op": "experiment.start", "experiment": "no-such-thing"}, "unknown_experiment"),
        ({"op": "experiment.start", "experiment": "x" * 3000}, "unknown_experiment"),
    ]
    for message, code in cases:
        error = await tab.command(**message)
        assert (error["type"], error["code"]) == ("error", code), message
        assert len(error["message"]) < 1000
    assert "port-before-socket" in error["message"]
    assert (await tab.command(op="tcp.listen", device="server", port=3000))["type"] == "ok"
    assert tab.dones("port-before-socket") == []
    await tab.close()


class FailingHooks(LabHooks):
    async def catalogue(self):
        raise ConnectionError("the database is away")

    async def load(self, owner):
        raise ConnectionError("the database is away")


async def test_it_goes_on_without_experiments_when_the_hooks_fail(tmp_path, caplog, monkeypatch):
    monkeypatch.setattr(labs.faults, "down", False)  # as in a process where they never failed
    config = replace(test_config(), lock_file=str(tmp_path / "lock"))
    async with running(Registry(conf.limits(), config, FailingHooks())):
        tabs = [await Tab.open(await new_session()) for _ in range(2)]
        assert tabs[0].hello["experiments"] == [] and tabs[0].hello["progress"] == {}
        error = await tabs[0].command(op="experiment.start", experiment="ports-stay")
        assert error["code"] == "unknown_experiment"
        assert (await tabs[1].command(op="udp.bind", device="laptop", port=0))["type"] == "ok"
        failures = [r for r in caplog.records if "lab hooks failed" in r.getMessage()]
        assert len(failures) == 1  # said once, not once per sandbox
        for tab in tabs:
            await tab.close()


class SlowHooks(FileHooks):
    """Records only when let: counts how many records run at once."""

    def __init__(self):
        super().__init__()
        self.let = asyncio.Event()
        self.running = self.most = 0

    async def record(self, *args) -> None:
        self.running += 1
        self.most = max(self.most, self.running)
        await self.let.wait()
        self.running -= 1
        await super().record(*args)


async def test_it_records_in_the_background_one_record_at_a_time(tmp_path):
    hooks = SlowHooks()
    registry = Registry(Limits(), replace(test_config(), lock_file=str(tmp_path / "lock")), hooks)
    try:
        events = Events()
        attachment = await LocalEngine(registry).attach(Client("k", "", {"user": 7}), events)
        sandbox = attachment.sandbox
        experiment = {"experiment": "connection-refused"}
        await attachment.frame(json.dumps({"op": "experiment.start", **experiment}))
        for text in [
            {"op": "experiment.predict", **experiment, "step": 2, "choice": 1},
            {"op": "tcp.connect", "device": "laptop", "to": TO_SERVER},
            {"op": "tcp.listen", "device": "server", "port": 3000},
            {"op": "tcp.connect", "device": "laptop", "to": TO_SERVER},
        ]:
            await attachment.frame(json.dumps(text))
        await events.wait_for(lambda e: e["type"] == "experiment.progress" and e["done"] == 4)
        assert hooks.most == 1 and hooks.calls == []  # progress went on while one waits
        await registry.discard("k")
        assert sandbox.closed and hooks.calls == []  # closing waits for no record
        hooks.let.set()
        await registry.labs.settled()
        assert hooks.most == 1
        # The first record, then only the newest value of what came meanwhile.
        assert hooks.calls[0][2] < 4 and hooks.calls[-1] == (
            {"user": 7},
            "connection-refused",
            4,
            4,
            True,
        )
        assert len(hooks.calls) == 2
    finally:
        await registry.aclose()


# The first step of the experiments whose text names a box of the playground's forms:
# what the learner does, with the box ticked or not, and the rows that must be seen.
async def listen_accepting_on_accept(tab: Tab, ticked: bool) -> None:
    await tab.command(
        op="tcp.listen", device="server", port=3000, backlog=1, auto_accept=not ticked
    )


async def listen_reading_on_recv_and_connect(tab: Tab, ticked: bool) -> None:
    await tab.command(op="tcp.listen", device="server", port=3000, auto_read=not ticked)
    await connect(tab)


async def bind_udp_reading_on_recv(tab: Tab, ticked: bool) -> None:
    await tab.command(op="udp.bind", device="laptop", port=0, auto_read=not ticked)


BOXES = {
    "accept-queue-full": listen_accepting_on_accept,
    "byte-stream": listen_reading_on_recv_and_connect,
    "udp-connect-refused": bind_udp_reading_on_recv,
}


def without_boxes(check):
    """The check with its auto_read and auto_accept keys taken out, wherever they are."""
    if isinstance(check, dict):
        return {
            k: without_boxes(v) for k, v in check.items() if k not in ("auto_read", "auto_accept")
        }
    if isinstance(check, list):
        return [without_boxes(part) for part in check]
    return check


@pytest.mark.parametrize("experiment", sorted(BOXES))
async def test_it_reaches_a_step_naming_a_box_only_with_the_box_ticked(registry, experiment):
    first = yaml.safe_load((EXPERIMENTS / f"{experiment}.yaml").read_text())["steps"][0]
    for ticked in (False, True):
        key = await new_session(learner=None)
        tab = await Tab.open(key)
        await BOXES[experiment](tab, ticked)
        # The sockets are there, box or not: only the box decides.
        loose = [{**first, "check": without_boxes(first["check"])}]
        assert graded(registry, key, loose).complete
        started = await tab.command(op="experiment.start", experiment=experiment)
        assert started["done"] == (1 if ticked else 0), f"box ticked: {ticked}"
        assert graded(registry, key, [first]).complete is ticked
        await tab.close()


def graded(registry, key: str, steps: list[dict]):
    """A lab question's grade, as lessons grade it: the live sandbox's journal, replayed."""
    return replay(steps, registry.inspect(key)["journal"])


REFUSED_THEN_FIXED = [
    {"text": "Get ECONNREFUSED.", "check": {"error": "ECONNREFUSED", "op": "tcp.connect"}},
    {"text": "Then fix it: connect again.", "check": {"ok": "tcp.connect"}},
]
CLOSE_WAIT = [
    {
        "text": "Make the server's socket reach CLOSE_WAIT.",
        "check": {"socket": {"device": "server", "role": "accepted", "state": "CLOSE_WAIT"}},
    }
]


async def connect(tab: Tab, port: int = 3000) -> tuple[dict, dict]:
    """A new connection to a server port: its client row and its accepted row."""
    to = {"device": "server", "port": port}
    client = (await tab.command(op="tcp.connect", device="laptop", to=to))["socket"]
    return client, await tab.socket(role="accepted", remote=client["local"])


async def test_it_grades_a_lab_right_only_when_the_kernel_state_really_occurred(registry):
    key = await new_session()
    tab = await Tab.open(key)
    await tab.command(op="tcp.listen", device="server", port=3000)
    client, accepted = await connect(tab)
    # Connected before anything was refused: not "refused, then fixed".
    result = graded(registry, key, REFUSED_THEN_FIXED)
    assert (result.reached, result.complete) == (0, False)
    assert result.missing == "Step 1 needs an ECONNREFUSED error answering tcp.connect."
    assert not graded(registry, key, CLOSE_WAIT).complete
    # The server half closes: CLOSE_WAIT is the laptop's, not the server's.
    await tab.command(op="shutdown", socket=accepted["id"])
    await tab.socket(id=client["id"], state="CLOSE_WAIT", state_source="kernel")
    assert not graded(registry, key, CLOSE_WAIT).complete
    # The laptop half closes a new connection: the kernel moves the server's end there.
    client, accepted = await connect(tab)
    await tab.command(op="shutdown", socket=client["id"])
    await tab.socket(id=accepted["id"], state="CLOSE_WAIT", state_source="kernel")
    result = graded(registry, key, CLOSE_WAIT)
    assert result.complete
    assert result.found == [
        f"Step 1: socket {accepted['id']}, a TCP accepted socket on server port 3000 connected "
        f"to laptop port {client['local']['port']}, in state CLOSE_WAIT."
    ]
    # Refused, then fixed (on another port: the kernel still keeps 3000's connections).
    await tab.command(op="reset")
    refused = await tab.command(
        op="tcp.connect", device="laptop", to={"device": "server", "port": 4000}
    )
    assert refused["code"] == "ECONNREFUSED"
    assert graded(registry, key, REFUSED_THEN_FIXED).reached == 1
    await tab.command(op="tcp.listen", device="server", port=4000)
    await connect(tab, 4000)
    result = graded(registry, key, REFUSED_THEN_FIXED)
    assert result.complete
    assert result.found == [
        "Step 1: tcp.connect was answered ECONNREFUSED.",
        "Step 2: tcp.connect succeeded.",
    ]
    inspected = registry.inspect(key)
    assert inspected["kernel_states"] is True
    assert {s["role"] for s in inspected["sockets"]} >= {"listener", "client", "accepted"}
    assert registry.inspect("no-such-session") is None
    await tab.close()


async def test_it_keeps_the_journal_bounded_under_a_flood_of_commands(tmp_path):
    limits = Limits(commands_per_second=1e6, command_burst=10**6)
    registry = Registry(limits, replace(test_config(), lock_file=str(tmp_path / "lock")))
    try:
        events = Events()
        attachment = await LocalEngine(registry).attach(Client("k", ""), events)
        await attachment.frame(json.dumps({"op": "tcp.listen", "device": "server", "port": 3000}))
        flood = json.dumps({"op": "send", "socket": "s99", "data": "x"})
        for _ in range(5 * JOURNAL_ENTRIES):
            await attachment.frame(flood)
        journal = registry.inspect("k")["journal"]
        assert len(journal) == JOURNAL_ENTRIES + 1  # the table it starts from, and the entries
        assert [row["role"] for row in journal[0]["table"]] == ["listener"]
        assert len(json.dumps(journal)) < 32 * 1024
        listening = [{"text": "Listen.", "check": {"socket": {"role": "listener"}}}]
        assert replay(listening, journal).complete
    finally:
        await registry.aclose()


class BlockedHooks(FileHooks):
    """A catalogue that comes only when let."""

    def __init__(self):
        super().__init__()
        self.let = asyncio.Event()

    async def catalogue(self) -> list[dict]:
        await self.let.wait()
        return await super().catalogue()


async def test_it_lists_the_experiments_only_once_loaded_and_frees_a_sandbox_nobody_waits_for(
    tmp_path,
):
    hooks = BlockedHooks()
    config = replace(test_config(), lock_file=str(tmp_path / "lock"))
    registry = Registry(Limits(grace_period=0.05), config, hooks)
    try:
        engine = LocalEngine(registry)
        waiting = asyncio.ensure_future(engine.attach(Client("gone", ""), Events()))
        while registry.get("gone") is None:
            await asyncio.sleep(0)  # yields to the attach; no time passes
        waiting.cancel()  # the visitor left while the catalogue was loading
        await asyncio.gather(waiting, return_exceptions=True)
        await registry.wait_gone("gone")  # its grace period ran out
        assert registry.quotas.websockets == {} and registry.quotas.sandboxes == {}
        second = asyncio.ensure_future(engine.attach(Client("kept", ""), Events()))
        while registry.get("kept") is None:
            await asyncio.sleep(0)
        assert not second.done()
        hooks.let.set()
        hello = (await second).hello_events[0]
        ids = [e["id"] for e in hello["experiments"]]
        assert ids == [
            "port-before-socket",
            "connection-refused",
            "same-port-tcp-udp",
            "three-sockets",
            "two-clients",
            "udp-no-connection",
            "udp-connect-refused",
            "ports-stay",
            "byte-stream",
            "half-close",
            "handshake-packets",
            "accept-queue-full",
            "data-and-ack",
            "who-waits",
            "reset-connection",
        ]
        assert hello["experiments"][1] == {
            "id": "connection-refused",
            "title": "Connection refused: a port with no socket",
            "lesson": "ports",
            "teaches": "ports#a-port-with-nothing-at-it",
            "steps": [
                "Start from a clean sandbox: if a socket of an earlier experiment is at server "
                "port 3000, press Reset sandbox. A row that stays there in TIME_WAIT, with a "
                "countdown, is kept by the kernel and holds the port until the countdown ends: "
                "wait for it to go.",
                "Connect from laptop to server port 3000.",
                "Listen on server port 3000.",
                "Connect from laptop to server port 3000 again.",
            ],
            # The question and its choices, never the answer nor the explanation.
            "predict": [
                None,
                {
                    "prompt": "Nothing listens at server port 3000. What will connect() return?",
                    "choices": [
                        "It connects",
                        "ECONNREFUSED",
                        "It waits until a program listens there",
                        "EADDRINUSE",
                    ],
                },
                None,
                None,
            ],
            "pick": [None, None, None, None],
        }
    finally:
        await registry.aclose()
