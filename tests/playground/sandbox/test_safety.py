"""The sandbox's safety rules, each tried as a real attack with real sockets."""

import asyncio
import logging
import select
import socket
import subprocess
import sys

import pytest

from playground.host.addresses import AddressPool, PoolExhausted, check_range
from playground.wire.errors import SandboxError
from playground.wire.limits import Limits
from playground.wire.protocol import ProtocolError, parse
from tests.support.live_server import ROOT


def host_listener(ip: str, port: int = 0) -> socket.socket:
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((ip, port))
    sock.listen()
    return sock


def nobody_knocked(listener: socket.socket) -> bool:
    readable, _, _ = select.select([listener], [], [], 0)
    return not readable


async def refused(coro, code="ECONNREFUSED"):
    with pytest.raises(SandboxError) as error:
        await coro
    assert error.value.code == code
    return error.value


async def test_it_cannot_reach_a_host_service_bound_to_every_address(engine):
    """A database or this server on 0.0.0.0 also answers on the sandbox's own addresses."""
    sandbox, _ = engine.sandbox()
    service = host_listener("0.0.0.0")  # noqa: S104 - the attack needs a wildcard service
    port = service.getsockname()[1]
    try:
        # The kernel would route this to the wildcard service; the sandbox must not try.
        await refused(sandbox.tcp_connect("laptop", "server", port))
        assert nobody_knocked(service)
    finally:
        service.close()


async def test_it_cannot_reach_a_service_on_127_0_0_1(engine):
    sandbox, _ = engine.sandbox()
    service = host_listener("127.0.0.1")
    try:
        await refused(sandbox.tcp_connect("laptop", "server", service.getsockname()[1]))
        assert nobody_knocked(service)
        with pytest.raises(SandboxError) as error:
            await sandbox.tcp_connect("laptop", "127.0.0.1", service.getsockname()[1])
        assert error.value.code == "unknown_device"
    finally:
        service.close()


async def test_it_cannot_reach_another_sandbox(engine):
    mine, _ = engine.sandbox()
    theirs, their_events = engine.sandbox()
    await theirs.tcp_listen("server", 3000)
    await theirs.udp_bind("server", 5353)
    await refused(mine.tcp_connect("laptop", "server", 3000))
    udp = await mine.udp_bind("laptop", 0)
    await refused(mine.udp_sendto(udp.id, "server", 5353, "hi"), code="no_receiver")
    assert not [e for e in their_events.items if e["type"] == "data"]
    assert len(theirs.sockets) == 2  # nothing was accepted


@pytest.mark.parametrize("device", ["0.0.0.0", "127.0.0.1", "8.8.8.8", "example.com", "", None])  # noqa: S104
async def test_it_refuses_addresses_and_host_names_in_place_of_a_device(engine, device):
    sandbox, _ = engine.sandbox()
    await refused(sandbox.tcp_listen(device, 3000), code="unknown_device")
    await refused(sandbox.udp_bind(device, 0), code="unknown_device")
    await sandbox.tcp_listen("server", 3000)
    await refused(sandbox.tcp_connect("laptop", device, 3000), code="unknown_device")


def test_it_has_no_way_to_name_an_address_in_the_protocol():
    with pytest.raises(ProtocolError) as error:
        parse(
            '{"op": "tcp.connect", "device": "laptop", "to": {"ip": "93.184.216.34", "port": 80}}'
        )
    assert error.value.code == "missing_field"


async def test_it_never_binds_outside_its_own_addresses(engine):
    sandbox, _ = engine.sandbox()
    for ip in ("0.0.0.0", "127.0.0.1", "10.0.0.1"):  # noqa: S104
        with pytest.raises(SandboxError) as error:
            sandbox._bind(socket.SOCK_STREAM, ip, 3000)
        assert error.value.code == "not_allowed"


def test_it_only_accepts_an_address_range_inside_loopback_without_127_0_0_1(tmp_path):
    for bad in ("10.0.0.0/8", "0.0.0.0/0", "127.0.0.0/24", "127.0.0.0/8", "127.5.5.0/31"):
        with pytest.raises(ValueError):
            check_range(bad)
    pool = AddressPool("127.78.0.0/30", tmp_path / "lock")
    assert sorted(pool.claim(2)) == ["127.78.0.1", "127.78.0.2"]
    with pytest.raises(PoolExhausted):
        pool.claim(1)


def test_it_never_hands_one_address_to_two_server_processes(tmp_path):
    lock = tmp_path / "lock"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from playground.host.addresses import AddressPool;"
            f"p = AddressPool('127.78.0.0/29', {str(lock)!r}); print(*p.claim(4), flush=True);"
            "sys.stdin.read()",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        theirs = set(holder.stdout.readline().split())
        pool = AddressPool("127.78.0.0/29", lock)
        mine = set(pool.claim(2))
        assert len(theirs) == 4 and not mine & theirs
        with pytest.raises(PoolExhausted):
            pool.claim(1)
    finally:
        holder.stdin.close()
        holder.wait(timeout=10)
    # Their addresses come back when that process ends.
    assert len(pool.claim(4)) == 4


async def test_it_drops_connections_and_datagrams_from_outside_the_sandbox(engine, caplog):
    # A datagram the check let through would fail later (its sender is no device) and
    # asyncio would log that and lose it anyway: only the log and the counts tell.
    caplog.set_level(logging.ERROR)
    sandbox, events = engine.sandbox()
    listener = await sandbox.tcp_listen("server", 3000)
    udp = await sandbox.udp_bind("server", 5353)
    server_ip = sandbox.devices["server"]
    loop = asyncio.get_running_loop()
    outsider = socket.socket()
    outsider.setblocking(False)
    outsider.bind(("127.0.0.1", 0))
    await loop.sock_connect(outsider, (server_ip, 3000))
    try:
        assert await asyncio.wait_for(loop.sock_recv(outsider, 10), 10) == b""
    except ConnectionResetError:
        pass  # dropped with a reset: refused just the same
    finally:
        outsider.close()
    stray = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    stray.sendto(b"let me in", (server_ip, 5353))
    stray.close()
    # Our own datagram arrives after the stray one; the stray one must not be reported.
    sender = await sandbox.udp_bind("laptop", 0)
    await sandbox.udp_sendto(sender.id, "server", 5353, "from inside")
    got = await events.wait_for(lambda e: e["type"] == "data" and e["socket"] == udp.id)
    assert got["data"] == "from inside"
    # Dropped on arrival: nothing of it kept, counted, or failed on.
    assert not [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert udp.received == b"from inside"
    assert udp.bytes_received == len(b"from inside")
    assert [s.role for s in sandbox.sockets.values()].count("accepted") == 0
    assert listener.id in sandbox.sockets


async def test_it_enforces_the_socket_limit_also_on_accepted_connections(engine):
    sandbox, events = engine.sandbox(Limits(sockets_per_sandbox=2))
    await sandbox.tcp_listen("server", 3000)
    await sandbox.tcp_connect("laptop", "server", 3000)  # the accepted one would be the 3rd
    refusal = await events.wait_for(lambda e: e["type"] == "error")
    assert refusal["limit"] == "sockets_per_sandbox"
    assert len(sandbox.sockets) == 2
    await refused(sandbox.udp_bind("laptop", 0), code="limit_sockets")


async def test_it_enforces_the_send_size(engine):
    sandbox, _ = engine.sandbox(Limits(send_bytes=8))
    udp = await sandbox.udp_bind("laptop", 0)
    await sandbox.udp_bind("server", 9000)
    error = await refused(
        sandbox.udp_sendto(udp.id, "server", 9000, "123456789"), code="limit_send_bytes"
    )
    assert error.extra["limit"] == "send_bytes"
