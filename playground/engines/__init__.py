"""Where sandboxes live: one engine per event loop, of the kind PLAYGROUND_ENGINE names.

Rules (no Django here; playground.conf builds the configured engine):
- ENGINES is the one table of kinds: `local` keeps every sandbox in the one server
  process (the embedded default); `pool` keeps them in a pool of sandbox processes,
  each serving its own sandboxes' WebSockets, a proxy routing each upgrade to the
  owner (playground.engines.pool).
- `get_engine()` builds the engine on first use in each event loop (a server process
  has one) with the factory given to `configure`, and keeps it; `set_engine`
  replaces it (tests, tools); `close_engines` closes the running loop's.
"""

import asyncio
import weakref
from collections.abc import Callable

from playground.engines.base import Attachment, Client, Engine, Sink
from playground.engines.local import LocalEngine
from playground.engines.pool.engine import PoolEngine

__all__ = ["ENGINES", "Attachment", "Client", "Engine", "Sink", "get_engine", "set_engine"]

ENGINES: dict[str, type[Engine]] = {"local": LocalEngine, "pool": PoolEngine}

_engines: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Engine]" = (
    weakref.WeakKeyDictionary()
)
_factory: Callable[[], Engine] | None = None


def configure(factory: Callable[[], Engine]) -> None:
    """How `get_engine` builds an engine (playground.apps gives playground.conf.make_engine)."""
    global _factory
    _factory = factory


def get_engine() -> Engine:
    """The running event loop's engine, built on first use."""
    loop = asyncio.get_running_loop()
    engine = _engines.get(loop)
    if engine is None:
        if _factory is None:
            raise RuntimeError("playground.engines.configure() was not called")
        engine = _engines[loop] = _factory()
    return engine


def running_engine() -> Engine | None:
    """The running event loop's engine if it has one; never builds one."""
    return _engines.get(asyncio.get_running_loop())


def set_engine(engine: Engine | None) -> None:
    """Make `engine` the running loop's (None: forget it, so the next use builds one)."""
    loop = asyncio.get_running_loop()
    if engine is None:
        _engines.pop(loop, None)
    else:
        _engines[loop] = engine


async def close_engines() -> None:
    """Close and forget the running loop's engine, if it has one."""
    engine = _engines.pop(asyncio.get_running_loop(), None)
    if engine is not None:
        await engine.aclose()
