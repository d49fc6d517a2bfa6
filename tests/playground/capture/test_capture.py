"""Watching the packets: real sockets in the real namespace, real packets read through the
kernel's filter by the registry's packet reader; no Django."""

import asyncio
import socket
from datetime import UTC, datetime

import pytest

from playground.capture.packets import parse
from playground.engines import Client
from playground.engines.local import LocalEngine, hello_events
from playground.host.kernel import CHANGES, KernelSocket
from playground.labs.checks import replay
from playground.labs.lab import LabHooks
from playground.sandbox.flow import TokenBucket
from playground.sandbox.registry import Registry
from playground.wire import protocol
from playground.wire.errors import SandboxError
from playground.wire.limits import EngineConfig, Limits
from tests.support.playground_helpers import TEST_RANGE, Events


def config(tmp_path, **fields) -> EngineConfig:
    return EngineConfig(address_range=TEST_RANGE, lock_file=str(tmp_path / "lock"), **fields)


@pytest.fixture
async def registry(tmp_path):
    registry = Registry(Limits(), config(tmp_path))
    yield registry
    await registry.aclose()


def packets(events: Events) -> list[dict]:
    return [e for e in events.items if e["type"] == "packet"]


def is_packet(**fields):
    def predicate(event):
        return event["type"] == "packet" and all(event.get(k) == v for k, v in fields.items())

    return predicate


def summary(packet: dict) -> tuple:
    return (
        packet["from"]["device"],
        packet["flags"],
        packet["seq_relative"],
        packet["ack_relative"],
        packet["length"],
    )


async def capturing(registry: Registry, key: str = "visitor"):
    """A sandbox, and a tab of it that asked for its packets."""
    tab = Events()
    sandbox = await registry.attach(key, tab)
    assert registry.capture_available, sandbox.capture.public()["note"]
    assert sandbox.capture.want(tab, True) is True
    return sandbox, tab


async def talk(sandbox, events: Events, port: int = 3000) -> dict:
    """Listen, connect, send "hi", close both sides; waits for every packet of it."""
    listener = await sandbox.tcp_listen("server", port)
    client = await sandbox.tcp_connect("laptop", "server", port)
    accepted = (
        await events.wait_for(
            lambda e: (
                e["type"] == "socket"
                and e["socket"]["role"] == "accepted"
                and e["socket"]["remote"]["port"] == client.local[1]
            )
        )
    )["socket"]["id"]
    await sandbox.send(client.id, "hi")
    await events.wait_for(is_packet(flags=["ACK"], ack_relative=3))
    await sandbox.close(client.id)
    # The server's kernel acknowledges the FIN, at once or after its delayed-ACK timer.
    await events.wait_for(is_packet(flags=["ACK"], ack_relative=4))
    await sandbox.close(accepted)
    await events.wait_for(is_packet(flags=["ACK"], seq_relative=4))
    return {"listener": listener.id, "client": client.id, "accepted": accepted}


async def test_it_shows_the_handshake_the_data_and_the_close_of_one_connection(registry):
    sandbox, tab = await capturing(registry)
    before = datetime.now(UTC)
    ids = await talk(sandbox, tab)
    seen = packets(tab)
    assert [summary(p) for p in seen] == [
        ("laptop", ["SYN"], 0, None, 0),
        ("server", ["SYN", "ACK"], 0, 1, 0),
        ("laptop", ["ACK"], 1, 1, 0),
        ("laptop", ["PSH", "ACK"], 1, 1, 2),
        ("server", ["ACK"], 1, 3, 0),
        ("laptop", ["FIN", "ACK"], 3, 1, 0),
        ("server", ["ACK"], 1, 4, 0),
        ("server", ["FIN", "ACK"], 1, 4, 0),
        ("laptop", ["ACK"], 4, 2, 0),
    ]
    laptop, server = sandbox.devices["laptop"], sandbox.devices["server"]
    client_port = seen[0]["from"]["port"]
    for packet in seen:
        ends = {"laptop": (laptop, client_port), "server": (server, 3000)}
        for end, other in (("from", "to"), ("to", "from")):
            device = packet[end]["device"]
            assert (packet[end]["ip"], packet[end]["port"]) == ends[device]
            assert packet[other]["device"] != device
        assert packet["protocol"] == "tcp" and packet["dropped"] == 0
    assert [p["n"] for p in seen] == list(range(1, 10))
    # Absolute numbers agree with the relative ones: one initial number per direction.
    for packet in seen:
        mine = seen[0] if packet["from"]["device"] == "laptop" else seen[1]
        theirs = seen[1] if mine is seen[0] else seen[0]
        assert (packet["seq"] - mine["seq"]) % 2**32 == packet["seq_relative"]
        if packet["ack_relative"] is not None:
            assert (packet["ack"] - theirs["seq"]) % 2**32 == packet["ack_relative"]
    data = seen[3]
    assert (data["payload"], data["length"]) == ("hi", 2)
    # The kernel's own time of each packet, not when the server read it.
    times = [datetime.fromisoformat(p["time"]) for p in seen]
    assert all(before <= t <= datetime.now(UTC) for t in times)
    # Each packet names the sockets at its two ends: the client from its SYN on, the
    # listener until it has handed the connection over, then the accepted socket.
    client, listener, accepted = ids["client"], ids["listener"], ids["accepted"]
    assert seen[0]["sockets"] == [client, listener]
    assert seen[1]["sockets"] == [listener, client]
    assert seen[2]["sockets"][0] == client and seen[2]["sockets"][1] in (listener, accepted)
    assert [p["sockets"] for p in seen[3:]] == [
        [client, accepted],
        [accepted, client],
        [client, accepted],
        [accepted, client],
        [accepted, client],
        [client, accepted],
    ]


async def test_it_never_shows_a_sandbox_another_sandboxs_packets(registry):
    first, first_tab = await capturing(registry, "first")
    second, second_tab = await capturing(registry, "second")
    quiet_tab = Events()
    quiet = await registry.attach("quiet", quiet_tab)  # does not capture
    await quiet.tcp_listen("server", 3000)
    client = await quiet.tcp_connect("laptop", "server", 3000)
    await quiet.send(client.id, "not shown")
    await quiet_tab.wait_for(lambda e: e["type"] == "data" and e["data"] == "not shown")
    await asyncio.gather(
        talk(first, first_tab), talk(second, second_tab), quiet.send(client.id, "nor this")
    )
    for sandbox, tab in ((first, first_tab), (second, second_tab)):
        mine = set(sandbox.devices.values())
        seen = packets(tab)
        assert len(seen) == 9
        assert all({p["from"]["ip"], p["to"]["ip"]} == mine for p in seen)
    assert packets(quiet_tab) == []  # not watched: no packet events...
    kept = quiet.capture.kept_events()  # ...but its own packets kept, and only its own
    assert "nor this" in [p["payload"] for p in kept]
    quiet_ips = set(quiet.devices.values())
    assert all({p["from"]["ip"], p["to"]["ip"]} == quiet_ips for p in kept)


async def test_it_reads_only_the_ranges_tcp_and_udp_packets(registry):
    """The kernel's filter: traffic of the namespace outside the playground's range
    never reaches the reader."""
    sandbox, tab = await capturing(registry)
    sender = await sandbox.udp_bind("laptop", 0)
    receiver = await sandbox.udp_bind("server", 5353)
    kinds = (socket.SOCK_DGRAM, socket.SOCK_DGRAM, socket.SOCK_STREAM, socket.SOCK_STREAM)
    made = [registry.netns.socket(socket.AF_INET, kind) for kind in kinds]
    udp_a, udp_b, listener, client = made
    try:
        udp_a.bind(("127.0.0.5", 0))
        udp_b.bind(("127.0.0.6", 0))
        listener.bind(("127.0.0.6", 0))
        listener.listen()
        read = registry.packets.read
        for n in range(20):
            udp_a.sendto(b"not yours %d" % n, udp_b.getsockname())
        client.connect(listener.getsockname())  # a handshake outside the range
        client.sendall(b"not yours either")
        # Then one datagram of the sandbox: the reader's queue keeps the kernel's order.
        await sandbox.udp_sendto(sender.id, "server", 5353, "ping")
        udp = await tab.wait_for(is_packet(protocol="udp"))
        assert registry.packets.read - read == 1
    finally:
        for sock in made:
            sock.close()
    assert (udp["from"]["port"], udp["to"]["port"], udp["length"]) == (sender.local[1], 5353, 4)
    assert udp["payload"] == "ping" and udp["sockets"] == [sender.id, receiver.id]
    assert "flags" not in udp and "seq" not in udp


async def test_it_holds_its_rate_and_its_history_under_a_flood(tmp_path):
    limits = Limits(capture_packets_per_second=5, capture_history=4, payload_preview=8)
    registry = Registry(limits, config(tmp_path))
    try:
        sandbox, tab = await capturing(registry)
        # The bucket's clock: a second passes once 50 packets are counted (no waiting).
        capture = sandbox.capture
        capture.bucket = TokenBucket(5, 5, clock=lambda: float(capture.count >= 50))
        sender = await sandbox.udp_bind("laptop", 0)
        await sandbox.udp_bind("server", 5353)
        for n in range(50):
            await sandbox.udp_sendto(sender.id, "server", 5353, f"flood {n:02d} and more")
        await sandbox.udp_sendto(sender.id, "server", 5353, "last")
        last = await tab.wait_for(is_packet(n=51))
        seen = packets(tab)
        assert [(p["n"], p["dropped"]) for p in seen] == [(n, 0) for n in range(1, 6)] + [(51, 45)]
        assert seen[0]["payload"] == "flood 00" and seen[0]["length"] == len("flood 00 and more")
        assert last["payload"] == "last"
        # The history keeps the last `capture_history` packet events, compactly.
        hello = hello_events(registry, "visitor", sandbox)[0]
        assert [p["n"] for p in hello["packets"]] == [3, 4, 5, 51]
        assert hello["packets"][-1] == last
        # And says how many came before them: packets 1 and 2 fell out of it.
        assert hello["capture"]["older"] == 2
        assert all(len(kept) <= 80 for kept in sandbox.capture.history)
    finally:
        await registry.aclose()


async def test_it_numbers_relative_to_a_handshake_the_rate_limit_kept_from_the_page(registry):
    sandbox, tab = await capturing(registry)
    capture = sandbox.capture
    # No token for the handshake's three packets; plenty once they are counted.
    capture.bucket = TokenBucket(100, 100, clock=lambda: float(capture.count >= 3))
    capture.bucket.tokens = 0
    await sandbox.tcp_listen("server", 3000)
    client = await sandbox.tcp_connect("laptop", "server", 3000)
    await sandbox.send(client.id, "hi")
    data = await tab.wait_for(is_packet(length=2))
    assert (data["n"], data["dropped"]) == (4, 3)
    assert (data["seq_relative"], data["ack_relative"]) == (1, 1)


async def test_it_keeps_packets_from_the_start_and_sends_them_only_while_a_tab_wants_them(
    registry,
):
    engine_tabs = [Events(), Events()]
    engine = LocalEngine(registry)
    first, second = [await engine.attach(Client("visitor", ""), tab) for tab in engine_tabs]
    sandbox = first.sandbox
    assert hello_events(registry, "visitor", sandbox)[0]["capture"] == {
        "available": True,
        "note": "",
        "on": False,
        "packets_per_second": 50,
        "history": 200,
        "older": 0,
    }
    assert registry.packets.reading  # read from the sandbox's start, nobody asking

    async def command(attachment, tab, **message):
        message["ref"] = ref = len(tab.items)
        await attachment.frame(protocol.dumps(message))
        return await tab.wait_for(lambda e: e.get("ref") == ref)

    # A connection made before anyone watched: kept, but sent to no tab.
    await sandbox.tcp_listen("server", 3000)
    client = await sandbox.tcp_connect("laptop", "server", 3000)
    await engine_tabs[0].wait_for(
        lambda e: e["type"] == "socket" and e["socket"]["role"] == "accepted"
    )
    await sandbox.send(client.id, "early")
    await engine_tabs[0].wait_for(lambda e: e["type"] == "data" and e["data"] == "early")
    assert not any(e["type"] == "packet" for tab in engine_tabs for e in tab.items)
    hello = hello_events(registry, "visitor", sandbox)[0]
    assert [p["flags"] for p in hello["packets"][:3]] == [["SYN"], ["SYN", "ACK"], ["ACK"]]
    # A tab that asks gets everything kept so far with its answer: the handshake too.
    answer = await command(first, engine_tabs[0], op="capture", on=True)
    assert (answer["type"], answer["capture"]) == ("ok", True)
    kept = hello["packets"]  # (the data's ACK may come later: the kernel may delay it)
    assert answer["packets"][: len(kept)] == kept
    assert "early" in [p["payload"] for p in answer["packets"]]
    answer = await command(second, engine_tabs[1], op="capture", on=True)
    assert answer["capture"] is True and answer["packets"][: len(kept)] == kept
    answer = await command(first, engine_tabs[0], op="capture", on=False)
    assert answer == {"type": "ok", "ref": answer["ref"], "op": "capture", "capture": True}
    sender = await sandbox.udp_bind("laptop", 0)
    await sandbox.udp_bind("server", 5353)
    await sandbox.udp_sendto(sender.id, "server", 5353, "one")
    for tab in engine_tabs:  # every tab gets the packets, whichever asked
        await tab.wait_for(is_packet(payload="one"))
    second.detach()  # a tab that goes takes its wish with it
    assert not sandbox.capture.watched and registry.packets.reading
    await sandbox.udp_sendto(sender.id, "server", 5353, "two")  # kept, sent to no one
    await engine_tabs[0].wait_for(lambda e: e["type"] == "data" and e["data"] == "two")
    hello = hello_events(registry, "visitor", sandbox)[0]
    assert hello["capture"]["on"] is False
    assert [p["payload"] for p in hello["packets"][-2:]] == ["one", "two"]
    assert not any(e["type"] == "packet" and e["payload"] == "two" for e in engine_tabs[0].items)
    first.detach()
    assert registry.packets.reading  # while the sandbox lives
    await registry.discard("visitor")
    assert not registry.packets.reading  # no sandbox left: no packet socket


async def test_it_forgets_the_packets_kept_before_a_reset(registry):
    sandbox, tab = await capturing(registry)
    await talk(sandbox, tab)
    assert len(sandbox.capture.kept_events()) >= 9
    before = packets(tab)[-1]["n"]
    reset = protocol.parse(protocol.dumps({"op": "reset"}))
    await protocol.execute(sandbox, reset)
    assert [p for p in sandbox.capture.kept_events() if p["n"] <= before] == []
    sender = await sandbox.udp_bind("laptop", 0)
    await sandbox.udp_bind("server", 5353)
    await sandbox.udp_sendto(sender.id, "server", 5353, "after")
    after = await tab.wait_for(is_packet(payload="after"))
    assert after["n"] > before  # numbers go on: a pick names one packet only
    assert sandbox.capture.kept_events()[-1] == after
    hello = hello_events(registry, "visitor", sandbox)[0]
    assert all(p["n"] > before for p in hello["packets"])
    assert hello["capture"]["older"] == 0  # the packets of before the reset are not older


async def test_it_says_how_many_older_packets_fell_out_of_the_history(tmp_path):
    registry = Registry(Limits(capture_history=3), config(tmp_path))
    try:
        engine_tab = Events()
        attachment = await LocalEngine(registry).attach(Client("visitor", ""), engine_tab)
        sandbox = attachment.sandbox
        sender = await sandbox.udp_bind("laptop", 0)
        await sandbox.udp_bind("server", 5353)
        for n in range(1, 9):
            await sandbox.udp_sendto(sender.id, "server", 5353, f"packet {n}")
            await engine_tab.wait_for(lambda e, n=n: e.get("data") == f"packet {n}")
        await attachment.frame(protocol.dumps({"op": "capture", "on": True, "ref": "c"}))
        answer = await engine_tab.wait_for(lambda e: e.get("ref") == "c")
        assert [p["payload"] for p in answer["packets"]] == ["packet 6", "packet 7", "packet 8"]
        assert answer["older"] == 5
        hello = hello_events(registry, "visitor", sandbox)[0]
        assert hello["capture"]["older"] == 5
        # A reset starts again: nothing kept, nothing older.
        await protocol.execute(sandbox, protocol.parse(protocol.dumps({"op": "reset"})))
        await sandbox.udp_bind("server", 5353)
        sender = await sandbox.udp_bind("laptop", 0)
        await sandbox.udp_sendto(sender.id, "server", 5353, "after")
        await engine_tab.wait_for(is_packet(payload="after"))
        assert hello_events(registry, "visitor", sandbox)[0]["capture"]["older"] == 0
    finally:
        await registry.aclose()


async def test_it_resets_a_connection_with_an_rst(registry):
    sandbox, tab = await capturing(registry)
    listener = await sandbox.tcp_listen("server", 3000)
    client = await sandbox.tcp_connect("laptop", "server", 3000)
    accepted = (await tab.wait_for(lambda e: e["type"] == "socket" and e["socket"]["listener"]))[
        "socket"
    ]["id"]
    await tab.wait_for(is_packet(n=3))
    reset = protocol.parse(protocol.dumps({"op": "tcp.reset", "socket": client.id}))
    assert await protocol.execute(sandbox, reset) == {"socket": client.id}
    rst = await tab.wait_for(is_packet(flags=["RST", "ACK"]))
    assert rst["from"]["device"] == "laptop" and rst["sockets"][0] == client.id
    gone = await tab.wait_for(lambda e: e["type"] == "socket.gone" and e["socket"] == client.id)
    assert gone["reason"].startswith("reset")
    peer = await tab.wait_for(lambda e: e["type"] == "socket.gone" and e["socket"] == accepted)
    assert peer["reason"].startswith("ECONNRESET")
    assert not any("FIN" in p["flags"] for p in packets(tab))
    assert list(sandbox.sockets) == [listener.id] and not sandbox.lingering  # no TIME_WAIT
    udp = await sandbox.udp_bind("laptop", 0)
    for socket_id, code in ((listener.id, "not_connected"), (udp.id, "wrong_protocol")):
        with pytest.raises(SandboxError) as error:
            await sandbox.tcp_reset(socket_id)
        assert error.value.code == code


class PacketHooks(LabHooks):
    """Two experiments: one that checks packets, one that does not."""

    async def catalogue(self) -> list[dict]:
        handshake = [
            {"text": "Listen.", "check": {"socket": {"role": "listener"}}},
            {"text": "SYN.", "check": {"packet": {"from": "laptop", "flags": ["SYN"]}}},
            {"text": "SYN-ACK.", "check": {"packet": {"from": "server", "has": ["SYN", "ACK"]}}},
            {"text": "Data.", "check": {"packet": {"protocol": "tcp", "length_min": 2}}},
        ]
        plain = [{"text": "Listen.", "check": {"socket": {"role": "listener"}}}]
        return [
            {"id": "handshake", "title": "Handshake", "steps": handshake},
            {"id": "plain", "title": "Plain", "steps": plain},
        ]


async def test_it_steps_an_experiment_on_packets_and_captures_while_it_is_active(tmp_path):
    registry = Registry(Limits(), config(tmp_path), PacketHooks())
    try:
        tab = Events()
        sandbox = await registry.attach("visitor", tab)
        assert sandbox.lab.start("handshake")["done"] == 0
        assert sandbox.capture.watched and not sandbox.capture.tabs  # the experiment asked
        await sandbox.tcp_listen("server", 3000)
        client = await sandbox.tcp_connect("laptop", "server", 3000)
        await tab.wait_for(lambda e: e["type"] == "experiment.progress" and e["done"] == 3)
        assert sandbox.lab.tracker.done == 3
        await sandbox.send(client.id, "hi")
        done = await tab.wait_for(lambda e: e["type"] == "experiment.progress" and e["done"] == 4)
        assert done["finished"] is True
        journal = registry.inspect("visitor")["journal"]
        kept = [entry["packet"] for entry in journal if "packet" in entry]
        assert kept[0] == {
            "protocol": "tcp",
            "sender": "laptop",
            "receiver": "server",
            "sport": client.local[1],
            "dport": 3000,
            "flags": ["SYN"],
            "length": 0,
        }
        steps = (await PacketHooks().catalogue())[0]["steps"]
        graded = replay(steps, journal)
        assert graded.complete
        assert graded.found[1].startswith("Step 2: a TCP packet from the laptop port")
        sandbox.lab.start("plain")  # no packet check: no packet events with nobody asking
        assert not sandbox.capture.watched and registry.packets.reading  # still kept
    finally:
        await registry.aclose()


async def test_it_says_capture_is_unavailable_without_a_namespace(tmp_path):
    registry = Registry(Limits(), config(tmp_path, network_namespace=False))
    try:
        tab = Events()
        sandbox = await registry.attach("visitor", tab)
        hello = hello_events(registry, "visitor", sandbox)[0]
        assert hello["capture"]["available"] is False and hello["capture"]["on"] is False
        assert "own network" in hello["capture"]["note"]
        assert hello["packets"] == []
        assert sandbox.capture.want(tab, True) is False
        listener = await sandbox.tcp_listen("server", 3000)
        await sandbox.tcp_connect("laptop", "server", 3000)
        assert listener.state == "LISTEN" and not registry.packets.reading
        assert packets(tab) == []
        with pytest.raises(OSError):
            registry.netns.packet_socket()  # never one of the host's
    finally:
        await registry.aclose()


def test_it_refuses_frames_that_are_not_whole_tcp_or_udp_packets():
    ip = bytes.fromhex("4500001c0001000040110000") + bytes([127, 78, 0, 2, 127, 78, 0, 3])
    frame = bytes(14) + ip + bytes.fromhex("0bb8138900080000")  # UDP, no payload
    assert parse(frame, 64).length == 0
    for cut in range(len(frame)):
        assert parse(frame[:cut], 64) is None
    fragment = bytearray(frame)
    fragment[14 + 6] = 0x20  # more fragments follow
    assert parse(bytes(fragment), 64) is None
    icmp = bytearray(frame)
    icmp[14 + 9] = 1
    assert parse(bytes(icmp), 64) is None


async def test_it_keeps_a_new_listener_listening_when_a_dump_begun_before_it_says_close(
    tmp_path,
):
    # A kernel dump that began while the socket was bound but not yet listening reads it
    # as CLOSE; applied after listen() returned, it must not turn the listener's row back.
    registry = Registry(Limits(), config(tmp_path, network_namespace=False))
    try:
        sandbox = await registry.attach("visitor", Events())
        begun = CHANGES.now
        listener = await sandbox.tcp_listen("server", 3000)
        half_made = KernelSocket("tcp", "CLOSE", *listener.local, "", 0, 0, 0, listener.inode)
        sandbox.apply_kernel([half_made], begun)
        assert listener.state == "LISTEN"
    finally:
        await registry.aclose()
