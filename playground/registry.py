"""Sandboxes of one server process, by Django session key (no Django imports).

Rules:
- One sandbox per session: every WebSocket of the session attaches to it and
  sees the same live state.
- When the last WebSocket of a session detaches, the sandbox lives on for the
  grace period, so a reload finds its sockets; then it closes them all.
- A sandbox idle (no command) for `idle_timeout`, or older than `lifetime`, is
  closed even with WebSockets attached; they get a `sandbox.closed` event.
- At most `sandboxes_per_process` sandboxes exist at once; the next one is refused.
"""

import asyncio
import time
from collections.abc import Callable

from playground.addresses import AddressPool, PoolExhausted
from playground.kernel import KernelTable, KernelWatcher
from playground.limits import EngineConfig, Limits
from playground.sandbox import Sandbox, SandboxError


class _Entry:
    def __init__(self, sandbox: Sandbox):
        self.sandbox = sandbox
        self.sinks: list[Callable] = []
        self.started = time.monotonic()
        self.last_command = self.started
        self.grace: asyncio.TimerHandle | None = None
        self.timer: asyncio.TimerHandle | None = None


class Registry:
    def __init__(self, limits: Limits, config: EngineConfig):
        self.limits = limits
        self.config = config
        self.pool = AddressPool(config.address_range, config.lock_file)
        self.watcher = KernelWatcher(
            KernelTable(self.pool.network, config.use_kernel), config.kernel_tick
        )
        self._entries: dict[str, _Entry] = {}
        self._gone: dict[str, asyncio.Event] = {}
        self._opened = False
        self._lock = asyncio.Lock()

    @property
    def kernel_states(self) -> bool:
        return self.watcher.table.available

    @property
    def kernel_reason(self) -> str:
        return self.watcher.table.reason

    def __len__(self) -> int:
        return len(self._entries)

    async def attach(self, key: str, sink: Callable[[dict], None]) -> Sandbox:
        async with self._lock:
            if not self._opened:
                await self.watcher.open()
                self._opened = True
            entry = self._entries.get(key)
            if entry is None:
                entry = self._create(key)
        if entry.grace is not None:
            entry.grace.cancel()
            entry.grace = None
        entry.sinks.append(sink)
        entry.sandbox.subscribe(sink)
        return entry.sandbox

    def _create(self, key: str) -> _Entry:
        if len(self._entries) >= self.limits.sandboxes_per_process:
            raise SandboxError(
                "limit_sandboxes",
                "The playground is full right now (sandboxes_per_process). Please try again in "
                "a few minutes.",
                limit="sandboxes_per_process",
            )
        try:
            ips = self.pool.claim(len(self.config.devices))
        except PoolExhausted:
            raise SandboxError(
                "limit_addresses", "No loopback addresses are free for a new sandbox right now."
            ) from None
        entry: _Entry
        sandbox = Sandbox(
            dict(zip(self.config.devices, ips, strict=True)),
            self.limits,
            kernel_states=self.kernel_states,
            on_activity=lambda: self._activity(entry),
        )
        entry = _Entry(sandbox)
        self._entries[key] = entry
        self.watcher.register(sandbox)
        self._arm(key, entry)
        return entry

    def _activity(self, entry: _Entry) -> None:
        entry.last_command = time.monotonic()
        self.watcher.kick()

    def _arm(self, key: str, entry: _Entry) -> None:
        """Wake at the next idle or lifetime deadline."""
        now = time.monotonic()
        deadline = min(
            entry.last_command + self.limits.idle_timeout, entry.started + self.limits.lifetime
        )
        loop = asyncio.get_running_loop()
        entry.timer = loop.call_later(max(0.0, deadline - now), self._check, key, entry)

    def _check(self, key: str, entry: _Entry) -> None:
        if self._entries.get(key) is not entry:
            return
        now = time.monotonic()
        if now >= entry.started + self.limits.lifetime:
            self._expire(key, "lifetime", "This sandbox reached its lifetime limit and was reset.")
        elif now >= entry.last_command + self.limits.idle_timeout:
            self._expire(key, "idle_timeout", "This sandbox was idle too long and was reset.")
        else:
            self._arm(key, entry)

    def _expire(self, key: str, limit: str, message: str) -> None:
        entry = self._entries[key]
        event = {"type": "sandbox.closed", "limit": limit, "message": message}
        for sink in list(entry.sinks):
            sink(event)
        asyncio.get_running_loop().create_task(self.discard(key))

    def detach(self, key: str, sink: Callable[[dict], None]) -> None:
        entry = self._entries.get(key)
        if entry is None:
            return
        entry.sandbox.unsubscribe(sink)
        if sink in entry.sinks:
            entry.sinks.remove(sink)
        if not entry.sinks and entry.grace is None:
            loop = asyncio.get_running_loop()
            entry.grace = loop.call_later(
                self.limits.grace_period,
                lambda: loop.create_task(self.discard(key, only_if_unattached=True)),
            )

    async def discard(self, key: str, only_if_unattached: bool = False) -> None:
        entry = self._entries.get(key)
        if entry is None or (only_if_unattached and entry.sinks):
            return
        del self._entries[key]
        for handle in (entry.grace, entry.timer):
            if handle is not None:
                handle.cancel()
        self.watcher.unregister(entry.sandbox)
        await entry.sandbox.aclose()
        self.pool.release(list(entry.sandbox.devices.values()))
        if key in self._gone:
            self._gone.pop(key).set()

    async def wait_gone(self, key: str) -> None:
        """Until the session's sandbox has been closed (for tests and tools)."""
        if key in self._entries:
            await self._gone.setdefault(key, asyncio.Event()).wait()

    def expires_in(self, key: str) -> dict:
        entry = self._entries[key]
        now = time.monotonic()
        return {
            "lifetime_left": max(0.0, entry.started + self.limits.lifetime - now),
            "idle_left": max(0.0, entry.last_command + self.limits.idle_timeout - now),
        }

    async def aclose(self) -> None:
        for key in list(self._entries):
            await self.discard(key)
        await self.watcher.aclose()
        self.pool.close()
