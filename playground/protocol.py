"""The playground's JSON protocol: commands in, events out (no Django).

Every command is checked here before the sandbox sees it: a malformed
message becomes a ProtocolError with a stable code, answered with an `error`
event, and the connection goes on. Text that is not valid Unicode (a lone
surrogate written as a JSON escape) is `bad_data`, never a fault.

Outgoing messages are JSON without ASCII escaping (an "é" costs two bytes, not
six) and never larger than MESSAGE_BYTES: the kept data of a `hello` follows
it as `data` events ("hello chunks") of at most HELLO_CHUNK_BYTES each.
docs/playground-protocol.md is the reference for clients.
"""

import json
from dataclasses import dataclass

from playground.sandbox import Sandbox, SandboxError

TARGET = {"device": str, "port": int}
COMMANDS: dict[str, dict] = {
    "tcp.listen": {"device": str, "port": int},
    "tcp.connect": {"device": str, "to": TARGET},
    "udp.bind": {"device": str, "port": int},
    "udp.sendto": {"socket": str, "to": TARGET, "data": str},
    "send": {"socket": str, "data": str},
    "shutdown": {"socket": str},
    "close": {"socket": str},
    "reset": {},
}
OPTIONAL = {"tcp.listen": {"reuse_address": bool}}
TYPE_NAMES = {str: "a string", int: "a whole number", bool: "true or false", dict: "an object"}
PROTOCOL_VERSION = 2
# Daphne refuses to send a WebSocket message over 1 MiB (its default
# --websocket_max_message_size) and fails the connection; stay well below.
MESSAGE_BYTES = 1024 * 1024
HELLO_CHUNK_BYTES = 256 * 1024
# The longest JSON form of one character: a control character as \u001f.
_JSON_BYTES_PER_CHAR = 6
_CHUNK_CHARS = (HELLO_CHUNK_BYTES - 512) // _JSON_BYTES_PER_CHAR


class ProtocolError(SandboxError):
    pass


@dataclass
class Command:
    op: str
    args: dict
    ref: str | int | None = None


def _check(value, spec, path: str):
    if isinstance(spec, dict):
        if not isinstance(value, dict):
            raise ProtocolError("wrong_type", f"'{path}' must be an object.")
        for name, inner in spec.items():
            if name not in value:
                raise ProtocolError("missing_field", f"'{path}.{name}' is missing.")
            _check(value[name], inner, f"{path}.{name}")
        return
    # bool is an int in Python; a port of `true` is still wrong.
    if not isinstance(value, spec) or (spec is int and isinstance(value, bool)):
        raise ProtocolError("wrong_type", f"'{path}' must be {TYPE_NAMES[spec]}.")


def _valid_text(value) -> bool:
    """No lone surrogates anywhere: JSON may escape one ("\\ud800"), UTF-8 cannot hold it."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return False
        return True
    if isinstance(value, dict):
        return all(_valid_text(k) and _valid_text(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_valid_text(v) for v in value)
    return True


def parse(text: str) -> Command:
    try:
        message = json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        raise ProtocolError("bad_json", "That message is not valid JSON.") from None
    if not _valid_text(message):
        # Checked before anything is echoed back: the answer itself must be valid text.
        raise ProtocolError(
            "bad_data", "Text must be valid Unicode; this message holds a lone surrogate."
        )
    if not isinstance(message, dict):
        raise ProtocolError("not_an_object", "A command is a JSON object with an 'op'.")
    ref = message.get("ref")
    if ref is not None and (
        isinstance(ref, bool) or not isinstance(ref, str | int) or len(str(ref)) > 64
    ):
        raise ProtocolError("bad_ref", "'ref' must be a string or number, at most 64 characters.")
    op = message.get("op")
    if not isinstance(op, str) or op not in COMMANDS:
        error = ProtocolError(
            "unknown_op",
            f"Unknown op {op!r}. Known ops: {', '.join(COMMANDS)}.",
        )
        error.extra["ref"] = ref
        raise error
    try:
        for name, spec in COMMANDS[op].items():
            if name not in message:
                raise ProtocolError("missing_field", f"'{op}' needs '{name}'.")
            _check(message[name], spec, name)
        for name, spec in OPTIONAL.get(op, {}).items():
            if name in message:
                _check(message[name], spec, name)
    except ProtocolError as error:
        error.extra["ref"] = ref
        raise
    args = {
        name: message[name] for name in (*COMMANDS[op], *OPTIONAL.get(op, {})) if name in message
    }
    return Command(op, args, ref)


async def execute(sandbox: Sandbox, command: Command) -> dict:
    """Run a parsed command; the `ok` event's fields (without type and ref)."""
    a = command.args
    if command.op == "tcp.listen":
        sock = await sandbox.tcp_listen(a["device"], a["port"], a.get("reuse_address", False))
        return {"socket": sock.row()}
    if command.op == "tcp.connect":
        sock = await sandbox.tcp_connect(a["device"], a["to"]["device"], a["to"]["port"])
        return {"socket": sock.row()}
    if command.op == "udp.bind":
        return {"socket": (await sandbox.udp_bind(a["device"], a["port"])).row()}
    if command.op == "udp.sendto":
        sent = await sandbox.udp_sendto(a["socket"], a["to"]["device"], a["to"]["port"], a["data"])
        return {"socket": a["socket"], "bytes": sent}
    if command.op == "send":
        return {"socket": a["socket"], "bytes": await sandbox.send(a["socket"], a["data"])}
    if command.op == "shutdown":
        await sandbox.shutdown(a["socket"])
        return {"socket": a["socket"]}
    if command.op == "close":
        await sandbox.close(a["socket"])
        return {"socket": a["socket"]}
    await sandbox.reset()
    return {}


def error_event(error: SandboxError, ref=None) -> dict:
    event = {
        "type": "error",
        "ref": error.extra.get("ref", ref),
        "code": error.code,
        "message": error.message,
    }
    event.update({k: v for k, v in error.extra.items() if k != "ref"})
    return event


def ok_event(command: Command, result: dict) -> dict:
    return {"type": "ok", "ref": command.ref, "op": command.op, **result}


def dumps(event: dict) -> str:
    return json.dumps(event, ensure_ascii=False)


def hello_chunks(kept: list[dict]) -> list[dict]:
    """The `data` events that carry a snapshot's kept data after its `hello`.

    Each holds one socket's text, or a piece of it, of at most _CHUNK_CHARS
    characters, so at most HELLO_CHUNK_BYTES as JSON whatever the text."""
    chunks = []
    for item in kept:
        text = item["data"]
        for start in range(0, len(text), _CHUNK_CHARS):
            chunks.append(
                {
                    "type": "data",
                    "socket": item["socket"],
                    "data": text[start : start + _CHUNK_CHARS],
                    "kept": True,
                }
            )
    return chunks
