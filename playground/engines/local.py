"""The local engine: sandboxes in this process's registry (no Django).

The embedded default (`make run`: one process, no services), and the base of the
pool engine (playground.engines.pool), whose processes hold sandboxes the same way.

Rules:
- `answer` is the one place a frame becomes an answer (rate limit, size, parsing,
  execution), in the process that holds the sandbox.
- `hello_events` is taken with no await, so the `hello` and its chunks are one
  consistent snapshot.
"""

import logging

from playground.capture.reader import unavailable as capture_unavailable
from playground.engines.base import Attachment, Client, Engine, Sink
from playground.host.kernel import KernelWatcher
from playground.sandbox.flow import TokenBucket
from playground.sandbox.registry import Registry
from playground.sandbox.sandbox import Sandbox
from playground.wire import events, protocol
from playground.wire.errors import SandboxError
from playground.wire.limits import Limits

log = logging.getLogger(__name__)


def oversize(text: str | None, limits: Limits) -> bool:
    return text is not None and (
        len(text) > limits.message_bytes or len(text.encode("utf-8")) > limits.message_bytes
    )


async def answer(
    sandbox: Sandbox,
    bucket: TokenBucket,
    limits: Limits,
    text: str | None,
    tab: Sink | None = None,
) -> dict:
    """The `ok` or `error` event answering one frame (`text` None: a binary frame), sent
    by the WebSocket whose sink is `tab` (ops such as `capture` are that tab's).

    Every frame pays a token first, so neither binary nor oversize frames are free.
    The sandbox's lab sees the answer to every command read, before it is sent: the
    `experiment.progress` it causes comes first, like the other events of the command."""
    if not bucket.take():
        return events.error(
            "limit_commands_per_second",
            f"Too many commands: at most {limits.commands_per_second} a second, "
            f"{limits.command_burst} at once, for the whole sandbox (commands_per_second).",
            limit="commands_per_second",
        )
    if text is None:
        return events.error("binary_not_supported", "Send commands as JSON text, not binary.")
    if oversize(text, limits):
        return events.error(
            "limit_message_bytes",
            f"Messages may be at most {limits.message_bytes} bytes (message_bytes).",
            limit="message_bytes",
        )
    try:
        command = protocol.parse(text)
    except SandboxError as error:
        return protocol.error_event(error)
    except Exception:  # a bug must not end the visitor's connection
        log.exception("playground message could not be parsed")
        return events.error("internal_error", "That message could not be read; please try again.")
    event = await _execute(sandbox, command, tab)
    if sandbox.lab is not None:
        sandbox.lab.answered(command.op, event)
    return event


async def _execute(sandbox: Sandbox, command: protocol.Command, tab: Sink | None) -> dict:
    try:
        result = await protocol.execute(sandbox, command, tab)
    except SandboxError as error:
        return protocol.error_event(error, ref=command.ref)
    except Exception:  # a bug must not end the visitor's connection
        log.exception("playground command failed")
        return events.error(
            "internal_error", "Something went wrong on our side; please try again.", command.ref
        )
    return protocol.ok_event(command, result)


NO_LAB = {"experiments": [], "experiment": None, "progress": {}}


def hello_events(registry: Registry, key: str, sandbox: Sandbox) -> list[dict]:
    """The `hello` and its hello chunks, in one step (no await): one consistent snapshot."""
    chunks = protocol.hello_chunks(sandbox.kept_data())
    lab = sandbox.lab.hello() if sandbox.lab else NO_LAB
    hello = events.hello(
        protocol=protocol.PROTOCOL_VERSION,
        devices=[{"name": n, "ip": ip} for n, ip in sandbox.devices.items()],
        limits=registry.limits.public(),
        kernel_states=registry.kernel_states,
        kernel_states_note=registry.kernel_reason,
        network_namespace=registry.namespace,
        network_namespace_note=registry.namespace_note,
        capture=(
            sandbox.capture.public()
            if sandbox.capture is not None
            else capture_unavailable(None, registry.limits)
        ),
        expires=registry.expires_in(key),
        experiments=lab["experiments"],
        experiment=lab["experiment"],
        progress=lab["progress"],
        sockets=sandbox.snapshot(),
        packets=sandbox.capture.kept_events() if sandbox.capture is not None else [],
        data=[],  # kept data follows in `data_chunks` hello chunks
        data_chunks=len(chunks),
    )
    return [hello, *chunks]


class LocalAttachment(Attachment):
    def __init__(self, registry: Registry, key: str, sink: Sink, sandbox: Sandbox):
        self.registry, self.key, self.sink, self.sandbox = registry, key, sink, sandbox
        self.limits = registry.limits
        self.attached = True
        try:
            self.bucket = registry.bucket(key)
            self.hello_events = hello_events(registry, key, sandbox)
        except BaseException:
            self.detach()
            raise

    async def frame(self, text: str | None) -> None:
        self.sink(await answer(self.sandbox, self.bucket, self.limits, text, tab=self.sink))

    def detach(self) -> None:
        if self.attached:
            self.attached = False
            self.registry.detach(self.key, self.sink)


class LocalEngine(Engine):
    """Sandboxes in this process."""

    def __init__(self, registry: Registry):
        self.registry = registry
        self.limits = registry.limits

    async def attach(self, client: Client, sink: Sink) -> Attachment:
        sandbox = await self.registry.attach(client.session, sink, client.address, client.owner)
        return LocalAttachment(self.registry, client.session, sink, sandbox)

    async def inspect(self, session: str) -> dict | None:
        return self.registry.inspect(session)

    @property
    def send_queues(self) -> KernelWatcher | None:
        return self.registry.watcher if self.registry.kernel_states else None

    async def aclose(self) -> None:
        await self.registry.aclose()
