"""Loopback addresses for sandbox devices, each held by one sandbox on the whole host.

Rules:
- Addresses come only from the configured range inside 127.0.0.0/8, and never
  127.0.0.1 (where this server and the host's own services listen), nor the
  range's network or broadcast address.
- Within a process a set records what is handed out; across processes each
  address is a one-byte POSIX record lock in a shared lock file, which the
  kernel releases by itself if a process dies.
"""

import fcntl
import ipaddress
import os
import random
import tempfile
from pathlib import Path

LOOPBACK = ipaddress.ip_network("127.0.0.0/8")
RESERVED = ipaddress.ip_address("127.0.0.1")


class PoolExhausted(Exception):
    pass


def check_range(network: str) -> ipaddress.IPv4Network:
    """The range as a network; ValueError with a reason if it is unsafe."""
    net = ipaddress.ip_network(network, strict=True)
    if net.version != 4 or not net.subnet_of(LOOPBACK):
        raise ValueError(f"{network} is not inside the loopback range 127.0.0.0/8")
    if RESERVED in net:
        raise ValueError(f"{network} contains 127.0.0.1, which the host's own services use")
    if net.num_addresses < 4:
        raise ValueError(f"{network} is too small to hold a sandbox")
    return net


def default_lock_file() -> Path:
    return Path(tempfile.gettempdir()) / f"sockets-playground-{os.getuid()}.lock"


class AddressPool:
    def __init__(self, network: str, lock_file: str | Path = ""):
        self.network = check_range(network)
        self._first = int(self.network.network_address) + 1
        self._size = self.network.num_addresses - 2
        self._fd = os.open(lock_file or default_lock_file(), os.O_RDWR | os.O_CREAT, 0o600)
        self._held: set[int] = set()

    def claim(self, count: int) -> list[str]:
        claimed: list[int] = []
        start = random.randrange(self._size)  # noqa: S311 - spreads claims, not a secret
        for step in range(self._size):
            if len(claimed) == count:
                break
            index = (start + step) % self._size
            if index in self._held:
                continue
            try:
                fcntl.lockf(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, index)
            except OSError:
                continue  # another process holds it
            self._held.add(index)
            claimed.append(index)
        if len(claimed) < count:
            self._release(claimed)
            raise PoolExhausted(f"no free addresses left in {self.network}")
        return [str(ipaddress.ip_address(self._first + index)) for index in claimed]

    def release(self, addresses: list[str]) -> None:
        self._release([int(ipaddress.ip_address(a)) - self._first for a in addresses])

    def _release(self, indexes: list[int]) -> None:
        for index in indexes:
            if index in self._held:
                fcntl.lockf(self._fd, fcntl.LOCK_UN, 1, index)
                self._held.discard(index)

    @property
    def in_use(self) -> int:
        return len(self._held)

    def close(self) -> None:
        os.close(self._fd)
