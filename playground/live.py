"""What a session's sandbox holds right now, for grading lab questions (Django side).

Rules: `inspect_session` runs on the server's own event loop (a sync view calls it
through asgiref's async_to_sync, which under ASGI runs it there). It asks the engine
running here, which holds the sandbox or, with the pool engine, asks the process that
owns it over the channel layer. It never makes an engine nor a sandbox: where no
engine runs (nothing attached yet with the local engine; an HTTP worker of the pool),
the pool's owner is asked directly, and with the local engine there is no sandbox.
No sandbox (or no answer from its owner): None. What it returns comes from the
engine (the kernel's states when `kernel_states`), never from what a page says.
"""

from channels.layers import get_channel_layer
from django.conf import settings

from playground.engines import running_engine
from playground.engines.pool.asking import ask_owner_once


async def inspect_session(session_key: str | None) -> dict | None:
    """{"sockets": [rows], "journal": [...], "kernel_states": bool} of the session's
    sandbox (playground.lab_checks.Journal.export), or None when it has none."""
    if not session_key:
        return None
    engine = running_engine()
    if engine is not None:
        return await engine.inspect(session_key)
    if settings.PLAYGROUND_ENGINE == "pool":
        return await ask_owner_once(settings.REDIS_URL, get_channel_layer(), session_key)
    return None
