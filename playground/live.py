"""What a session's sandbox holds right now, for grading lab questions (Django side).

Rules: `inspect_session` runs on the server's own event loop (a sync view calls it
through asgiref's async_to_sync, which under ASGI runs it there). With the local
engine it finds the registry of this process, which holds the session's sandbox; with
the workers engine it asks the worker that the session's lease names, over the
channel layer, so any HTTP process can grade. It never makes a registry or a
sandbox: no sandbox (or no answer from its worker), None. What it returns comes
from the engine (the kernel's states when `kernel_states`), never from what a page
says.
"""

from django.conf import settings

from playground.engines import get_engine, running_registry


async def inspect_session(session_key: str | None) -> dict | None:
    """{"sockets": [rows], "journal": [...], "kernel_states": bool} of the session's
    sandbox (playground.lab_checks.Journal.export), or None when it has none."""
    if not session_key:
        return None
    if getattr(settings, "PLAYGROUND_ENGINE", "local") == "workers":
        return await get_engine().inspect(session_key)
    registry = running_registry()
    return registry.inspect(session_key) if registry is not None else None
