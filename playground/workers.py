"""The workers engine: sandboxes in worker processes, reached over the channel layer.

With PLAYGROUND_ENGINE=workers the WebSocket front ends (Daphne) hold no
sandbox. Each worker (`python manage.py playground_worker`, any number per
host) holds a playground.registry.Registry, so a network namespace of its own,
and listens on a channel of its own. Redis (REDIS_URL) holds who is where.

Rules:
- Placement: a session's sandbox lives on the worker its lease names
  (`playground:lease:<session digest>`). Without a live lease, a front end
  places the session on the least-loaded live worker and takes the lease with
  SET NX, so racing front ends agree on one worker.
- Liveness: a worker is alive while its key `playground:worker:<id>` exists.
  Its heartbeat (every HEARTBEAT seconds) renews that key and the leases of
  its sessions for LEASE_MS; a worker that dies (SIGKILL) loses both within
  LEASE_MS.
- Routing: commands go from any front end to the owning worker's channel;
  events go to one group per sandbox, which every WebSocket of the session
  joins, on any front end. A frame's answer (`ok` or `error`) travels with
  the events, in the same batches, marked with the request it answers, so it
  comes after the events the command caused and costs no message of its own;
  the WebSocket that sent it keeps it, the others drop it. A frame that gets
  no answer in ANSWER_SECONDS is answered `internal_error` by the front end.
  Attaching waits for a reply on the front end's one reply channel. A
  worker publishes a sandbox's events numbered, in batches of what queued
  meanwhile (one message for many events), so each WebSocket receives
  them in order; the `hello` says the number it was taken at, and a WebSocket
  drops the earlier events it already holds in it. The channel layer is
  channels_redis's pub/sub layer (one PUBLISH a message, pushed to the
  subscriber): a message to a channel nobody receives is lost, so a worker
  joins the pool only once a message to its own channel has reached it.
- Faults are said: a front end checks every MONITOR seconds that the workers
  of its WebSockets live; a worker gone (or unanswering, then gone) means a
  `sandbox.lost` event, then a fresh sandbox on a live worker and its `hello`.
  SIGTERM drains a worker: no new placements, `sandbox.lost` to every
  visitor, sandboxes closed, exit.
- Redis going away loses no sandbox: workers keep theirs, and re-register
  and renew their leases when it is back. Events published meanwhile are
  lost, and a restarted Redis has forgotten the groups, so a front end that
  sees Redis fail, or find its own key gone, resynchronises every WebSocket:
  joins its group again and sends a fresh `hello` (after `sandbox.lost` if
  the sandbox did not survive). An outage is logged once, without traceback
  (playground.outage); commands meanwhile get an `error`, not a closed socket.
- Quotas that span processes (sandboxes per address) are counted in Redis
  (playground.redis_quotas); WebSockets per session are counted by the owning
  worker, which sees every WebSocket of the session.
- Per-tab ops (`capture`) are the wish of the WebSocket that sent the frame: the
  worker knows it by the frame's consumer channel (its RemoteSink), and the wish
  ends with that sink's detach; a re-attach of the same WebSocket (a resync)
  keeps it. Packets are captured in the worker, in its own namespace.
"""

import asyncio
import contextlib
import hashlib
import ipaddress
import logging
import signal
import time
import uuid
from collections import deque
from collections.abc import Callable

import redis.asyncio as aioredis
from channels.exceptions import ChannelFull
from channels.layers import get_channel_layer
from redis.exceptions import RedisError

from playground import events, outage, protocol
from playground.engine import Attachment, Engine, Sink, answer, hello_events, oversize
from playground.kernel import KernelTable, KernelWatcher
from playground.labs import LabHooks
from playground.limits import EngineConfig, Limits
from playground.registry import Registry
from playground.sandbox import SandboxError

log = logging.getLogger(__name__)

PREFIX = "playground:"
WORKERS = PREFIX + "workers"  # sorted set: worker id -> sandboxes it holds
HEARTBEAT = 1.0  # seconds between a worker's heartbeats
LEASE_MS = 3000  # a worker's key and leases live this long after its last heartbeat
MONITOR = 1.0  # seconds between a front end's checks that its workers live
ANSWER_SECONDS = 5.0  # a worker that does not answer a command this long is checked
DRAIN_SECONDS = 5.0  # at most this long to tell visitors when draining
BATCH = 64  # events at most in one published message
FRONT_TICK = 1.0  # seconds between a front end's reads of its WebSockets' send queues

_CAS_DELETE = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""
_RENEW = """
local holder = redis.call('get', KEYS[1])
if holder == false or holder == ARGV[1] then
  redis.call('set', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
"""


def _digest(session: str) -> str:
    return hashlib.sha256(session.encode()).hexdigest()[:32]


def worker_key(worker: str) -> str:
    return f"{PREFIX}worker:{worker}"


def lease_key(session: str) -> str:
    return f"{PREFIX}lease:{_digest(session)}"


def group_name(session: str) -> str:
    return f"playground.sandbox.{_digest(session)}"


def worker_channel(worker: str) -> str:
    return f"playground.worker.{worker}"


def front_key(front: str) -> str:
    return f"{PREFIX}front:{front}"


LOST_MESSAGES = {
    "worker_lost": "The server process that held this sandbox stopped, so its sockets are "
    "gone. A fresh sandbox follows.",
    "worker_stopped": "The server process that held this sandbox was shut down, so its sockets "
    "are gone. A fresh sandbox follows.",
}


def lost_event(reason: str) -> dict:
    return events.lost(reason, LOST_MESSAGES[reason])


def _no_worker() -> SandboxError:
    return SandboxError(
        "limit_sandboxes",
        "No playground worker is available right now. Please try again in a few minutes.",
        limit="workers",
    )


def _unreachable() -> SandboxError:
    return SandboxError(
        "limit_sandboxes",
        "The playground cannot reach its workers right now. Please try again in a moment.",
        limit="workers",
    )


def _unavailable_event(text: str | None) -> dict:
    return events.error(
        "internal_error",
        "The sandbox did not answer in time; please try again.",
        protocol.echoable_ref(text),
    )


# The front end ----------------------------------------------------------------


class RemoteAttachment(Attachment):
    def __init__(
        self,
        engine: "WorkersEngine",
        key: str,
        address: str,
        sink: Sink,
        channel: str,
        owner: dict | None = None,
    ):
        self.engine, self.key, self.address, self.sink = engine, key, address, sink
        self.owner = owner or {}
        self.channel = channel  # the consumer's own channel
        self.limits = engine.limits
        self.worker: str | None = None
        self.after = 0  # events numbered up to this are in the hello
        self.attached = True
        self.recovering: asyncio.Task | None = None
        self.held: list[dict] | None = None  # events that came while recovering
        self.pending: dict[str, tuple[str | None, asyncio.TimerHandle]] = {}  # frames
        self.hello_events: list[dict] = []

    async def place(self, prefer: str | None = None) -> None:
        """Attach to the session's sandbox on its worker, placing it if needed.

        `prefer`: the worker that held it, asked first (after a Redis restart its
        lease may not be back yet, and must not go to another worker meanwhile)."""
        for attempt in range(3):
            worker = prefer if prefer and not attempt else await self.engine.place(self.key)
            message = {
                "type": "attach",
                "session": self.key,
                "address": self.address,
                "consumer": self.channel,
                "owner": self.owner,
            }
            try:
                reply = await self.engine.call(worker, message)
            except (TimeoutError, ChannelFull):
                log.warning("playground: worker %s did not answer an attach", worker)
                await self.engine.forget_if_dead(self.key, worker)
                continue
            if "error" in reply:
                error = dict(reply["error"])
                error.pop("type", None), error.pop("ref", None)
                raise SandboxError(error.pop("code"), error.pop("message"), **error)
            self.worker, self.after, self.hello_events = worker, reply["seq"], reply["events"]
            return
        raise _no_worker()

    async def frame(self, text: str | None) -> None:
        if self.recovering is not None:
            await asyncio.gather(asyncio.shield(self.recovering), return_exceptions=True)
        worker = self.worker
        if worker is None or not self.attached:
            return
        too_big = oversize(text, self.limits)
        request = uuid.uuid4().hex
        timer = asyncio.get_running_loop().call_later(ANSWER_SECONDS, self._unanswered, request)
        self.pending[request] = (text, timer)
        message = {
            "type": "frame",
            "session": self.key,
            "text": None if too_big else text,
            "too_big": too_big,
            "request": request,
            "consumer": self.channel,
        }
        try:
            await self.engine.layer.send(worker_channel(worker), message)
        except Exception as error:  # Redis away: say so, keep the WebSocket
            outage.redis.failed(error)
            self._unanswered(request)

    def _unanswered(self, request: str, message: str | None = None) -> None:
        text, timer = self.pending.pop(request, (None, None))
        if timer is None:
            return
        timer.cancel()
        event = _unavailable_event(text)
        if message:
            event["message"] = message
        self.sink(event)
        self.engine.check_now()

    def deliver(self, message: dict) -> None:
        if self.held is not None:
            self.held.append(message)  # sorted out once the fresh hello is in
            return
        if message.get("worker") != self.worker:
            return  # from a worker this WebSocket left
        if "missing" in message:  # the worker holds no sandbox for this session
            self.lose(message["worker"], "worker_lost")
            return
        for entry in message["events"]:
            seq, event = entry[0], entry[1]
            if seq <= self.after:
                continue  # already in its hello
            if len(entry) > 2:  # a frame's answer
                _, timer = self.pending.pop(entry[2], (None, None))
                if timer is not None:  # this WebSocket's, not another tab's
                    timer.cancel()
                    self.sink(event)
                continue
            if event["type"] == "sandbox.lost":
                self.lose(message["worker"], event["reason"])
                return
            self.sink(event)

    def lose(self, worker: str, reason: str) -> None:
        """The sandbox on `worker` is gone: say so, and attach to a fresh one."""
        if worker != self.worker or self.recovering is not None or not self.attached:
            return
        self.worker = None
        for request in list(self.pending):
            self._unanswered(request, "The sandbox was lost before it answered; see below.")
        self._start_recovery(self._recover(reason))

    def resync(self) -> None:
        """Events may have been lost (Redis went away): a fresh hello from the sandbox."""
        if self.worker is None or self.recovering is not None or not self.attached:
            return
        self._start_recovery(self._recover(None, was=self.worker))

    def _start_recovery(self, coroutine) -> None:
        self.held = []
        self.recovering = asyncio.get_running_loop().create_task(coroutine)

    async def _recover(self, reason: str | None, was: str | None = None) -> None:
        if reason:
            self.sink(lost_event(reason))
        try:
            with contextlib.suppress(Exception):  # a restarted Redis forgot the group
                await self.engine.layer.group_add(group_name(self.key), self.channel)
            await self.place(prefer=was)
            if was is not None and self.worker != was:  # its worker went in the outage
                self.sink(lost_event("worker_lost"))
        except SandboxError as error:
            self.sink(protocol.error_event(error))
            self.sink(
                events.closed("sandbox_lost", "No fresh sandbox could be made; reconnect later.")
            )
            return
        except Exception as error:  # Redis away: the page reconnects when it can
            outage.redis.failed(error)
            self.sink(
                events.closed(
                    "sandbox_lost", "The playground lost touch with its sandbox; reconnect."
                )
            )
            return
        finally:
            held, self.held, self.recovering = self.held or [], None, None
        if not self.attached:  # the WebSocket went while the new sandbox was made
            self.engine.send_detach(self.worker, self.key, self.channel)
            return
        for event in self.hello_events:
            self.sink(event)
        for message in held:
            self.deliver(message)

    def detach(self) -> None:
        if not self.attached:
            return
        self.attached = False
        for _, timer in self.pending.values():
            timer.cancel()
        self.pending.clear()
        self.engine.attachments.discard(self)
        if self.worker is not None:
            self.engine.send_detach(self.worker, self.key, self.channel)
        self.engine.spawn(self.engine.leave_group(self.key, self.channel))


class WorkersEngine(Engine):
    """The front end's side: places sessions, routes commands, watches workers."""

    def __init__(self, limits: Limits, redis_url: str, config: EngineConfig | None = None):
        self.limits = limits
        config = config or EngineConfig()
        # Reads the send queues of this process's own WebSocket connections (slow clients):
        # once a second is enough to close one within slow_client_seconds, and the exact
        # look-ups of thousands of connections ten times a second cost a third of a core.
        table = KernelTable(ipaddress.ip_network(config.address_range), config.use_kernel)
        self.watcher = KernelWatcher(table, FRONT_TICK)
        self._watcher_opened: asyncio.Future | None = None
        self.redis = aioredis.from_url(redis_url, decode_responses=True)
        self.layer = get_channel_layer()
        self.attachments: set[RemoteAttachment] = set()
        self._monitor: asyncio.Task | None = None
        self._kick = asyncio.Event()
        self._tasks: set[asyncio.Task] = set()
        self.front = uuid.uuid4().hex[:16]  # this process, as workers know it
        self.replies: dict[str, asyncio.Future] = {}
        self._reply_channel: asyncio.Future | None = None

    def spawn(self, coroutine) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def attach(
        self, key: str, address: str, sink: Sink, consumer, owner: dict | None = None
    ) -> Attachment:
        attachment = RemoteAttachment(self, key, address, sink, consumer.channel_name, owner)
        try:
            await self.redis.set(front_key(self.front), "1", px=LEASE_MS)
            # Joined first, so no event after the hello's snapshot can be missed.
            await self.layer.group_add(group_name(key), consumer.channel_name)
        except Exception as error:
            outage.redis.failed(error)
            raise _unreachable() from error
        try:
            await attachment.place()
        except BaseException as error:
            await self.leave_group(key, consumer.channel_name)
            if isinstance(error, Exception) and not isinstance(error, SandboxError):
                outage.redis.failed(error)
                raise _unreachable() from error
            raise
        if self._watcher_opened is None:
            self._watcher_opened = asyncio.ensure_future(self.watcher.open())
        await asyncio.shield(self._watcher_opened)
        if self.watcher.table.available:
            attachment.watcher = self.watcher
        self.attachments.add(attachment)
        if self._monitor is None or self._monitor.done():
            self._monitor = asyncio.get_running_loop().create_task(self._watch())
        return attachment

    async def inspect(self, key: str) -> dict | None:
        """The session's sandbox as its worker holds it (Registry.inspect there), or None:
        no live lease, or no answer (the worker died, Redis is away)."""
        worker = None
        try:
            worker = await self.redis.get(lease_key(key))
            if worker is None:
                return None
            reply = await self.call(worker, {"type": "inspect", "session": key})
        except (TimeoutError, ChannelFull):
            log.warning("playground: worker %s did not answer an inspect", worker)
            return None
        except Exception as error:
            outage.redis.failed(error)
            return None
        return reply.get("inspected")

    async def live_workers(self) -> list[tuple[str, float]]:
        """(worker id, load) of every live worker, least loaded first."""
        members = await self.redis.zrange(WORKERS, 0, -1, withscores=True)
        if not members:
            return []
        alive = await self.redis.mget([worker_key(worker) for worker, _ in members])
        dead = [worker for (worker, _), key in zip(members, alive, strict=True) if key is None]
        if dead:
            await self.redis.zrem(WORKERS, *dead)
        return [m for m, key in zip(members, alive, strict=True) if key is not None]

    async def place(self, key: str) -> str:
        """The live worker that holds, or is to hold, the session's sandbox."""
        lease = lease_key(key)
        for _ in range(5):
            worker = await self.redis.get(lease)
            if worker is not None:
                if await self.redis.exists(worker_key(worker)):
                    return worker
                await self.redis.eval(_CAS_DELETE, 1, lease, worker)
            live = await self.live_workers()
            if not live:
                raise _no_worker()
            chosen = min(live, key=lambda member: member[1])[0]
            if await self.redis.set(lease, chosen, nx=True, px=LEASE_MS):
                # Counted at once, so placements between heartbeats spread out.
                await self.redis.zincrby(WORKERS, 1, chosen)
                return chosen
        raise _no_worker()

    async def forget_if_dead(self, key: str, worker: str) -> None:
        if not await self.redis.exists(worker_key(worker)):
            await self.redis.eval(_CAS_DELETE, 1, lease_key(key), worker)

    async def call(self, worker: str, message: dict) -> dict:
        """Send to a worker and wait for its reply (TimeoutError if none comes)."""
        if self._reply_channel is None:
            self._reply_channel = asyncio.ensure_future(self._receive_replies())
        reply_to = await asyncio.shield(self._reply_channel)
        message = {**message, "reply_to": reply_to, "front": self.front}
        return await self._request(worker_channel(worker), message, ANSWER_SECONDS)

    async def _request(self, channel: str, message: dict, timeout: float) -> dict:
        """Send `message` with a request id; the reply that carries it back."""
        request = uuid.uuid4().hex
        self.replies[request] = asyncio.get_running_loop().create_future()
        try:
            await self.layer.send(channel, {**message, "request": request})
            return await asyncio.wait_for(self.replies[request], timeout)
        finally:
            self.replies.pop(request, None)

    async def _until_replies_reach_us(self) -> None:
        """Until a message to this process's reply channel reaches it: after a Redis
        restart, the pub/sub subscriptions are back only once that one is."""
        if self._reply_channel is None:
            return  # no request made yet: nothing subscribed to come back
        channel = await asyncio.shield(self._reply_channel)
        while True:
            try:
                await self._request(channel, {}, HEARTBEAT)  # its own request comes back
                return
            except TimeoutError:
                continue
            except Exception as error:
                outage.redis.failed(error)
                await asyncio.sleep(HEARTBEAT)

    async def _receive_replies(self) -> str:
        """This process's one reply channel, received by a task of its own."""
        channel = await self.layer.new_channel()

        async def receive():
            while True:
                reply = await outage.retrying(lambda: self.layer.receive(channel))
                future = self.replies.get(reply.pop("request", None))
                if future is not None and not future.done():
                    future.set_result(reply)

        self.spawn(receive())
        return channel

    def send_detach(self, worker: str, key: str, channel: str) -> None:
        message = {"type": "detach", "session": key, "consumer": channel}
        self.spawn(self._send_quietly(worker_channel(worker), message))

    async def _send_quietly(self, channel: str, message: dict) -> None:
        try:
            await self.layer.send(channel, message)
        except Exception as error:
            outage.redis.failed(error)

    async def leave_group(self, key: str, channel: str) -> None:
        with contextlib.suppress(Exception):  # Redis away: a restarted one forgot it anyway
            await self.layer.group_discard(group_name(key), channel)

    def check_now(self) -> None:
        self._kick.set()

    async def _watch(self) -> None:
        """While WebSockets are attached: find the workers that died under them, and
        resynchronise every WebSocket after Redis went away."""
        missing_since: dict[str, float] = {}
        failed = False
        pending: set[RemoteAttachment] = set()  # to resynchronise once their worker is back
        while self.attachments:
            workers = list({a.worker for a in self.attachments if a.worker is not None})
            try:
                # This process lives: workers keep its WebSockets attached (Worker._reap).
                kept = await self.redis.set(front_key(self.front), "1", px=LEASE_MS, get=True)
                alive = await self.redis.mget([worker_key(w) for w in workers]) if workers else []
            except Exception as error:
                outage.redis.failed(error)
                failed = True
            else:
                outage.redis.recovered()
                if failed or kept is None:  # Redis was away, or restarted and forgot us
                    failed = False
                    await self._until_replies_reach_us()
                    pending = set(self.attachments)
                now = time.monotonic()
                for worker, key in zip(workers, alive, strict=True):
                    if key is not None:
                        missing_since.pop(worker, None)
                        for attachment in [a for a in pending if a.worker == worker]:
                            pending.discard(attachment)
                            attachment.resync()
                    # Missing across two heartbeats: not just a Redis that restarted.
                    elif now - missing_since.setdefault(worker, now) >= 2 * HEARTBEAT:
                        log.warning("playground: worker %s is gone", worker)
                        del missing_since[worker]
                        for attachment in list(self.attachments):
                            attachment.lose(worker, "worker_lost")
            self._kick.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._kick.wait(), MONITOR)


# The worker -------------------------------------------------------------------


class Publisher:
    """A sandbox's events to its group, one at a time, numbered."""

    def __init__(self, layer, group: str, worker: str):
        self.layer, self.group, self.worker = layer, group, worker
        self.seq = 0
        self._last: dict | None = None
        self._queue: deque = deque()
        self._wake = asyncio.Event()
        self._closing = False
        self.task = asyncio.get_running_loop().create_task(self._run())

    def publish(self, event: dict) -> None:
        # The sandbox hands one event to the sink of every WebSocket attached; the
        # group reaches them all, so it is published once.
        if event is self._last or self._closing:
            return
        self._last = event
        self.seq += 1
        self._queue.append((self.seq, event))
        self._wake.set()

    def answer(self, request: str, event: dict) -> None:
        """A frame's answer, after the events it caused; for the WebSocket that asked."""
        self.seq += 1
        self._queue.append((self.seq, event, request))
        self._wake.set()

    def close(self) -> None:
        self._closing = True
        self._wake.set()

    async def _run(self) -> None:
        while True:
            while self._queue:
                batch = [self._queue.popleft() for _ in range(min(BATCH, len(self._queue)))]
                message = {"type": "playground.message", "worker": self.worker, "events": batch}
                try:
                    await self.layer.group_send(self.group, message)
                except Exception as error:  # front ends resynchronise when Redis is back
                    outage.redis.failed(error)
            if self._closing:
                return
            self._wake.clear()
            await self._wake.wait()


class RemoteSink:
    """One attached WebSocket, as the registry counts it."""

    __slots__ = ("consumer", "front", "publisher")

    def __init__(self, publisher: Publisher, consumer: str, front: str):
        self.publisher, self.consumer, self.front = publisher, consumer, front

    def __call__(self, event: dict) -> None:
        self.publisher.publish(event)


class Worker:
    def __init__(
        self,
        limits: Limits,
        config: EngineConfig,
        redis_url: str,
        quotas=None,
        hooks: LabHooks | None = None,
    ):
        self.id = uuid.uuid4().hex[:16]
        self.hooks = hooks  # the course's experiments and progress (playground.labs)
        self.channel = worker_channel(self.id)
        self.limits = limits
        self.config = config
        self.redis_url = redis_url
        self.quotas = quotas
        self.publishers: dict[str, Publisher] = {}
        self.sinks: dict[tuple[str, str], RemoteSink] = {}
        self._tasks: set[asyncio.Task] = set()
        self.registered = False
        self.reported: int | None = None  # the load last written to Redis

    async def run(self, ready: Callable[[str], None] = print) -> None:
        loop = asyncio.get_running_loop()
        self.layer = get_channel_layer()
        self.redis = aioredis.from_url(self.redis_url, decode_responses=True)
        self.registry = Registry(self.limits, self.config, self.hooks)
        if self.quotas is not None:
            self.registry.quotas = self.quotas(self)
        self.registry.on_discard = self._discarded
        self.stopping = asyncio.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, self.stopping.set)
        self.listening = asyncio.Event()
        receiver = loop.create_task(self._receive())
        await self._until_listening()
        await self._beat()  # in the pool from here: front ends may place sessions here
        heart = loop.create_task(self._heartbeat())
        ready(f"playground worker {self.id} ready on {self.channel}")
        await self.stopping.wait()
        receiver.cancel()
        heart.cancel()
        await asyncio.gather(receiver, heart, return_exceptions=True)
        await self.drain()

    async def drain(self) -> None:
        """Leave the pool, tell every visitor, close every sandbox."""
        log.info("playground worker %s: draining %d sandboxes", self.id, len(self.registry))
        with contextlib.suppress(Exception):
            await self.redis.delete(worker_key(self.id))
            await self.redis.zrem(WORKERS, self.id)
        event = lost_event("worker_stopped")
        for key, publisher in list(self.publishers.items()):
            publisher.publish(event)
            with contextlib.suppress(Exception):
                await self.redis.eval(_CAS_DELETE, 1, lease_key(key), self.id)
        publishers = [p.task for p in self.publishers.values()]
        await self.registry.aclose()  # closes every publisher (_discarded)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(
                asyncio.gather(*publishers, return_exceptions=True), DRAIN_SECONDS
            )
        with contextlib.suppress(Exception):
            await self.redis.aclose()

    async def _beat(self) -> None:
        # The load is written only when it changed: front ends count each placement
        # at once (WorkersEngine.place), and an unchanged count from before the
        # placed WebSocket arrived must not undo that.
        load = len(self.registry)
        async with self.redis.pipeline(transaction=False) as pipe:
            # XX: renewed only while it exists. Gone, Redis lost it (it restarted): the
            # worker makes sure its channel reaches it again before it rejoins the pool.
            pipe.set(worker_key(self.id), self.channel, px=LEASE_MS, xx=True, get=True)
            if load != self.reported:
                pipe.zadd(WORKERS, {self.id: load})
            quota_key = getattr(self.registry.quotas, "key", None)
            if quota_key:
                pipe.pexpire(quota_key, LEASE_MS)
            for key in self.registry.sessions():
                pipe.eval(_RENEW, 1, lease_key(key), self.id, LEASE_MS)
            previous = (await pipe.execute())[0]
        if previous is None:  # the first beat, or Redis lost the worker (it restarted, say)
            if self.registered:
                self.listening.clear()
                await self._until_listening()
            await self.redis.set(worker_key(self.id), self.channel, px=LEASE_MS)
            await self.redis.zadd(WORKERS, {self.id: load})
            if self.registered:  # the key and the leases are back now; the counts too
                restore = getattr(self.registry.quotas, "restore", None)
                if restore is not None:
                    restore(self.registry.networks())
                log.warning("playground worker %s: registered again in Redis", self.id)
        self.registered, self.reported = True, load

    async def _heartbeat(self) -> None:
        missing_since: dict[str, float] = {}
        while True:
            await asyncio.sleep(HEARTBEAT)
            try:
                await self._beat()
                await self._reap(missing_since)
            except Exception as error:
                outage.redis.failed(error)
            else:
                outage.redis.recovered()

    async def _reap(self, missing_since: dict[str, float]) -> None:
        """Detach the WebSockets of front ends that died (their key expired): their
        sandboxes then reach their grace period, and their quotas are given back."""
        fronts = list({sink.front for sink in self.sinks.values()})
        alive = await self.redis.mget([front_key(f) for f in fronts]) if fronts else []
        now = time.monotonic()
        for front, key in zip(fronts, alive, strict=True):
            if key is not None:
                missing_since.pop(front, None)
            elif now - missing_since.setdefault(front, now) >= 2 * HEARTBEAT:
                del missing_since[front]
                gone = [pair for pair, sink in self.sinks.items() if sink.front == front]
                for key_and_consumer in gone:
                    self.registry.detach(key_and_consumer[0], self.sinks.pop(key_and_consumer))
                log.warning(
                    "playground worker %s: front end %s is gone; detached %d WebSockets",
                    self.id,
                    front,
                    len(gone),
                )

    async def _until_listening(self) -> None:
        """Until a message sent to this worker's channel comes back to it: with pub/sub,
        a command sent before the subscription took effect would be lost."""
        while not self.listening.is_set():
            await outage.retrying(lambda: self.layer.send(self.channel, {"type": "listening"}))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.listening.wait(), HEARTBEAT)

    async def _receive(self) -> None:
        while True:
            # Redis away (restarting): the sandboxes live on; retried until it is back.
            message = await outage.retrying(lambda: self.layer.receive(self.channel))
            if message.get("type") == "listening":
                self.listening.set()
                continue
            task = asyncio.get_running_loop().create_task(self._handle(message))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _handle(self, message: dict) -> None:
        try:
            handler = {
                "attach": self._attach,
                "frame": self._frame,
                "detach": self._detach,
                "inspect": self._inspect,
            }
            reply = await handler[message["type"]](message)
        except Exception as error:
            if isinstance(error, RedisError):  # said once per outage, without a traceback
                outage.redis.failed(error)
            else:
                log.exception("playground worker: a %s failed", message.get("type"))
            message_text = "Something went wrong on our side; please try again."
            reply = {"error": events.error("internal_error", message_text)}
        if reply is not None and message.get("reply_to"):
            try:
                await self.layer.send(message["reply_to"], {**reply, "request": message["request"]})
            except ChannelFull:
                pass  # the front end answers its visitor when no reply comes
            except Exception as error:
                outage.redis.failed(error)

    async def _attach(self, message: dict) -> dict:
        key, consumer = message["session"], message["consumer"]
        publisher = self.publishers.get(key)
        if publisher is None:
            publisher = self.publishers[key] = Publisher(self.layer, group_name(key), self.id)
        old = self.sinks.pop((key, consumer), None)
        sink = RemoteSink(publisher, consumer, message["front"])
        held = self.registry.get(key)
        if old is not None and held is not None and old in held.capture.tabs:
            # A resync re-attaches the same WebSocket: its wish for packets stays,
            # moved before the old sink goes so that capture never stops in between.
            held.capture.want(sink, True)
        if old is not None:
            self.registry.detach(key, old)
        try:
            sandbox = await self.registry.attach(
                key, sink, message["address"], message.get("owner")
            )
        except SandboxError as error:
            if held is not None:
                held.capture.forget(sink)
            if self.registry.get(key) is None and self.publishers.get(key) is publisher:
                self.publishers.pop(key).close()
            return {"error": protocol.error_event(error)}
        # No await from the attach to here: the snapshot and its number agree.
        events, seq = hello_events(self.registry, key, sandbox), publisher.seq
        self.sinks[(key, consumer)] = sink
        await self.redis.eval(_RENEW, 1, lease_key(key), self.id, LEASE_MS)
        return {"seq": seq, "events": events, "worker": self.id}

    async def _frame(self, message: dict) -> None:
        key = message["session"]
        sandbox, publisher = self.registry.get(key), self.publishers.get(key)
        if sandbox is None or publisher is None:
            missing = {"type": "playground.message", "worker": self.id, "missing": True}
            await self.layer.send(message["consumer"], missing)
            return
        bucket = self.registry.bucket(key)
        tab = self.sinks.get((key, message["consumer"]))  # None: that WebSocket left
        event = await answer(
            sandbox, bucket, self.limits, message["text"], message["too_big"], tab=tab
        )
        publisher.answer(message["request"], event)

    async def _inspect(self, message: dict) -> dict:
        return {"inspected": self.registry.inspect(message["session"])}

    async def _detach(self, message: dict) -> None:
        sink = self.sinks.pop((message["session"], message["consumer"]), None)
        if sink is not None:
            self.registry.detach(message["session"], sink)

    def _discarded(self, key: str) -> None:
        publisher = self.publishers.pop(key, None)
        if publisher is not None:
            publisher.close()
        for pair in [pair for pair in self.sinks if pair[0] == key]:
            del self.sinks[pair]
        task = asyncio.get_running_loop().create_task(self._release_lease(key))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _release_lease(self, key: str) -> None:
        try:
            await self.redis.eval(_CAS_DELETE, 1, lease_key(key), self.id)
        except Exception as error:  # it expires by itself within LEASE_MS
            outage.redis.failed(error)
