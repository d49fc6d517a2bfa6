"""The playground's limits and engine settings, as plain data (no Django).

`playground.conf` builds them from Django settings; tests build their own.
"""

from dataclasses import asdict, dataclass

# The ports a sandbox socket may be bound to or reach (playground.sandbox.sandbox, Sandbox._port):
# FIRST_PORT to LAST_PORT, and 0 where the system may pick a free one (tcp.listen,
# udp.bind), never as a destination. Ports 1 to 1023 need the CAP_NET_BIND_SERVICE
# privilege on Linux, which the sandbox leaves out. The page reads these from hello's
# `limits` (first_port, last_port), so its forms and the server agree.
FIRST_PORT = 1024
LAST_PORT = 65535


@dataclass(frozen=True)
class Limits:
    sockets_per_sandbox: int = 16
    sandboxes_per_process: int = 500
    message_bytes: int = 4096
    send_bytes: int = 1024
    received_kept_bytes: int = 65536
    commands_per_second: float = 20
    command_burst: int = 40
    idle_timeout: float = 15 * 60
    lifetime: float = 2 * 60 * 60
    grace_period: float = 30
    outgoing_queue: int = 256
    # A WebSocket whose client stops reading (its kernel send queue stays above the
    # pause mark) for this many seconds is closed (4008).
    slow_client_seconds: float = 10
    # Sandboxes one client address (an IPv6 /64) may hold at once.
    sandboxes_per_address: int = 20
    # The last this many sandboxes of a process go only to addresses that hold none.
    reserved_sandboxes: int = 50
    websockets_per_session: int = 8
    # File descriptors the site keeps for itself: a sandbox socket whose descriptor
    # would leave fewer free is refused (limit_descriptors).
    descriptor_reserve: int = 256
    # Packet capture (playground.capture), per sandbox: packet events a second (with a
    # burst of as many; the others are counted as dropped), packet events kept for a
    # reload's hello, and payload bytes shown of each packet.
    capture_packets_per_second: float = 50
    capture_history: int = 200
    payload_preview: int = 64
    # The largest backlog a listener may ask for (tcp.listen's `backlog`, also its
    # default): the kernel keeps that many completed connections, plus one, in its
    # accept queue, and drops the SYNs that come while the queue is full.
    listen_backlog: int = 16
    # How many times the kernel sends an unanswered SYN again (TCP_SYNCNT; Linux's own
    # default is 6, about 127 s) before a connect fails with ETIMEDOUT.
    syn_retries: int = 6

    def public(self) -> dict:
        return {**asdict(self), "first_port": FIRST_PORT, "last_port": LAST_PORT}


@dataclass(frozen=True)
class EngineConfig:
    address_range: str = "127.77.0.0/16"
    devices: tuple[str, ...] = ("laptop", "server")
    # How often the kernel's socket table is read; also read at once after each command.
    kernel_tick: float = 0.1
    # Shared by every server process on the host, so no two sandboxes get one address.
    lock_file: str = ""
    use_kernel: bool = True
    # Sandbox sockets in a network namespace of their own (playground.host.netns).
    network_namespace: bool = True
    # Where the pool engine keeps placements, leases and quotas (playground.engines.pool).
    redis_url: str = ""
