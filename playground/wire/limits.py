"""The playground's limits and engine settings, as plain data (no Django).

`playground.conf` builds them from Django settings; tests build their own.

Rules:
- Each limit is declared once, here, with what it means and what values it takes
  (its field's metadata, made by `limit`): sockets_site.settings reads every one as
  PLAYGROUND_<NAME> from the environment, the system check (playground.checks)
  validates them by the same metadata, and the README's configuration table lists
  them with these words and defaults (tests/playground/wire/test_limits.py).
- A limit is a positive number unless its metadata says it may be 0, a whole number
  if it says so, and no more than its `max` nor less than its `min` where it has one.
- The engine settings' defaults (EngineConfig) are the settings' defaults too: the
  address range is spelled here only.
"""

from dataclasses import asdict, dataclass, field

# The ports a sandbox socket may be bound to or reach (playground.sandbox.arguments.port):
# FIRST_PORT to LAST_PORT, and 0 where the system may pick a free one (tcp.listen,
# udp.bind), never as a destination. Ports 1 to 1023 need the CAP_NET_BIND_SERVICE
# privilege on Linux, which the sandbox leaves out. The page reads these from hello's
# `limits` (first_port, last_port), so its forms and the server agree.
FIRST_PORT = 1024
LAST_PORT = 65535


def limit(default, doc: str, *, may_be_zero=False, whole=False, min=None, max=None):
    """A Limits field: its default, what it means (`doc`, the README's words), and the
    values the system check takes (0 only if `may_be_zero`; `whole`: no fraction; `min`
    and `max`: bounds besides being positive)."""
    meta = {"doc": doc, "may_be_zero": may_be_zero, "whole": whole, "min": min, "max": max}
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class Limits:
    sockets_per_sandbox: int = limit(16, "Sockets one sandbox may hold at once.")
    sandboxes_per_process: int = limit(500, "Sandboxes one server process may hold at once.")
    message_bytes: int = limit(
        4096, "The largest command a client may send, in bytes; a whole send must fit in it."
    )
    send_bytes: int = limit(1024, "The most one `send` or `udp.sendto` may carry, in bytes.")
    received_kept_bytes: int = limit(
        65536, "Received data kept per socket, in bytes; older data is dropped and counted."
    )
    commands_per_second: float = limit(
        20,
        "Commands a second per sandbox, shared by all its WebSockets; every frame counts.",
    )
    command_burst: int = limit(40, "Commands a sandbox may send at once.", min=1)
    idle_timeout: float = limit(
        15 * 60, "Seconds a sandbox may go without a command before it is closed."
    )
    lifetime: float = limit(2 * 60 * 60, "Seconds a sandbox lives at most; then it is closed.")
    grace_period: float = limit(
        30, "Seconds a sandbox lives on after its last WebSocket, so a reload finds its sockets."
    )
    outgoing_queue: int = limit(256, "Events queued for one WebSocket at most.")
    slow_client_seconds: float = limit(
        10,
        "A WebSocket whose client stops reading (its connection's send queue stays full) "
        "this long is closed (4008); so is one whose outgoing queue overflows.",
    )
    sandboxes_per_address: int = limit(
        20,
        "Sandboxes one client address may hold at once (IPv6: per /64); the address is the "
        "peer's, or `X-Forwarded-For`'s first only with `DJANGO_BEHIND_PROXY=1`. A classroom "
        "behind one NAT address may need more.",
    )
    reserved_sandboxes: int = limit(
        50,
        "The last places of a process, given only to addresses that hold no sandbox yet, so "
        "one address at its quota cannot shut out new visitors. `0` keeps none; must be below "
        "`PLAYGROUND_SANDBOXES_PER_PROCESS`.",
        may_be_zero=True,
    )
    websockets_per_session: int = limit(
        8, "Playground WebSockets (tabs) one session may have open at once."
    )
    descriptor_reserve: int = limit(
        256,
        "File descriptors kept for the site: a sandbox socket that would leave fewer is "
        "refused (`limit_descriptors`) and pages keep working. At start-up the soft "
        "`RLIMIT_NOFILE` is raised to the hard one, and the system check fails "
        "(`playground.E009`) unless `sandboxes_per_process \u00d7 (sockets_per_sandbox + 1 + "
        "websockets_per_session) + descriptor_reserve` fits under it (12,756 by default: "
        "raise the hard limit, e.g. systemd `LimitNOFILE=`, if it is lower).",
    )
    capture_packets_per_second: float = limit(
        50,
        "Packet events a second per sandbox (with a burst of as many); the others are "
        "counted as dropped.",
    )
    capture_history: int = limit(
        200,
        "Packet events kept per sandbox, for a reload's hello; `0` keeps none.",
        may_be_zero=True,
        whole=True,
    )
    payload_preview: int = limit(
        64, "Payload bytes shown of each packet; `0` shows none.", may_be_zero=True, whole=True
    )
    # The kernel keeps that many completed connections, plus one, in a listener's accept
    # queue, and drops the SYNs that come while it is full; those connections live outside
    # sockets_per_sandbox, so the backlog stays small.
    listen_backlog: int = limit(
        16,
        "The largest backlog a listener may ask for (`tcp.listen`'s `backlog`, also its "
        "default); at most 128.",
        whole=True,
        max=128,
    )
    # TCP_SYNCNT refuses more than 127 (the kernel's MAX_TCP_SYNCNT).
    syn_retries: int = limit(
        6,
        "How many times the kernel sends an unanswered SYN again before a connect fails "
        "with ETIMEDOUT (Linux's own default, about 127 s); at most 127.",
        whole=True,
        max=127,
    )

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
