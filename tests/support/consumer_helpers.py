"""The playground's WebSocket through the real ASGI stack, for tests: a session, a
connected communicator, a command and its answer (the `registry` fixture that closes
a test's sandboxes is in conftest.py)."""

from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.sessions.backends.db import SessionStore

from sockets_site.asgi import application

ORIGIN = b"http://127.0.0.1:8000"


@sync_to_async
def new_session() -> str:
    session = SessionStore()
    session["started"] = True
    session.create()
    return session.session_key


async def open_ws(
    key: str | None, *extra: tuple[bytes, bytes], origin: bytes = ORIGIN
) -> WebsocketCommunicator:
    """A WebSocket of the session `key`, open; `extra` headers as a proxy would add them."""
    headers = [(b"origin", origin), (b"host", b"127.0.0.1:8000"), *extra]
    if key:
        headers.append((b"cookie", f"sessionid={key}".encode()))
    ws = WebsocketCommunicator(application, "/ws/playground/", headers=headers)
    connected, _ = await ws.connect()
    assert connected
    return ws


async def next_of(ws, kind: str, timeout: float = 10) -> dict:
    while True:
        event = await ws.receive_json_from(timeout=timeout)
        if event["type"] == kind:
            return event


async def command(ws, **message) -> dict:
    """Send a command; return its answer (the ok or error with the same ref)."""
    message.setdefault("ref", f"r{id(message)}")
    await ws.send_json_to(message)
    while True:
        event = await ws.receive_json_from(timeout=10)
        if event["type"] in ("ok", "error") and event.get("ref") == message["ref"]:
            return event
