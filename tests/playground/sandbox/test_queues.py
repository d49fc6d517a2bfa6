"""The kernel's queues, shown as they are: reading only when told (`recv`), the accept
queue (`backlog`, `accept`) and connected UDP sockets (`udp.connect`). Real sockets, the
real kernel table; the UDP cases in the playground's own network namespace, where a
datagram may go to a port of the sandbox's own devices that no socket holds."""

import asyncio
import select
import socket

import pytest

from playground.sandbox.registry import Registry
from playground.wire.errors import SandboxError
from playground.wire.limits import EngineConfig, Limits
from tests.support.consumer_helpers import command, new_session, open_ws
from tests.support.playground_helpers import TEST_RANGE, Events, row_is


@pytest.fixture
async def registry_here(tmp_path):
    """A registry whose sandboxes live in the playground's own network namespace."""
    registry = Registry(
        Limits(), EngineConfig(address_range=TEST_RANGE, lock_file=str(tmp_path / "lock"))
    )
    yield registry
    await registry.aclose()


async def own_network_sandbox(registry):
    events = Events()
    sandbox = await registry.attach("visitor", events)
    assert sandbox.own_network, registry.namespace_note
    return sandbox, events


async def refused(coro, code):
    with pytest.raises(SandboxError) as error:
        await coro
    assert error.value.code == code, error.value.message
    return error.value


def data_of(events, socket_id):
    return [e for e in events.items if e["type"] == "data" and e["socket"] == socket_id]


async def accepted_of(events):
    event = await events.wait_for(
        lambda e: e["type"] == "socket" and e["socket"]["role"] == "accepted"
    )
    return event["socket"]["id"]


# Reading only when told --------------------------------------------------------------


async def test_it_returns_two_sends_from_one_recv(engine):
    sandbox, events = engine.sandbox()
    await sandbox.tcp_listen("server", 3000, auto_read=False)
    client = await sandbox.tcp_connect("laptop", "server", 3000)
    accepted = await accepted_of(events)
    await sandbox.send(client.id, "hello")
    await sandbox.send(client.id, "world")
    # Both sends wait in the kernel's receive queue: nothing was read yet.
    await events.wait_for(row_is(accepted, recv_queue=10, state_source="kernel"))
    assert data_of(events, accepted) == []
    assert await sandbox.recv(accepted) == 10
    (got,) = data_of(events, accepted)
    assert (got["data"], got["bytes"]) == ("helloworld", 10)
    await events.wait_for(row_is(accepted, recv_queue=0, bytes_received=10))


async def test_it_grows_the_recv_queue_of_a_socket_that_reads_only_when_told(engine):
    sandbox, events = engine.sandbox()
    await sandbox.tcp_listen("server", 3000)
    client = await sandbox.tcp_connect("laptop", "server", 3000, auto_read=False)
    assert client.row()["auto_read"] is False
    accepted = await accepted_of(events)
    for size in (3, 6, 9):
        await sandbox.send(accepted, "abc")
        await events.wait_for(row_is(client.id, recv_queue=size, state_source="kernel"))
    # The peer's end of the stream waits behind the data, as recv() meets it.
    await sandbox.shutdown(accepted)
    await events.wait_for(row_is(client.id, state="CLOSE_WAIT"))
    assert not client.peer_finished
    assert await sandbox.recv(client.id) == 9
    assert await sandbox.recv(client.id) == 0
    assert [e.get("eof", False) for e in data_of(events, client.id)] == [False, True]
    assert client.peer_finished


async def test_it_answers_recv_with_eagain_when_nothing_is_there_to_read(engine):
    sandbox, events = engine.sandbox()
    listener = await sandbox.tcp_listen("server", 3000, auto_read=False)
    client = await sandbox.tcp_connect("laptop", "server", 3000)
    accepted = await accepted_of(events)
    error = await refused(sandbox.recv(accepted), "EAGAIN")
    assert "Recv-Q is 0" in error.message
    # A socket that reads by itself has nothing waiting for recv.
    error = await refused(sandbox.recv(client.id), "EAGAIN")
    assert "auto_read" in error.message
    await refused(sandbox.recv(listener.id), "not_connected")
    # What arrives next is still there for the next recv.
    await sandbox.send(client.id, "late")
    await events.wait_for(row_is(accepted, recv_queue=4, state_source="kernel"))
    assert await sandbox.recv(accepted) == 4


# The accept queue ---------------------------------------------------------------------


async def test_it_leaves_a_client_in_syn_sent_while_the_accept_queue_is_full(engine):
    sandbox, events = engine.sandbox()
    listener = await sandbox.tcp_listen("server", 3000, backlog=1, auto_accept=False)
    assert listener.row()["auto_accept"] is False
    first = await sandbox.tcp_connect("laptop", "server", 3000)
    second = await sandbox.tcp_connect("laptop", "server", 3000)
    third = await sandbox.tcp_connect("laptop", "server", 3000)
    # listen(1) keeps two completed connections; the third SYN is dropped: it waits.
    assert (first.state, second.state, third.state) == ("ESTABLISHED", "ESTABLISHED", "SYN_SENT")
    await events.wait_for(row_is(listener.id, recv_queue=2, send_queue=1, state_source="kernel"))
    await events.wait_for(row_is(third.id, state="SYN_SENT", state_source="kernel"))
    assert not [
        e for e in events.items if e["type"] == "socket" and e["socket"]["role"] == "accepted"
    ]
    # accept() takes the oldest; the place it frees lets the next SYN (sent again) in.
    accepted = await sandbox.accept(listener.id)
    assert accepted.role == "accepted" and accepted.listener == listener.id
    assert accepted.remote == first.local
    await events.wait_for(row_is(third.id, state="ESTABLISHED"))
    assert (await sandbox.accept(listener.id)).remote == second.local
    assert (await sandbox.accept(listener.id)).remote == third.local
    error = await refused(sandbox.accept(listener.id), "EAGAIN")
    assert "Recv-Q is 0" in error.message
    await refused(sandbox.accept(first.id), "not_listening")


async def test_it_gives_up_on_a_syn_nobody_answers_after_syn_retries(engine):
    sandbox, events = engine.sandbox(Limits(syn_retries=1))
    listener = await sandbox.tcp_listen("server", 3000, backlog=0, auto_accept=False)
    await sandbox.tcp_connect("laptop", "server", 3000)
    waiting = await sandbox.tcp_connect("laptop", "server", 3000)
    assert waiting.state == "SYN_SENT"
    # It cannot send yet, and the kernel keeps its SYN going: one retry, then ETIMEDOUT.
    await refused(sandbox.send(waiting.id, "hi"), "not_connected")
    gone = await events.wait_for(lambda e: e["type"] == "socket.gone" and e["socket"] == waiting.id)
    assert gone["reason"].startswith("ETIMEDOUT")
    assert listener.id in sandbox.sockets


async def test_it_closes_a_client_still_waiting_in_syn_sent(engine):
    sandbox, events = engine.sandbox()
    await sandbox.tcp_listen("server", 3000, backlog=0, auto_accept=False)
    await sandbox.tcp_connect("laptop", "server", 3000)
    waiting = await sandbox.tcp_connect("laptop", "server", 3000)
    await sandbox.close(waiting.id)
    gone = await events.wait_for(lambda e: e["type"] == "socket.gone" and e["socket"] == waiting.id)
    assert gone["reason"] == "closed"
    await events.wait_for(lambda e: e["type"] == "socket" and e["socket"]["id"] != waiting.id)
    assert waiting.id not in [row["id"] for row in sandbox.snapshot()]


async def test_it_leaves_no_live_connection_behind_a_close_as_its_handshake_ends(engine):
    sandbox, events = engine.sandbox()
    listener = await sandbox.tcp_listen("server", 3000, backlog=0, auto_accept=False)
    await sandbox.tcp_connect("laptop", "server", 3000)
    waiting = await sandbox.tcp_connect("laptop", "server", 3000)
    await asyncio.sleep(0)  # its task starts waiting for the kernel's connect()
    handshake = waiting.connecting._fut_waiter  # asyncio's record of what a task waits on
    # The close (what the `close` op runs) comes in the loop iteration where the connect
    # is answered: after the socket's task resumes, before its transport is wired up, as
    # another tab's command can.
    handshake.add_done_callback(lambda _: sandbox._close(waiting))
    await sandbox.accept(listener.id)  # a place in the queue: the SYN sent again gets in
    gone = await events.wait_for(lambda e: e["type"] == "socket.gone" and e["socket"] == waiting.id)
    assert gone["reason"] == "closed"
    await asyncio.wait({waiting.connecting or handshake})
    assert waiting.id not in sandbox.sockets
    assert waiting.transport is None or waiting.transport.is_closing()


async def test_it_refuses_a_backlog_beyond_its_limit(engine):
    sandbox, _ = engine.sandbox(Limits(listen_backlog=4))
    error = await refused(sandbox.tcp_listen("server", 3000, backlog=5), "limit_listen_backlog")
    assert error.extra["limit"] == "listen_backlog"
    await refused(sandbox.tcp_listen("server", 3000, backlog=-1), "limit_listen_backlog")
    assert (await sandbox.tcp_listen("server", 3000, backlog=4)).state == "LISTEN"


# Connected UDP ------------------------------------------------------------------------


async def test_it_reports_econnrefused_on_the_next_send_of_a_connected_udp_socket(registry_here):
    sandbox, events = await own_network_sandbox(registry_here)
    udp = await sandbox.udp_bind("laptop", 0, auto_read=False)
    await sandbox.udp_connect(udp.id, "server", 9999)  # where no socket is bound
    assert udp.row()["remote"] == {"ip": sandbox.devices["server"], "port": 9999}
    await events.wait_for(row_is(udp.id, state="ESTABLISHED", state_source="kernel"))
    assert await sandbox.send(udp.id, "hi") == 2
    # The kernel's ICMP "port unreachable" waits on the socket for its next call.
    error = await refused(sandbox.send(udp.id, "hi"), "ECONNREFUSED")
    assert error.extra["errno"] == 111 and "ICMP" in error.message
    assert udp.bytes_sent == 2
    # Reported once: the send after it goes out again (and is refused again later).
    assert await sandbox.send(udp.id, "hi") == 2
    await refused(sandbox.recv(udp.id), "ECONNREFUSED")


async def test_it_shows_the_error_a_connected_udp_socket_that_reads_by_itself_meets(
    registry_here,
):
    sandbox, events = await own_network_sandbox(registry_here)
    udp = await sandbox.udp_bind("laptop", 0)
    await sandbox.udp_connect(udp.id, "server", 9999)
    await sandbox.send(udp.id, "hi")
    # The program's own read met it first: an error event that names the socket.
    error = await events.wait_for(lambda e: e["type"] == "error")
    assert error == {**error, "ref": None, "code": "ECONNREFUSED", "socket": udp.id}


async def test_it_drops_datagrams_from_other_sources_on_a_connected_udp_socket(registry_here):
    sandbox, events = await own_network_sandbox(registry_here)
    peer = await sandbox.udp_bind("server", 5353)
    other = await sandbox.udp_bind("server", 5354)
    udp = await sandbox.udp_bind("laptop", 4000)
    await sandbox.udp_connect(udp.id, "server", 5353)
    await sandbox.udp_sendto(other.id, "laptop", 4000, "from a stranger")
    await sandbox.udp_sendto(peer.id, "laptop", 4000, "from the peer")
    got = await events.wait_for(lambda e: e["type"] == "data" and e["socket"] == udp.id)
    assert got["data"] == "from the peer" and got["from"]["port"] == 5353
    assert [e["data"] for e in data_of(events, udp.id)] == ["from the peer"]
    # Its own datagrams go to its peer.
    await sandbox.send(udp.id, "back")
    got = await events.wait_for(lambda e: e["type"] == "data" and e["socket"] == peer.id)
    assert got["data"] == "back"


async def test_it_lets_an_unconnected_socket_send_to_a_port_with_no_receiver_and_hear_nothing(
    registry_here,
):
    sandbox, events = await own_network_sandbox(registry_here)
    sender = await sandbox.udp_bind("laptop", 0, auto_read=False)
    receiver = await sandbox.udp_bind("server", 5353, auto_read=False)
    assert await sandbox.udp_sendto(sender.id, "server", 9999, "lost") == 4
    assert await sandbox.udp_sendto(sender.id, "server", 9999, "lost") == 4
    # One datagram per recv, in order; the unconnected sender was never told.
    for text in ("one", "two"):
        await sandbox.udp_sendto(sender.id, "server", 5353, text)
    # (A UDP socket's Recv-Q counts the kernel's memory for the datagrams, not bytes.)
    await events.wait_for(
        lambda e: (
            e["type"] == "socket"
            and e["socket"]["id"] == receiver.id
            and e["socket"]["recv_queue"] > 0
        )
    )
    assert await sandbox.recv(receiver.id) == 3
    assert await sandbox.recv(receiver.id) == 3
    assert [e["data"] for e in data_of(events, receiver.id)] == ["one", "two"]
    await refused(sandbox.recv(sender.id), "EAGAIN")
    assert not [e for e in events.items if e["type"] == "error"]


async def test_it_keeps_refusing_datagrams_to_unheld_ports_where_it_shares_the_hosts_network(
    engine,
):
    sandbox, _ = engine.sandbox()
    assert not sandbox.own_network
    udp = await sandbox.udp_bind("laptop", 0)
    await refused(sandbox.udp_connect(udp.id, "server", 9999), "no_receiver")
    await refused(sandbox.udp_sendto(udp.id, "server", 9999, "hi"), "no_receiver")
    receiver = await sandbox.udp_bind("server", 5353)
    await sandbox.udp_connect(udp.id, "server", 5353)
    await sandbox.close(receiver.id)
    await refused(sandbox.send(udp.id, "hi"), "no_receiver")


# Through the WebSocket ---------------------------------------------------------------

BAD = [
    (
        {"op": "tcp.listen", "device": "server", "port": 3000, "backlog": 1000},
        "limit_listen_backlog",
    ),
    ({"op": "tcp.listen", "device": "server", "port": 3000, "backlog": "1"}, "wrong_type"),
    ({"op": "tcp.listen", "device": "server", "port": 3000, "auto_accept": "no"}, "wrong_type"),
    (
        {
            "op": "tcp.connect",
            "device": "laptop",
            "to": {"device": "server", "port": 3000},
            "auto_read": 0,
        },
        "wrong_type",
    ),
    ({"op": "accept"}, "missing_field"),
    ({"op": "accept", "socket": 1}, "wrong_type"),
    ({"op": "accept", "socket": "s99"}, "unknown_socket"),
    ({"op": "recv", "socket": "s99"}, "unknown_socket"),
    (
        {"op": "udp.connect", "socket": "s99", "to": {"device": "server", "port": 9}},
        "unknown_socket",
    ),
    ({"op": "udp.connect", "socket": "s1", "to": "server:9999"}, "wrong_type"),
    (
        {"op": "udp.connect", "socket": "s1", "to": {"device": "server", "port": 9999}},
        "wrong_protocol",
    ),
    ({"op": "udp.connect", "socket": "s2", "to": {"device": "server", "port": 0}}, "bad_port"),
    (
        {"op": "udp.connect", "socket": "s2", "to": {"device": "8.8.8.8", "port": 53}},
        "unknown_device",
    ),
    ({"op": "accept", "socket": "s2"}, "not_listening"),
    ({"op": "accept", "socket": "s1"}, "EAGAIN"),
    ({"op": "recv", "socket": "s1"}, "not_connected"),
    ({"op": "recv", "socket": "s2"}, "EAGAIN"),
    ({"op": "send", "socket": "s2", "data": "hi"}, "wrong_protocol"),
]


@pytest.mark.django_db(transaction=True)
async def test_it_answers_bad_input_to_the_new_ops_and_goes_on(registry):
    ws = await open_ws(await new_session())
    await ws.receive_json_from()
    listener = await command(ws, op="tcp.listen", device="server", port=3000, auto_accept=False)
    assert listener["socket"]["id"] == "s1" and listener["socket"]["auto_accept"] is False
    udp = await command(ws, op="udp.bind", device="laptop", port=0, auto_read=False)
    assert udp["socket"]["id"] == "s2" and udp["socket"]["auto_read"] is False
    for message, code in BAD:
        answer = await command(ws, **message)
        assert (answer["type"], answer["code"]) == ("error", code), (message, answer)
    client = await command(
        ws, op="tcp.connect", device="laptop", to={"device": "server", "port": 3000}
    )
    assert client["type"] == "ok" and client["socket"]["state"] == "ESTABLISHED"
    accepted = await command(ws, op="accept", socket="s1")
    assert accepted["socket"]["role"] == "accepted" and accepted["socket"]["listener"] == "s1"
    await ws.disconnect()


async def test_it_lets_no_datagram_to_an_unheld_port_reach_a_host_service(registry_here):
    """Rule 2's exception holds only where nothing but sandboxes lives: a service of the
    host on 0.0.0.0 at that very port hears nothing."""
    sandbox, events = await own_network_sandbox(registry_here)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as service:
        service.bind(("0.0.0.0", 0))  # noqa: S104 - the attack needs a wildcard service
        port = service.getsockname()[1]
        sender = await sandbox.udp_bind("laptop", 0)
        await sandbox.udp_connect(sender.id, "server", port)
        await sandbox.send(sender.id, "to the host?")
        # The kernel answered at once, before the event loop's own read: this call has it.
        await refused(sandbox.udp_sendto(sender.id, "server", port, "to the host?"), "ECONNREFUSED")
        await sandbox.udp_sendto(sender.id, "server", port, "to the host?")
        # The sandbox's own answer (ICMP) came back, so the datagrams were delivered.
        await events.wait_for(lambda e: e["type"] == "error" and e.get("socket") == sender.id)
        readable, _, _ = select.select([service], [], [], 0)
        assert not readable


async def test_it_refuses_a_send_the_kernel_cannot_take_instead_of_keeping_it(engine):
    sandbox, events = engine.sandbox()
    await sandbox.tcp_listen("server", 3000, auto_read=False)
    client = await sandbox.tcp_connect("laptop", "server", 3000)
    accepted = await accepted_of(events)
    chunk = "x" * sandbox.limits.send_bytes
    sent = 0
    while sent < 100_000:
        try:
            await sandbox.send(client.id, chunk)
        except SandboxError as error:
            assert error.code == "EAGAIN" and "Send-Q" in error.message
            break
        sent += 1
    else:
        pytest.fail("the kernel took everything")
    # The server keeps at most the one send the kernel could not take whole.
    assert client.transport.get_write_buffer_size() <= sandbox.limits.send_bytes
    assert sent > 10  # the peer's receive queue and this send queue took the rest
    await events.wait_for(
        lambda e: (
            e["type"] == "socket"
            and e["socket"]["id"] == accepted
            and e["socket"]["recv_queue"] > 0
        )
    )
