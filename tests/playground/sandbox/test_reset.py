"""Reset gives a sandbox that can really start over: real sockets in the playground's real
network namespace, the real kernel table, the course's own experiment files, and for the
learner's whole path the real consumer. A connection the kernel still keeps (TIME_WAIT)
is ended by the reset, so its port is free at once; where the kernel will not end it, its
row stays with the time it has left, and the experiments' first step waits for it."""

import asyncio
from dataclasses import replace

import pytest

from playground import conf
from playground.sandbox.registry import Registry
from playground.wire.errors import SandboxError
from playground.wire.limits import EngineConfig, Limits
from tests.playground.labs.test_lab import FileHooks, Tab, new_session, ports_stay
from tests.support.playground_helpers import TEST_RANGE, Events, row_is, running


@pytest.fixture
async def registry(tmp_path):
    config = EngineConfig(address_range=TEST_RANGE, lock_file=str(tmp_path / "lock"))
    registry = Registry(Limits(), config, FileHooks())
    yield registry
    await registry.aclose()


def refusing_to_end(registry: Registry) -> None:
    """The kernel of a host without CONFIG_INET_DIAG_DESTROY: it keeps TIME_WAITs."""
    registry.watcher.table.destroy = lambda ips, passes=3: False


async def time_wait_at_server_port(sandbox, tab: Events, port: int = 3000) -> tuple:
    """The server closes first, so the kernel keeps its end in TIME_WAIT at `port`; the
    program then holds nothing there. The accepted socket's row and the client's."""
    listener = await sandbox.tcp_listen("server", port)
    client = await sandbox.tcp_connect("laptop", "server", port)
    accepted = await tab.wait_for(
        lambda e: e["type"] == "socket" and e["socket"]["role"] == "accepted"
    )
    accepted = accepted["socket"]["id"]
    await sandbox.close(accepted)
    await sandbox.close(client.id)
    await sandbox.close(listener.id)
    row = await tab.wait_for(row_is(accepted, state="TIME_WAIT"))
    return row["socket"], client.id


async def test_it_frees_a_port_the_kernel_kept_in_time_wait_when_the_sandbox_is_reset(registry):
    tab = Events()
    sandbox = await registry.attach("visitor", tab)
    assert registry.kernel_states and registry.namespace
    kept, _ = await time_wait_at_server_port(sandbox, tab)
    with pytest.raises(SandboxError) as refused:
        await sandbox.tcp_listen("server", 3000)
    assert refused.value.code == "EADDRINUSE"  # what the learner met after a reset

    seen = len(tab.items)
    await sandbox.reset()

    gone = {e["socket"]: e["reason"] for e in tab.items[seen:] if e["type"] == "socket.gone"}
    assert gone.get(kept["id"]) == "ended by the reset"
    assert sandbox.snapshot() == []  # no row of the old connection is left to show
    listener = await sandbox.tcp_listen("server", 3000)  # without SO_REUSEADDR
    assert listener.state == "LISTEN"


async def test_it_shows_how_long_the_kernel_still_keeps_a_time_wait_row(registry):
    tab = Events()
    sandbox = await registry.attach("visitor", tab)
    kept, _ = await time_wait_at_server_port(sandbox, tab)
    # Linux keeps TIME_WAIT for 60 seconds (TCP_TIMEWAIT_LEN); the row says what is left.
    assert 0 < kept["expires_in"] <= 60
    listening = next(e for e in tab.items if row_is(kept["listener"], state="LISTEN")(e))
    assert listening["socket"]["expires_in"] is None
    (row,) = [r for r in sandbox.snapshot() if r["id"] == kept["id"]]
    assert 0 < row["expires_in"] <= kept["expires_in"]


async def test_it_keeps_only_the_rows_that_still_take_a_port_when_the_kernel_will_not_end_them(
    registry,
):
    tab = Events()
    sandbox = await registry.attach("visitor", tab)
    refusing_to_end(registry)
    kept, _ = await time_wait_at_server_port(sandbox, tab)
    # And a connection whose laptop closes first: the laptop's end waits in TIME_WAIT.
    await sandbox.tcp_listen("server", 3001)
    client = (await sandbox.tcp_connect("laptop", "server", 3001)).id
    await sandbox.close(client)
    await tab.wait_for(row_is(client, state="FIN_WAIT2"))
    accepted = next(s for s in sandbox.sockets.values() if s.role == "accepted")
    await sandbox.close(accepted.id)
    await tab.wait_for(row_is(client, state="TIME_WAIT"))
    seen = len(tab.items)

    await sandbox.reset()

    gone = {e["socket"]: e["reason"] for e in tab.items[seen:] if e["type"] == "socket.gone"}
    # Its ephemeral port takes nothing anyone asks for; the listener at 3001 is closed.
    assert gone[client] == "hidden by the reset" and kept["id"] not in gone
    (row,) = sandbox.snapshot()
    assert (row["id"], row["state"], row["local"]["port"]) == (kept["id"], "TIME_WAIT", 3000)
    assert 0 < row["expires_in"] <= 60  # the page counts it down
    with pytest.raises(SandboxError) as refused:
        await sandbox.tcp_listen("server", 3000)
    assert refused.value.code == "EADDRINUSE"
    assert "seconds more (its row counts down)" in refused.value.message


@pytest.mark.parametrize("experiment", ["connection-refused", "port-before-socket"])
async def test_it_ticks_the_start_over_step_only_once_the_port_is_really_free(registry, experiment):
    tab = Events()
    sandbox = await registry.attach("visitor", tab)
    refusing_to_end(registry)
    await time_wait_at_server_port(sandbox, tab)
    await sandbox.reset()

    started = sandbox.lab.start(experiment)
    assert started["done"] == 0  # the kernel still holds server port 3000

    # Where the kernel ends what it keeps, the reset frees the port and the step is done.
    del registry.watcher.table.destroy
    await sandbox.reset()
    assert sandbox.lab.progress[experiment][0] == 1
    assert (await sandbox.tcp_listen("server", 3000)).state == "LISTEN"


@pytest.mark.django_db(transaction=True)
async def test_it_lets_the_next_experiment_listen_at_once_after_a_reset_through_the_page_protocol(
    tmp_path,
):
    # The learner's path from the review: "Closed, but the port is still taken" ends with a
    # connection in TIME_WAIT at server port 3000; Reset sandbox; the next experiment.
    config = replace(conf.engine_config(), address_range=TEST_RANGE, lock_file=str(tmp_path / "l"))
    async with running(Registry(conf.limits(), config, FileHooks())):
        tab = await Tab.open(await new_session())
        script = ports_stay(tab, {})
        await tab.command(op="experiment.start", experiment="ports-stay")
        async for done in script:
            if done == 5:  # EADDRINUSE met: the old connection waits in TIME_WAIT at 3000
                break
        await script.aclose()
        assert (await tab.command(op="reset"))["type"] == "ok"
        started = await tab.command(op="experiment.start", experiment="connection-refused")
        assert started["done"] == 1  # nothing is left at server port 3000 ...
        listen = await tab.command(op="tcp.listen", device="server", port=3000)
        assert listen["type"] == "ok", listen  # ... so it can listen there again at once
        await tab.close()


async def test_it_keeps_a_discarded_sandboxs_addresses_until_its_reset_has_ended_the_kernels_rows(
    registry,
):
    # A sandbox discarded while its reset is still ending kernel-held connections at its
    # addresses must not give them to another sandbox yet: the kernel could end that
    # newcomer's connections instead.
    tab = Events()
    sandbox = await registry.attach("visitor", tab)
    addresses = set(sandbox.devices.values())
    asked, release = asyncio.Event(), asyncio.Event()

    async def ending(ips):
        asked.set()
        await release.wait()
        return True

    sandbox.end_lingering = ending
    released = []
    real_release = registry.pool.release
    registry.pool.release = lambda given: (released.extend(given), real_release(given))
    resetting = asyncio.ensure_future(sandbox.reset())
    await asked.wait()
    discarding = asyncio.ensure_future(registry.discard("visitor"))
    for _ in range(50):  # every step the discard can take without the reset's end
        await asyncio.sleep(0)
    assert not discarding.done()
    assert released == []
    release.set()
    await discarding
    await resetting
    assert set(released) == addresses
