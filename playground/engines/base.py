"""The one seam between the playground's WebSocket consumer and its sandboxes (no Django).

Rules:
- The consumer calls only what is declared here, whichever engine runs
  (playground.engines.ENGINES): `Engine.attach` gives an `Attachment`, whose
  `hello_events` are sent first, whose `frame` answers one frame from the client
  (the answer, `ok` or `error`, goes to the sink like every other event), and
  whose `detach` undoes the attach and is safe to call more than once.
- Every engine keeps a session's sandbox in the process that serves the
  session's WebSockets: an engine decides whether this process may hold it,
  never where commands travel. So a command and its events cross no broker.
- `Engine.inspect` is the one way to read a session's sandbox from elsewhere
  (an HTTP request grading a lab question): None when it has none, or when its
  owner does not answer.
- `Engine.send_queues` reads the send queues of this process's own TCP
  connections: the consumer's slow-reader rule (playground.sandbox.flow.SlowReader)
  asks it about its WebSocket. None where the kernel's table cannot be read.
"""

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field

from playground.host.kernel import KernelWatcher
from playground.wire.limits import Limits

Sink = Callable[[dict], None]


@dataclass(frozen=True)
class Client:
    """Who a WebSocket is, as the engine needs it."""

    session: str  # the Django session key: one sandbox per session
    address: (
        str  # the client's network, that a new sandbox counts against (playground.sandbox.quotas)
    )
    owner: dict = field(default_factory=dict)  # whose experiment progress (playground.labs.lab)
    lost: str = ""  # the proxy's word that the session's sandbox died with its process


class Attachment(ABC):
    limits: Limits
    hello_events: list[dict]  # the `hello` and its chunks: one snapshot, sent first

    @abstractmethod
    async def frame(self, text: str | None) -> None:
        """Called for each frame from the client (`text` None: a binary frame)."""

    @abstractmethod
    def detach(self) -> None:
        """Called when the WebSocket goes; safe to call more than once."""


class Engine(ABC):
    limits: Limits

    @abstractmethod
    async def attach(self, client: Client, sink: Sink) -> Attachment:
        """Called when a WebSocket opens: its session's sandbox, made if needed. Raises
        playground.wire.errors.SandboxError naming the limit that refused."""

    @abstractmethod
    async def inspect(self, session: str) -> dict | None:
        """The session's sandbox as lab questions grade it (Registry.inspect), or None."""

    @property
    @abstractmethod
    def send_queues(self) -> KernelWatcher | None:
        """This process's reader of its own TCP connections' send queues, if it has one."""

    @abstractmethod
    async def aclose(self) -> None:
        """Close every sandbox this engine holds (the process is stopping)."""
