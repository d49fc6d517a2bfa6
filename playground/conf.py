"""The playground's limits, engine settings, lab hooks and engine, read from Django settings.

The engine is built here (playground.engines.ENGINES names the kinds). Rules: the lab
hooks (where experiments and learners' progress come from) are named, not imported, by
PLAYGROUND_LAB_HOOKS (default: the labs app's): the labs app builds on the playground,
so the playground never imports it.
"""

from dataclasses import fields

from django.conf import settings
from django.utils.module_loading import import_string

from playground.wire.limits import EngineConfig, Limits


def limits() -> Limits:
    configured = getattr(settings, "PLAYGROUND_LIMITS", {})
    return Limits(**{f.name: configured[f.name] for f in fields(Limits) if f.name in configured})


def engine_config() -> EngineConfig:
    return EngineConfig(
        address_range=settings.PLAYGROUND_ADDRESS_RANGE,
        kernel_tick=settings.PLAYGROUND_KERNEL_TICK,
        lock_file=settings.PLAYGROUND_LOCK_FILE,
        use_kernel=settings.PLAYGROUND_KERNEL_STATES,
        network_namespace=settings.PLAYGROUND_NETWORK_NAMESPACE,
        redis_url=settings.REDIS_URL or "",
    )


LAB_HOOKS = "labs.hooks.DjangoLabHooks"


def lab_hooks():
    """The course's experiments and progress (playground.labs.lab.LabHooks), from the database."""
    return import_string(getattr(settings, "PLAYGROUND_LAB_HOOKS", LAB_HOOKS))()


def make_engine():
    """The configured engine, with a registry of its own (playground.engines.get_engine)."""
    from playground.engines import ENGINES, PoolEngine
    from playground.sandbox.registry import Registry

    registry = Registry(limits(), engine_config(), lab_hooks())
    engine = ENGINES[settings.PLAYGROUND_ENGINE]
    if engine is PoolEngine:
        from channels.layers import get_channel_layer

        return PoolEngine(registry, layer=get_channel_layer())
    return engine(registry)
