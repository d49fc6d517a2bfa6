"""The playground's limits, engine settings and lab hooks, read from Django settings."""

from dataclasses import fields

from django.conf import settings

from playground.limits import EngineConfig, Limits


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
    )


def lab_hooks():
    """The course's experiments and progress (playground.labs.LabHooks), from the database."""
    from lessons.labs import DjangoLabHooks  # here: importing conf must not load lessons

    return DjangoLabHooks()
