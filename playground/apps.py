import contextlib
import resource

from django.apps import AppConfig


def raise_descriptor_limit() -> None:
    """Raise the soft RLIMIT_NOFILE to the hard one: each sandbox socket is an open file.

    The soft limit is often 1024 while the hard one is far higher; the system
    check (playground.checks) then compares the playground's worst case with it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == hard:
        return
    # An unlimited hard limit may not be taken as a soft one (macOS): keep the soft then.
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


class PlaygroundConfig(AppConfig):
    name = "playground"
    verbose_name = "Socket playground"

    def ready(self):
        # playground.checks registers the system checks by being imported.
        from playground import checks, conf, engines  # noqa: F401

        engines.configure(conf.make_engine)
        raise_descriptor_limit()
