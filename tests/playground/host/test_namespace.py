"""The playground's network namespace: real sockets, the real kernel, the real helper."""

import contextlib
import shutil
import socket
import subprocess
from pathlib import Path

import pytest

from playground.host.addresses import check_range
from playground.host.kernel import KernelTable
from playground.host.netns import CHILD_HASH_ENTRIES, Namespace
from playground.sandbox.registry import Registry
from playground.wire.limits import EngineConfig, Limits
from tests.support.playground_helpers import TEST_RANGE, Events


@pytest.fixture
async def registry(tmp_path):
    registry = Registry(
        Limits(), EngineConfig(address_range=TEST_RANGE, lock_file=str(tmp_path / "lock"))
    )
    yield registry
    await registry.aclose()


@pytest.fixture
def host_listener():
    """A service of the host on 0.0.0.0, as a database or this site would be."""
    with socket.socket() as sock:
        sock.bind(("0.0.0.0", 0))  # noqa: S104 - the point: a host service on every address
        sock.listen()
        yield sock.getsockname()[1]


def host_ss() -> str:
    return subprocess.run(["ss", "-tuan"], capture_output=True, text=True, check=True).stdout


async def test_it_lets_a_sandbox_use_a_port_that_a_host_service_holds(registry, host_listener):
    events = Events()
    sandbox = await registry.attach("visitor", events)
    assert registry.namespace, registry.namespace_note
    listener = await sandbox.tcp_listen("server", host_listener)
    client = await sandbox.tcp_connect("laptop", "server", host_listener)
    await events.wait_for(lambda e: e["type"] == "socket" and e["socket"]["role"] == "accepted")
    assert listener.local[1] == client.remote[1] == host_listener


async def test_it_keeps_sandbox_sockets_out_of_the_hosts_table(registry):
    events = Events()
    sandbox = await registry.attach("visitor", events)
    await sandbox.tcp_listen("server", 3000)
    await sandbox.tcp_connect("laptop", "server", 3000)
    # The kernel's own table, as the namespace sees it, reaches the sandbox...
    await events.wait_for(
        lambda e: e["type"] == "socket" and e["socket"]["state_source"] == "kernel"
    )
    # ...and the host's ss shows none of it.
    table = host_ss()
    for ip in sandbox.devices.values():
        assert ip not in table


async def test_it_finds_no_host_service_from_inside_the_namespace(registry, host_listener):
    await registry.attach("visitor", Events())
    probe = registry.netns.socket(socket.AF_INET, socket.SOCK_STREAM)
    with probe, pytest.raises(ConnectionRefusedError):
        probe.connect(("127.0.0.1", host_listener))


async def test_it_resets_sandboxes_and_makes_a_new_namespace_when_the_helper_dies(registry):
    events = Events()
    sandbox = await registry.attach("visitor", events)
    await sandbox.tcp_listen("server", 3000)
    registry.netns.kill_helper()
    closed = await events.wait_for(lambda e: e["type"] == "sandbox.closed")
    assert closed["limit"] == "network_restarted"
    assert "network restarted" in closed["message"]
    await registry.wait_gone("visitor")
    await registry.restarting
    assert registry.namespace
    fresh = await registry.attach("visitor", Events())
    assert fresh is not sandbox and not fresh.sockets
    await fresh.tcp_listen("server", 3000)
    await fresh.tcp_connect("laptop", "server", 3000)


async def test_it_runs_in_the_hosts_network_when_namespaces_are_off(tmp_path):
    config = EngineConfig(
        address_range=TEST_RANGE, lock_file=str(tmp_path / "lock"), network_namespace=False
    )
    registry = Registry(Limits(), config)
    try:
        sandbox = await registry.attach("visitor", Events())
        assert not registry.namespace
        assert "switched off" in registry.namespace_note
        await sandbox.tcp_listen("server", 3000)
        assert sandbox.devices["server"] in host_ss()
    finally:
        await registry.aclose()


def test_it_makes_sockets_through_the_helper_and_refuses_other_kinds():
    namespace = Namespace()
    assert namespace.start(), namespace.reason
    try:
        with namespace.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind(("127.78.0.9", 0))
            assert udp.getsockname()[0] == "127.78.0.9"
        with pytest.raises(ValueError, match="does not make"):
            namespace.socket(socket.AF_INET6, socket.SOCK_STREAM)
    finally:
        namespace.stop()
    assert not namespace.available


def test_it_gives_its_namespace_hash_tables_of_its_own():
    """Reading the table walks every bucket of the namespace's TCP hash: the host's is
    sized for the whole machine, so the namespace gets small ones of its own."""
    if not Path("/proc/sys/net/ipv4/tcp_child_ehash_entries").exists():
        pytest.skip("this kernel (before Linux 5.19) gives namespaces the host's tables")
    if shutil.which("nsenter") is None:
        pytest.skip("nsenter (util-linux) is needed to look inside the namespace")
    namespace = Namespace()
    assert namespace.start(), namespace.reason
    try:
        enter = ["nsenter", "-t", str(namespace.helper_pid), "-U", "-n", "--preserve-credentials"]
        sizes = ["/proc/sys/net/ipv4/tcp_ehash_entries", "/proc/sys/net/ipv4/udp_hash_entries"]
        inside = subprocess.run(
            [*enter, "cat", *sizes], capture_output=True, text=True, check=True
        ).stdout.split()
    finally:
        namespace.stop()
    host = Path("/proc/sys/net/ipv4/tcp_ehash_entries").read_text().strip()
    assert inside[0] == str(CHILD_HASH_ENTRIES["tcp_child_ehash_entries"]) != host
    if Path("/proc/sys/net/ipv4/udp_child_hash_entries").exists():  # Linux 6.2 and later
        assert inside[1] == str(CHILD_HASH_ENTRIES["udp_child_hash_entries"])


@pytest.fixture
def host_connections():
    """Hundreds of unrelated connections of the host, as a busy server has."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(300)
        held = []
        for _ in range(300):
            held.append(socket.create_connection(listener.getsockname()))
            held.append(listener.accept()[0])
        yield len(held)
        for sock in held:
            sock.close()


@pytest.mark.parametrize("namespace", [True, False])
def test_it_reads_none_of_the_hosts_sockets_in_its_namespace(namespace, host_connections):
    """The kernel hands the dump only the sandbox's sockets, however busy the host is."""
    netns = Namespace(namespace)
    netns.start()
    table = KernelTable(check_range(TEST_RANGE), True, netns)
    try:
        assert table.open(), table.reason
        listener = netns.socket(socket.AF_INET, socket.SOCK_STREAM)
        with listener:
            listener.bind(("127.78.0.9", 3000))
            listener.listen()
            rows = [(r.local_ip, r.state) for r in table.dump()]
            if namespace:
                assert rows == [("127.78.0.9", "LISTEN")]
                assert table.records_read == 1
            else:  # the host's whole table crosses into Python, to be filtered there
                assert ("127.78.0.9", "LISTEN") in rows
                assert table.records_read > host_connections
    finally:
        table.close()
        netns.stop()


def test_it_reads_the_send_queues_of_hundreds_of_host_connections():
    """The WebSockets' own connections live in the host's namespace: each is looked up
    there, however many there are, and a full send queue shows."""
    netns = Namespace()
    netns.start()
    table = KernelTable(check_range(TEST_RANGE), True, netns)
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(600)
        pairs = [
            (socket.create_connection(listener.getsockname()), listener.accept()[0])
            for _ in range(600)
        ]
        try:
            assert table.open(), table.reason
            server_side = [accepted for _, accepted in pairs]
            table.watched = frozenset((*s.getsockname(), *s.getpeername()) for s in server_side)
            server_side[0].setblocking(False)
            with contextlib.suppress(BlockingIOError):
                while True:  # the client never reads: fill the send queue
                    server_side[0].send(b"x" * 65536)
            rows = {row.four_tuple: row for row in table.dump()}
            assert len(rows) == 600
            first = (*server_side[0].getsockname(), *server_side[0].getpeername())
            assert rows[first].send_queue > 0
        finally:
            table.close()
            netns.stop()
            for pair in pairs:
                for sock in pair:
                    sock.close()
