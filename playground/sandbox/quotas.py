"""Who holds what: sandboxes per client address, WebSockets per session (no Django).

Rules:
- A client address counts as its network: an IPv4 address alone, an IPv6
  address by its /64 (one household or host gets a whole /64, so counting
  single IPv6 addresses would count nothing).
- One address holds at most `sandboxes_per_address` sandboxes at once.
- The last `reserved_sandboxes` sandboxes of a process go only to addresses
  that hold none yet: while one address sits at its quota, a visitor from
  another address still gets a sandbox.
- One session has at most `websockets_per_session` WebSockets at once.
- Every `take_*` decides and records in one step, with no await in between,
  so racing connections cannot both take the last place; a refusal raises
  SandboxError naming the limit, and records nothing.

`Quotas` is the interface the registry uses; `MemoryQuotas` keeps the counts
in this process. `playground.engines.pool.quotas.RedisQuotas` (the pool engine)
counts sandboxes per address in Redis, one atomic script per `take_*`, so the
quota holds across sandbox processes; the process's own total stays in the
registry, where its sandboxes live.

The network rule itself is sockets_site.networks.network_of, shared with log-in
throttling, which must count the same unit.
"""

from abc import ABC, abstractmethod
from collections import Counter

from playground.wire.errors import SandboxError
from playground.wire.limits import Limits


class Quotas(ABC):
    def __init__(self, limits: Limits):
        self.limits = limits

    @abstractmethod
    def take_sandbox(self, network: str, free_in_process: int) -> None:
        """Record one more sandbox for `network`, or raise SandboxError.

        `free_in_process`: how many sandboxes this process may still create."""

    @abstractmethod
    def release_sandbox(self, network: str) -> None: ...

    @abstractmethod
    def take_websocket(self, session: str) -> None:
        """Record one more WebSocket for `session`, or raise SandboxError."""

    @abstractmethod
    def release_websocket(self, session: str) -> None: ...


def address_full(held: int, limits: Limits) -> SandboxError:
    return SandboxError(
        "limit_sandboxes_per_address",
        f"Your address already holds {held} sandboxes, its limit "
        f"(sandboxes_per_address = {limits.sandboxes_per_address}). Close a "
        "playground tab or wait for an old sandbox to expire.",
        limit="sandboxes_per_address",
    )


def reserved_only() -> SandboxError:
    return SandboxError(
        "limit_sandboxes",
        "The playground is nearly full: its last places are kept for visitors who "
        "have no sandbox yet, and your address already has one (reserved_sandboxes). "
        "Please try again in a few minutes.",
        limit="reserved_sandboxes",
    )


class MemoryQuotas(Quotas):
    def __init__(self, limits: Limits):
        super().__init__(limits)
        self.sandboxes: Counter[str] = Counter()
        self.websockets: Counter[str] = Counter()

    def take_sandbox(self, network: str, free_in_process: int) -> None:
        held = self.sandboxes[network]
        if held >= self.limits.sandboxes_per_address:
            raise address_full(held, self.limits)
        if held and free_in_process <= self.limits.reserved_sandboxes:
            raise reserved_only()
        self.sandboxes[network] += 1

    def release_sandbox(self, network: str) -> None:
        self._release(self.sandboxes, network)

    def take_websocket(self, session: str) -> None:
        if self.websockets[session] >= self.limits.websockets_per_session:
            raise SandboxError(
                "limit_websockets_per_session",
                f"This session already has {self.websockets[session]} playground connections "
                f"open, its limit (websockets_per_session = "
                f"{self.limits.websockets_per_session}). Close another playground tab.",
                limit="websockets_per_session",
            )
        self.websockets[session] += 1

    def release_websocket(self, session: str) -> None:
        self._release(self.websockets, session)

    @staticmethod
    def _release(counts: Counter, key: str) -> None:
        # Forget keys that reach zero, so the counters hold only current holders.
        if counts[key] <= 1:
            counts.pop(key, None)
        else:
            counts[key] -= 1
