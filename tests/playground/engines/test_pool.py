"""The pool engine in one test process: placement, leases, asking the owner, drain, Redis restarts.

Two or three PoolEngines, each with a registry of its own (as two sandbox processes
would have), on a real redis-server and channels_redis's pub/sub layer; sandboxes
are real (sockets in the test address range). What only real processes can show
(SIGKILL, nginx routing, honcho) is tests/playground/engines/test_pool_live.py's.
"""

import asyncio
import contextlib
from dataclasses import replace

import pytest
import redis as sync_redis
from channels_redis.pubsub import RedisPubSubChannelLayer
from django.core.checks import run_checks

from playground import conf, engines, live
from playground.engines import Client, PoolEngine
from playground.engines.pool import names
from playground.engines.pool.placement import Placement
from playground.sandbox.registry import Registry
from playground.wire.errors import SandboxError
from playground.wire.limits import Limits
from tests.support.consumer_helpers import new_session, open_ws
from tests.support.playground_helpers import TEST_RANGE, Events
from tests.support.redis_service import RedisServer

SESSION = "a" * 32


def kind(name: str):
    return lambda event: event["type"] == name


def make_engine(redis_url: str, lock_file: str, **limits) -> PoolEngine:
    config = replace(
        conf.engine_config(), address_range=TEST_RANGE, lock_file=lock_file, redis_url=redis_url
    )
    registry = Registry(Limits(**limits), config)
    return PoolEngine(registry, layer=RedisPubSubChannelLayer(hosts=[redis_url]))


@pytest.fixture
def redis_server():
    """Redis of the test's own: each test starts from an empty placement. The clients
    the test made of it close with it, so none is closed later, by the garbage
    collector, in another test that counts the process's open files."""
    with RedisServer() as server:
        server.clients = []
        yield server
        for client in server.clients:
            client.close()


@pytest.fixture
def route(redis_server):
    """The route view's question: where a session's WebSocket goes."""
    placement = Placement(redis_server.url)
    redis_server.clients.append(placement.redis)
    return placement.route


@pytest.fixture
async def pool(redis_server, tmp_path):
    """A factory of joined sandbox processes (engines), all closed at the end."""
    made: list[PoolEngine] = []

    async def start(address: str, serve: bool = True, settled: bool = True, **limits):
        engine = make_engine(redis_server.url, str(tmp_path / "lock"), **limits)
        made.append(engine)
        if serve:
            await engine.serve(address)
        if settled:  # as a pool whose first process joined long ago (names.SETTLE_MS)
            redis_of(redis_server).set(names.SINCE, 0)
        return engine

    yield start
    for engine in made:
        with contextlib.suppress(Exception):
            await engine.aclose()
        if engine.layer is not None:
            await engine.layer.flush()


async def beat(engine: PoolEngine) -> None:
    """The process's next heartbeat, now; a first one after Redis restarted meets the
    connection Redis closed, as the heartbeat does, and the next one gets through."""
    with contextlib.suppress(sync_redis.ConnectionError):
        await engine.presence._beat()
        return
    await engine.presence._beat()


def redis_of(server) -> sync_redis.Redis:
    client = sync_redis.Redis.from_url(server.url, decode_responses=True)
    server.clients.append(client)
    return client


async def test_it_routes_a_session_to_the_least_loaded_process_and_keeps_it_there(route, pool):
    await pool("127.0.0.1:8101")
    await pool("127.0.0.1:8102")
    routes = [route(f"{n:032d}") for n in range(4)]
    assert sorted(r.address for r in routes) == ["127.0.0.1:8101"] * 2 + ["127.0.0.1:8102"] * 2
    again = route(f"{0:032d}")  # a second tab, a reload: the same owner
    assert again.address == routes[0].address and not again.lost


async def test_it_skips_a_full_process_and_says_when_none_has_room(route, pool):
    full = await pool("127.0.0.1:8101", sandboxes_per_process=1, reserved_sandboxes=0)
    assert route(SESSION).address == "127.0.0.1:8101"
    held = await full.attach(Client(SESSION, "127.0.0.1"), Events())
    await full.presence._beat()  # its next heartbeat: one sandbox, its capacity
    assert route("b" * 32) is None  # the route view answers 503
    roomy = await pool("127.0.0.1:8102", sandboxes_per_process=1, reserved_sandboxes=0)
    # Routes alone, however many (made-up sessions, say), never fill a process.
    assert all(route(f"{n:032d}").address == "127.0.0.1:8102" for n in range(5))
    assert route("c" * 32).address == "127.0.0.1:8102"
    other = await roomy.attach(Client("c" * 32, "127.0.0.1"), Events())
    await roomy.presence._beat()
    assert route("d" * 32) is None
    held.detach()
    other.detach()


async def test_it_routes_a_made_up_cookie_without_taking_a_lease(route, pool, redis_server):
    await pool("127.0.0.1:8101")
    assert (route("not a session key; DROP")).address == "127.0.0.1:8101"
    assert (route(None)).address == "127.0.0.1:8101"
    assert redis_of(redis_server).keys(names.PREFIX + "lease:*") == []


async def test_it_says_the_sandbox_was_lost_to_every_tab_when_its_process_died(
    route, pool, redis_server
):
    first = await pool("127.0.0.1:8101")
    second = await pool("127.0.0.1:8102")
    owner = route(SESSION)
    dead = first if owner.address == "127.0.0.1:8101" else second
    # What SIGKILL leaves: the process's key expires; its lease still names it.
    await dead.presence.aclose()
    redis_of(redis_server).delete(names.process_key(dead.presence.id))
    tabs = [route(SESSION) for _ in range(2)]
    assert {t.lost for t in tabs} == {"process_lost"}  # each reconnecting tab is told
    assert tabs[0].address == tabs[1].address != owner.address


async def test_it_refuses_a_new_sandbox_for_a_session_another_live_process_owns(route, pool):
    first, second = await pool("127.0.0.1:8101"), await pool("127.0.0.1:8102")
    owner = first if (route(SESSION)).address == "127.0.0.1:8101" else second
    other = second if owner is first else first
    attached = await owner.attach(Client(SESSION, "127.0.0.1"), Events())
    with pytest.raises(SandboxError) as refused:
        await other.attach(Client(SESSION, "127.0.0.1"), Events())
    assert refused.value.code == "limit_sandboxes"
    assert "another server process" in refused.value.message
    attached.detach()


async def test_it_tells_a_tab_whose_sandbox_was_lost_before_its_hello(pool):
    engine = await pool("127.0.0.1:8101")
    attachment = await engine.attach(Client(SESSION, "127.0.0.1", lost="process_lost"), Events())
    kinds = [event["type"] for event in attachment.hello_events]
    assert kinds[:2] == ["sandbox.lost", "hello"]
    assert attachment.hello_events[0]["reason"] == "process_lost"
    attachment.detach()


async def test_it_refuses_websockets_in_a_process_that_holds_no_sandboxes(pool):
    http_worker = await pool("", serve=False)  # answers routes and inspects only
    with pytest.raises(SandboxError):
        await http_worker.attach(Client(SESSION, "127.0.0.1"), Events())


async def test_it_gives_a_closed_sandboxs_lease_back(route, pool, redis_server):
    engine = await pool("127.0.0.1:8101", grace_period=0.01)
    route(SESSION)
    attachment = await engine.attach(Client(SESSION, "127.0.0.1"), Events())
    assert redis_of(redis_server).get(names.lease_key(SESSION)) == engine.presence.id
    attachment.detach()
    await engine.registry.wait_gone(SESSION)
    await asyncio.gather(*engine.presence._tasks)
    assert redis_of(redis_server).get(names.lease_key(SESSION)) is None


async def test_it_drains_telling_every_tab_and_leaving_the_pool(route, pool, redis_server):
    draining = await pool("127.0.0.1:8101")
    route(SESSION)
    tab = Events()
    attachment = await draining.attach(Client(SESSION, "127.0.0.1"), tab)
    await pool("127.0.0.1:8102")
    drained = asyncio.ensure_future(draining.drain())
    lost, closed = (
        await tab.wait_for(kind("sandbox.lost")),
        await tab.wait_for(kind("sandbox.closed")),
    )
    assert lost["reason"] == "process_stopped" and closed["limit"] == "sandbox_lost"
    attachment.detach()  # as the consumer does once it sent `sandbox.closed`
    await drained
    moved = route(SESSION)
    assert moved.address == "127.0.0.1:8102" and not moved.lost  # stopped, not lost
    assert not redis_of(redis_server).exists(names.process_key(draining.presence.id))


async def test_it_keeps_sandboxes_through_a_redis_restart_and_puts_its_placement_back(
    route, pool, redis_server
):
    engine = await pool("127.0.0.1:8101")
    route(SESSION)
    tab = Events()
    attachment = await engine.attach(Client(SESSION, "127.0.0.1"), tab)
    redis_server.stop()
    # Commands need no Redis: answered while it is away.
    await attachment.frame('{"op": "udp.bind", "device": "laptop", "port": 0, "ref": 1}')
    assert (await tab.wait_for(kind("ok")))["op"] == "udp.bind"
    redis_server.start()  # empty, as a restarted Redis without persistence is
    await beat(engine)  # the next heartbeat, come at once
    assert redis_of(redis_server).get(names.lease_key(SESSION)) == engine.presence.id
    assert (route(SESSION)).address == "127.0.0.1:8101"
    attachment.detach()


@pytest.mark.django_db(transaction=True)
async def test_it_sends_the_proxys_word_of_a_lost_sandbox_before_the_hello(pool, settings):
    settings.PLAYGROUND_ENGINE = "pool"
    engine = await pool("127.0.0.1:8101")
    engines.set_engine(engine)
    try:
        ws = await open_ws(await new_session(), (b"x-playground-lost", b"process_lost"))
        first = await ws.receive_json_from(timeout=10)
        assert first["type"] == "sandbox.lost" and first["reason"] == "process_lost"
        assert (await ws.receive_json_from(timeout=10))["type"] == "hello"
        await ws.disconnect()
    finally:
        engines.set_engine(None)


@pytest.mark.django_db
async def test_it_answers_the_proxys_route_question_only_for_a_pool(
    pool, settings, async_client, redis_server
):
    settings.PLAYGROUND_ENGINE, settings.REDIS_URL = "pool", redis_server.url
    await pool("127.0.0.1:8101")
    async_client.cookies[settings.SESSION_COOKIE_NAME] = SESSION
    answer = await async_client.get("/playground/route/")
    assert answer.status_code == 204
    assert answer["X-Playground-Owner"] == "127.0.0.1:8101"
    assert "X-Playground-Lost" not in answer
    redis_server.stop()  # Redis away: the upgrade is refused at once, said as 503
    assert (await async_client.get("/playground/route/")).status_code == 503
    redis_server.start()
    settings.PLAYGROUND_ENGINE = "local"
    assert (await async_client.get("/playground/route/")).status_code == 404


def test_it_refuses_the_pool_engine_without_redis(settings):
    settings.PLAYGROUND_ENGINE, settings.REDIS_URL = "pool", ""
    refused = [m for m in run_checks() if m.id and m.id.startswith("playground.")]
    assert [m.id for m in refused] == ["playground.E011"], refused
    assert "REDIS_URL" in refused[0].msg
    settings.REDIS_URL = "redis://127.0.0.1:6379/0"
    assert not [m for m in run_checks() if m.id in ("playground.E010", "playground.E011")]
    settings.PLAYGROUND_ENGINE = "workers"  # gone with issue 22
    assert [m.id for m in run_checks() if m.id == "playground.E010"] == ["playground.E010"]


async def test_it_grades_in_an_http_worker_that_runs_no_engine(route, pool, settings, redis_server):
    settings.PLAYGROUND_ENGINE, settings.REDIS_URL = "pool", redis_server.url
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [redis_server.url]},
        }
    }
    owner = await pool("127.0.0.1:8101")
    route(SESSION)
    tab = Events()
    attachment = await owner.attach(Client(SESSION, "127.0.0.1"), tab)
    await attachment.frame('{"op": "udp.bind", "device": "laptop", "port": 5000, "ref": 1}')
    await tab.wait_for(kind("ok"))
    assert engines.running_engine() is None  # as in a gunicorn worker: nothing built here
    seen = await live.inspect_session(SESSION)
    assert [row["local"]["port"] for row in seen["sockets"]] == [5000]
    assert engines.running_engine() is None  # and asking built none
    attachment.detach()


async def test_it_gives_the_lease_back_when_the_new_sandbox_is_refused(route, pool, redis_server):
    engine = await pool("127.0.0.1:8101", sandboxes_per_process=1, reserved_sandboxes=0)
    route(SESSION)
    first = await engine.attach(Client(SESSION, "127.0.0.1"), Events())
    other = "b" * 32
    route(other)
    with pytest.raises(SandboxError) as refused:  # the process is full
        await engine.attach(Client(other, "127.0.0.1"), Events())
    assert refused.value.extra["limit"] == "sandboxes_per_process"
    assert redis_of(redis_server).get(names.lease_key(other)) is None  # not kept 2 hours
    first.detach()


async def test_it_places_nobody_until_every_process_is_back_after_a_redis_restart(
    route, pool, redis_server
):
    first = await pool("127.0.0.1:8101")
    second = await pool("127.0.0.1:8102")
    owner = first if route(SESSION).address == "127.0.0.1:8101" else second
    other = second if owner is first else first
    attachment = await owner.attach(Client(SESSION, "127.0.0.1"), Events())
    redis_server.stop()
    redis_server.start()  # empty: no lease, no process
    # A tab asks where to go while only the other process is back; its owner comes
    # back within the settling time, so the tab still goes to its own sandbox.
    asked = asyncio.ensure_future(asyncio.to_thread(route, SESSION))
    await beat(other)
    await beat(owner)
    found = await asked
    assert found.address == owner.presence.address and not found.lost
    attachment.detach()


@pytest.mark.django_db(transaction=True)
async def test_it_closes_a_refused_pool_websocket_so_the_page_reconnects_at_once(pool, settings):
    settings.PLAYGROUND_ENGINE = "pool"
    engines.set_engine(await pool("", serve=False))  # not in the pool (yet, or any more)
    try:
        ws = await open_ws(await new_session())
        refused = await ws.receive_json_from(timeout=10)
        assert (refused["code"], refused["limit"]) == ("limit_sandboxes", "processes")
        assert (await ws.receive_output(timeout=10))["code"] == 4012
    finally:
        engines.set_engine(None)
