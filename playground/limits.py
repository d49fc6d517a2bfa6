"""The playground's limits and engine settings, as plain data (no Django).

`playground.conf` builds them from Django settings; tests build their own.
"""

from dataclasses import asdict, dataclass


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

    def public(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class EngineConfig:
    address_range: str = "127.77.0.0/16"
    devices: tuple[str, ...] = ("laptop", "server")
    # How often the kernel's socket table is read; also read at once after each command.
    kernel_tick: float = 0.1
    # Shared by every server process on the host, so no two sandboxes get one address.
    lock_file: str = ""
    use_kernel: bool = True
