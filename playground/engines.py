"""The engine and registry of the running event loop: one of each per server process.

PLAYGROUND_ENGINE says where sandboxes live: in this process's registry (local) or
in worker processes (workers, playground.workers). The registry gets the course's
experiments and progress through `conf.lab_hooks()`.
"""

import asyncio
import weakref

from django.conf import settings

from playground import conf
from playground.engine import Engine, LocalEngine
from playground.registry import Registry

_registries: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Registry]" = (
    weakref.WeakKeyDictionary()
)
_engines: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Engine]" = (
    weakref.WeakKeyDictionary()
)


def get_registry() -> Registry:
    """The registry of the running event loop (one per server process)."""
    loop = asyncio.get_running_loop()
    if loop not in _registries:
        _registries[loop] = Registry(conf.limits(), conf.engine_config(), conf.lab_hooks())
    return _registries[loop]


def running_registry() -> Registry | None:
    """The running event loop's registry if it has one; never makes one."""
    return _registries.get(asyncio.get_running_loop())


def get_engine() -> Engine:
    """The engine of the running event loop: PLAYGROUND_ENGINE says where sandboxes live."""
    if getattr(settings, "PLAYGROUND_ENGINE", "local") != "workers":
        return LocalEngine(get_registry())  # the "worker" is this process's registry
    loop = asyncio.get_running_loop()
    if loop not in _engines:
        from playground.workers import WorkersEngine

        _engines[loop] = WorkersEngine(conf.limits(), settings.REDIS_URL, conf.engine_config())
    return _engines[loop]
