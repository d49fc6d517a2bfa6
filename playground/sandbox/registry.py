"""Sandboxes of one server process, by Django session key (no Django imports).

Rules:
- One sandbox per session: every WebSocket of the session attaches to it and
  sees the same live state.
- When the last WebSocket of a session detaches, the sandbox lives on for the
  grace period, so a reload finds its sockets; then it closes them all.
- A sandbox idle (no command) for `idle_timeout`, or older than `lifetime`, is
  closed even with WebSockets attached; they get a `sandbox.closed` event.
- At most `sandboxes_per_process` sandboxes exist at once; the next one is refused.
  A sandbox is counted from the moment it is decided, with no await between the
  check and the count, so racing WebSockets cannot overshoot.
- Quotas (playground.sandbox.quotas): sandboxes per client address, the last places
  kept for addresses that hold none, WebSockets per session. A sandbox counts
  against the address that made it until it is closed.
- Commands are rate limited per sandbox: one token bucket, shared by all the
  sandbox's WebSockets, lives with its entry.
- Each sandbox has a lab (playground.labs.lab): its experiments and their progress,
  from the hooks given to the registry. A new sandbox's WebSockets wait, outside
  the registry's lock, until its catalogue and its owner's progress are loaded
  (or failed to), so its `hello` lists them; an attach given up meanwhile leaves
  the sandbox to its grace period like a detach.
- Packets (playground.capture): one packet reader for the process, in its
  namespace; each sandbox keeps its packets from its start, and sends them while a
  WebSocket of it asked to (a detach takes its wish with it) or while its active
  experiment checks packets.
"""

import asyncio
import functools
import logging
import time
from collections import Counter
from collections.abc import Callable

from playground.capture.reader import PacketReader
from playground.capture.sandbox import SandboxCapture
from playground.host.addresses import AddressPool, PoolExhausted
from playground.host.kernel import KernelTable, KernelWatcher
from playground.host.netns import Namespace
from playground.labs.lab import LabHooks, Labs
from playground.sandbox.flow import TokenBucket
from playground.sandbox.quotas import MemoryQuotas, Quotas
from playground.sandbox.sandbox import Sandbox
from playground.wire import events
from playground.wire.errors import SandboxError
from playground.wire.limits import EngineConfig, Limits

log = logging.getLogger(__name__)


class _Entry:
    def __init__(self, sandbox: Sandbox, network: str, limits: Limits):
        self.sandbox = sandbox
        self.network = network  # the client address it counts against (playground.sandbox.quotas)
        self.bucket = TokenBucket(limits.commands_per_second, limits.command_burst)
        self.sinks: list[Callable] = []
        self.started = time.monotonic()
        self.last_command = self.started
        self.grace: asyncio.TimerHandle | None = None
        self.timer: asyncio.TimerHandle | None = None


class Registry:
    def __init__(self, limits: Limits, config: EngineConfig, hooks: LabHooks | None = None):
        self.limits = limits
        self.config = config
        self.labs = Labs(hooks)
        self.pool = AddressPool(config.address_range, config.lock_file)
        self.netns = Namespace(config.network_namespace)
        self.netns.on_lost = self._network_lost
        self.packets = PacketReader(self.netns, self.pool.network, limits)
        self.watcher = KernelWatcher(
            KernelTable(self.pool.network, config.use_kernel, self.netns), config.kernel_tick
        )
        self._entries: dict[str, _Entry] = {}
        self._gone: dict[str, asyncio.Event] = {}
        self._opened = False
        self._lock = asyncio.Lock()
        self.restarting: asyncio.Task | None = None  # a new namespace being made
        # Told the session key of every sandbox closed (the pool engine's leases).
        self.on_discard: Callable[[str], None] | None = None

    @property
    def namespace(self) -> bool:
        """Whether sandbox sockets live in the playground's own network namespace."""
        return self.netns.available

    @property
    def namespace_note(self) -> str:
        return self.netns.reason

    async def _open(self) -> None:
        loop = asyncio.get_running_loop()
        self.netns.loop = loop
        if not await loop.run_in_executor(None, self.netns.start) and self.netns.enabled:
            log.warning("playground: %s; sandboxes use the host's network", self.netns.reason)
        elif self.netns.available and not await loop.run_in_executor(None, self.packets.probe):
            log.warning("playground: %s", self.packets.reason)
        await self.watcher.open()

    def _network_lost(self) -> None:
        """The namespace helper died: sandboxes, whose sockets live in the lost namespace,
        are reset with a clear event, and a new namespace is made."""
        log.warning("playground: %s; resetting %d sandboxes", self.netns.reason, len(self))
        event = events.closed(
            "network_restarted",
            "The playground's network restarted, so this sandbox was reset and its sockets "
            "are gone. The page connects you to a fresh one.",
        )
        for key in list(self._entries):
            self.tell(key, event)
        self.restarting = asyncio.get_running_loop().create_task(self._restart_network())

    async def _restart_network(self) -> None:
        for key in list(self._entries):
            await self.discard(key)
        async with self._lock:
            loop = asyncio.get_running_loop()
            if await loop.run_in_executor(None, self.netns.start):
                await self.watcher.reopen()
                await loop.run_in_executor(None, self.packets.probe)
                log.info("playground: a new network namespace is ready")
            else:
                log.error("playground: %s", self.netns.reason)

    @property
    def capture_available(self) -> bool:
        """Whether sandboxes' packets can be watched (playground.capture)."""
        return self.packets.available

    @property
    def kernel_states(self) -> bool:
        return self.watcher.table.available

    @property
    def kernel_reason(self) -> str:
        return self.watcher.table.reason

    def __len__(self) -> int:
        return len(self._entries)

    @functools.cached_property
    def quotas(self) -> Quotas:
        """In this process's memory; assign a shared implementation to replace it."""
        return MemoryQuotas(self.limits)

    @functools.cached_property
    def _attached(self) -> dict[Callable, str]:
        return {}  # sink -> session key, for every WebSocket attached

    async def attach(
        self, key: str, sink: Callable[[dict], None], address: str = "", owner: dict | None = None
    ) -> Sandbox:
        """Attach a WebSocket's sink to the session's sandbox, made if needed.

        `address`: the client's network (sockets_site.networks.network_of) that a new
        sandbox counts against; `owner`: whose experiment progress it keeps
        (playground.labs.lab). Raises SandboxError when a limit refuses."""
        self.quotas.take_websocket(key)  # before any await: racing tabs cannot overshoot
        try:
            while True:
                async with self._lock:
                    if not self._opened:
                        await self._open()
                        self._opened = True
                    entry = self._entries.get(key)
                    if entry is None:
                        entry = self._create(key, address, owner or {})
                await self._loaded(key, entry)
                if self._entries.get(key) is entry:
                    break  # else it was closed while loading: make another
            # From here to the end nothing awaits: the entry cannot go in between.
            if entry.grace is not None:
                entry.grace.cancel()
                entry.grace = None
            entry.sandbox.lab.adopt(owner)
            entry.sinks.append(sink)
            entry.sandbox.subscribe(sink)
            self._attached[sink] = key
            return entry.sandbox
        except BaseException:
            self.quotas.release_websocket(key)
            raise

    async def _loaded(self, key: str, entry: _Entry) -> None:
        """Until the sandbox's lab has loaded, or was given up with its sandbox."""
        loading = entry.sandbox.lab.loading
        if loading.done():
            return
        try:
            await asyncio.wait([loading])  # neither cancels it nor raises its cancellation
        except BaseException:
            if not entry.sinks and self._entries.get(key) is entry:
                self._wait_grace(key, entry)  # nobody came: like a detach
            raise

    def get(self, key: str) -> Sandbox | None:
        """The session's sandbox, if it has one."""
        entry = self._entries.get(key)
        return entry.sandbox if entry is not None else None

    def inspect(self, key: str) -> dict | None:
        """The session's sandbox as lab questions grade it (playground.live), or None."""
        sandbox = self.get(key)
        if sandbox is None:
            return None
        return {
            "sockets": sandbox.snapshot(),
            "journal": sandbox.lab.journal.export(),
            "kernel_states": self.kernel_states,
        }

    def sessions(self) -> list[str]:
        """The sessions that have a sandbox."""
        return list(self._entries)

    def tell(self, key: str, *said: dict) -> None:
        """Send `said` to every WebSocket of the session's sandbox (not to its lab)."""
        entry = self._entries.get(key)
        for sink in list(entry.sinks) if entry is not None else ():
            for event in said:
                sink(event)

    def attached(self) -> int:
        """How many WebSockets are attached, to all sandboxes together."""
        return len(self._attached)

    def networks(self) -> Counter:
        """How many sandboxes each client network holds here."""
        return Counter(entry.network for entry in self._entries.values())

    def bucket(self, key: str) -> TokenBucket:
        """The session's sandbox's command bucket, shared by all its WebSockets."""
        return self._entries[key].bucket

    def _create(self, key: str, address: str, owner: dict) -> _Entry:
        free = self.limits.sandboxes_per_process - len(self._entries)
        if free <= 0:
            raise SandboxError(
                "limit_sandboxes",
                "The playground is full right now (sandboxes_per_process). Please try again in "
                "a few minutes.",
                limit="sandboxes_per_process",
            )
        self.quotas.take_sandbox(address, free)
        try:
            ips = self.pool.claim(len(self.config.devices))
        except PoolExhausted:
            self.quotas.release_sandbox(address)
            raise SandboxError(
                "limit_addresses", "No loopback addresses are free for a new sandbox right now."
            ) from None
        entry: _Entry
        sandbox = Sandbox(
            dict(zip(self.config.devices, ips, strict=True)),
            self.limits,
            kernel_states=self.kernel_states,
            on_activity=lambda: self._activity(entry),
            make_socket=self.netns.socket,
            own_network=self.netns.available,
        )
        if self.kernel_states:
            sandbox.end_lingering = self.watcher.destroy  # so a reset frees its ports
        sandbox.capture = SandboxCapture(sandbox, self.packets, self.limits)
        sandbox.lab = self.labs.lab(
            sandbox.devices, sandbox.emit, owner, capture=sandbox.capture.want_for_lab
        )
        entry = _Entry(sandbox, address, self.limits)
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
        self.tell(key, events.closed(limit, message))
        asyncio.get_running_loop().create_task(self.discard(key))

    def detach(self, key: str, sink: Callable[[dict], None]) -> None:
        """Undo one attach; safe to call again, or for a sink that never attached."""
        if self._attached.pop(sink, None) is not None:
            self.quotas.release_websocket(key)
        entry = self._entries.get(key)
        if entry is None:
            return
        entry.sandbox.unsubscribe(sink)
        entry.sandbox.capture.forget(sink)
        if sink in entry.sinks:
            entry.sinks.remove(sink)
        if not entry.sinks:
            self._wait_grace(key, entry)

    def _wait_grace(self, key: str, entry: _Entry) -> None:
        if entry.grace is None:
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
        if self.on_discard is not None:
            self.on_discard(key)
        for handle in (entry.grace, entry.timer):
            if handle is not None:
                handle.cancel()
        self.quotas.release_sandbox(entry.network)
        self.watcher.unregister(entry.sandbox)
        entry.sandbox.lab.close()
        await entry.sandbox.aclose()
        self.pool.release(list(entry.sandbox.devices.values()))
        log.info("playground: sandbox %s closed", " ".join(entry.sandbox.devices.values()))
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
        await self.labs.settled()  # the progress of the last moments is kept
        await self.watcher.aclose()
        self.packets.close()
        self.netns.stop()
        self.pool.close()
