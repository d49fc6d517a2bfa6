"""What a session's sandbox holds right now, for grading lab questions (Django side).

Rules: `inspect_session` runs on the server's own event loop (a sync view calls it
through asgiref's async_to_sync, which under ASGI runs it there). It asks the engine
running here, if any; with the pool engine, a sandbox not here (an HTTP worker holds
none) is asked of the process that owns it, over the channel layer. It never makes
an engine nor a sandbox: with the local engine and no engine running yet, nothing
was ever attached here, so there is no sandbox.
No sandbox (or no answer from its owner): None. What it returns comes from the
engine (the kernel's states when `kernel_states`), never from what a page says.
"""

from channels.layers import get_channel_layer
from django.conf import settings

from playground.engines import running_engine
from playground.engines.pool.asking import ask_owner_once


async def inspect_session(session_key: str | None) -> dict | None:
    """{"sockets": [rows], "journal": [...], "kernel_states": bool} of the session's
    sandbox (playground.labs.checks.Journal.export), or None when it has none."""
    if not session_key:
        return None
    engine = running_engine()
    here = await engine.inspect(session_key) if engine is not None else None
    if here is None and settings.PLAYGROUND_ENGINE == "pool":
        return await ask_owner_once(settings.REDIS_URL, get_channel_layer(), session_key)
    return here
