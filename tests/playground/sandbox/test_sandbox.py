"""The sandbox engine with real sockets and the real kernel table; no Django."""

import pytest

from playground.wire.errors import SandboxError
from playground.wire.limits import Limits
from tests.support.playground_helpers import Engine, row_is


@pytest.fixture
async def plain_engine(tmp_path):
    """An engine without sock_diag, as on a machine where it is missing."""
    engine = await Engine(tmp_path / "addresses.lock", kernel=False).open()
    yield engine
    await engine.aclose()


async def connected(sandbox, events, port=3000):
    listener = await sandbox.tcp_listen("server", port)
    client = await sandbox.tcp_connect("laptop", "server", port)
    accepted_event = await events.wait_for(
        lambda e: e["type"] == "socket" and e["socket"]["role"] == "accepted"
    )
    return listener, client, sandbox.sockets[accepted_event["socket"]["id"]]


async def test_it_gives_each_device_its_own_loopback_address(engine):
    sandbox, _ = engine.sandbox()
    other, _ = engine.sandbox()
    ips = [*sandbox.devices.values(), *other.devices.values()]
    assert len(set(ips)) == 4
    assert all(ip.startswith("127.78.") and ip != "127.0.0.1" for ip in ips)


async def test_it_shows_three_sockets_and_their_5_tuples_for_one_connection(engine):
    sandbox, events = engine.sandbox()
    laptop, server = sandbox.devices["laptop"], sandbox.devices["server"]
    listener, client, accepted = await connected(sandbox, events)
    assert listener.row()["local"] == {"ip": server, "port": 3000}
    assert listener.row()["remote"] is None
    client_port = client.local[1]
    assert client.row()["local"] == {"ip": laptop, "port": client_port}
    assert client.row()["remote"] == {"ip": server, "port": 3000}
    assert accepted.row()["local"] == {"ip": server, "port": 3000}
    assert accepted.row()["remote"] == {"ip": laptop, "port": client_port}
    assert accepted.listener == listener.id
    await events.wait_for(row_is(listener.id, state="LISTEN", state_source="kernel"))
    await events.wait_for(row_is(client.id, state="ESTABLISHED", state_source="kernel"))
    await events.wait_for(row_is(accepted.id, state="ESTABLISHED", state_source="kernel"))


async def test_it_delivers_text_both_ways_and_counts_bytes(engine):
    sandbox, events = engine.sandbox()
    _, client, accepted = await connected(sandbox, events)
    assert await sandbox.send(client.id, "hello") == 5
    got = await events.wait_for(lambda e: e["type"] == "data" and e["socket"] == accepted.id)
    assert got["data"] == "hello"
    await sandbox.send(accepted.id, "héllo back")
    got = await events.wait_for(lambda e: e["type"] == "data" and e["socket"] == client.id)
    assert got["data"] == "héllo back" and got["bytes"] == len("héllo back".encode())
    assert (client.bytes_sent, client.bytes_received) == (5, 11)
    assert (accepted.bytes_sent, accepted.bytes_received) == (11, 5)


async def test_it_half_closes_and_shows_close_wait_on_the_other_side(engine):
    sandbox, events = engine.sandbox()
    _, client, accepted = await connected(sandbox, events)
    await sandbox.shutdown(client.id)
    eof = await events.wait_for(lambda e: e["type"] == "data" and e.get("eof"))
    assert eof["socket"] == accepted.id
    await events.wait_for(row_is(accepted.id, state="CLOSE_WAIT", state_source="kernel"))
    await events.wait_for(row_is(client.id, state="FIN_WAIT2", state_source="kernel"))
    # the half-closed side can still receive
    await sandbox.send(accepted.id, "still here")
    got = await events.wait_for(lambda e: e["type"] == "data" and e["socket"] == client.id)
    assert got["data"] == "still here"
    with pytest.raises(SandboxError) as error:
        await sandbox.send(client.id, "more")
    assert error.value.code == "EPIPE"


# Waits out Linux's 60 s TIME_WAIT; test_kernel_view.py checks the same rules on hand-built rows.
@pytest.mark.slow
async def test_it_keeps_closed_sockets_the_kernel_still_holds_until_it_drops_them(engine):
    sandbox, events = engine.sandbox()
    _, client, accepted = await connected(sandbox, events)
    # A second connection whose client only shuts down: its program keeps the socket.
    held = await sandbox.tcp_connect("laptop", "server", 3000)
    held_peer = await events.wait_for(
        lambda e: (
            e["type"] == "socket"
            and e["socket"]["role"] == "accepted"
            and e["socket"]["id"] != accepted.id
        )
    )
    await sandbox.close(client.id)  # active close: this side ends in TIME_WAIT
    await events.wait_for(row_is(client.id, state="FIN_WAIT2", closed_by_program=True))
    await sandbox.close(accepted.id)
    await events.wait_for(row_is(client.id, state="TIME_WAIT", closed_by_program=True))
    gone = await events.wait_for(
        lambda e: e["type"] == "socket.gone" and e["socket"] == accepted.id
    )
    assert gone["reason"]
    ids = [row["id"] for row in sandbox.snapshot()]
    assert client.id in ids and accepted.id not in ids
    # Shut down first, then the peer closes: the connection is in TIME_WAIT although
    # the program still holds its socket (the kernel keeps it in a record of its own).
    await sandbox.shutdown(held.id)
    await events.wait_for(row_is(held.id, state="FIN_WAIT2"))
    await sandbox.close(held_peer["socket"]["id"])
    await events.wait_for(row_is(held.id, state="TIME_WAIT", closed_by_program=False))
    # Linux keeps TIME_WAIT for 60 s; then the closed socket's row must go by itself,
    # and the socket its program still holds is CLOSE, in no table of the kernel's.
    gone = await events.wait_for(
        lambda e: e["type"] == "socket.gone" and e["socket"] == client.id, timeout=90
    )
    assert "TIME_WAIT" in gone["reason"]
    await events.wait_for(row_is(held.id, state="CLOSE", closed_by_program=False), timeout=30)


async def test_it_sends_udp_datagrams_without_a_connection(engine):
    sandbox, events = engine.sandbox()
    sender = await sandbox.udp_bind("laptop", 0)
    receiver = await sandbox.udp_bind("server", 5353)
    assert sender.row()["remote"] is None and sender.state == "UNCONN"
    await sandbox.udp_sendto(sender.id, "server", 5353, "ping")
    got = await events.wait_for(lambda e: e["type"] == "data" and e["socket"] == receiver.id)
    assert got["data"] == "ping"
    assert got["from"] == {
        "device": "laptop",
        "ip": sandbox.devices["laptop"],
        "port": sender.local[1],
    }
    await events.wait_for(row_is(receiver.id, state="UNCONN", state_source="kernel"))


async def test_it_explains_eaddrinuse(engine):
    sandbox, _ = engine.sandbox()
    listener = await sandbox.tcp_listen("server", 3000)
    with pytest.raises(SandboxError) as error:
        await sandbox.tcp_listen("server", 3000)
    assert error.value.code == "EADDRINUSE"
    assert listener.id in error.value.message
    assert "only if both set the SO_REUSEPORT option" in error.value.message
    # the same port on the other device is another address: fine
    await sandbox.tcp_listen("laptop", 3000)


async def server_closes_first(sandbox, events, port, reuse):
    listener = await sandbox.tcp_listen("server", port, reuse_address=reuse)
    client = await sandbox.tcp_connect("laptop", "server", port)
    accepted = await events.wait_for(
        lambda e: (
            e["type"] == "socket"
            and e["socket"]["role"] == "accepted"
            and e["socket"]["local"]["port"] == port
        )
    )
    await sandbox.close(accepted["socket"]["id"])  # the server side closes first: it waits
    await sandbox.close(client.id)
    await events.wait_for(row_is(accepted["socket"]["id"], state="TIME_WAIT"))
    await sandbox.close(listener.id)


async def test_it_explains_eaddrinuse_caused_by_time_wait(engine):
    sandbox, events = engine.sandbox()
    await server_closes_first(sandbox, events, 3000, reuse=False)
    with pytest.raises(SandboxError) as error:
        await sandbox.tcp_listen("server", 3000)
    assert error.value.code == "EADDRINUSE"
    assert "TIME_WAIT" in error.value.message and "SO_REUSEADDR" in error.value.message
    # A server that set SO_REUSEADDR from the start may listen again at once.
    await server_closes_first(sandbox, events, 3001, reuse=True)
    again = await sandbox.tcp_listen("server", 3001, reuse_address=True)
    assert again.state == "LISTEN"


async def test_it_explains_econnrefused(engine):
    sandbox, _ = engine.sandbox()
    with pytest.raises(SandboxError) as error:
        await sandbox.tcp_connect("laptop", "server", 4000)
    assert error.value.code == "ECONNREFUSED"
    assert "nothing is listening" in error.value.message


async def test_it_gives_an_ephemeral_port_for_port_zero(engine):
    sandbox, _ = engine.sandbox()
    listener = await sandbox.tcp_listen("server", 0)
    assert listener.local[1] >= 1024


async def test_it_keeps_only_the_newest_received_data_and_counts_the_rest(engine):
    sandbox, events = engine.sandbox(Limits(received_kept_bytes=10))
    _, client, accepted = await connected(sandbox, events)
    for chunk in ("0123456789", "abcdefghij", "KLMNO"):
        await sandbox.send(client.id, chunk)
    await events.wait_for(row_is(accepted.id, bytes_received=25))
    assert bytes(accepted.received) == b"fghijKLMNO"
    assert accepted.received_dropped == 15
    assert sandbox.kept_data() == [{"socket": accepted.id, "data": "fghijKLMNO"}]


async def test_it_reports_the_states_it_knows_without_sock_diag(plain_engine):
    sandbox, events = plain_engine.sandbox()
    assert sandbox.kernel_states is False
    listener, client, accepted = await connected(sandbox, events)
    assert (listener.state, client.state, accepted.state) == (
        "LISTEN",
        "ESTABLISHED",
        "ESTABLISHED",
    )
    await sandbox.shutdown(client.id)
    await events.wait_for(row_is(accepted.id, state="CLOSE_WAIT", state_source="engine"))
    await sandbox.close(client.id)
    await events.wait_for(lambda e: e["type"] == "socket.gone" and e["socket"] == client.id)
