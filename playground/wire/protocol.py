"""The playground's JSON protocol: commands in, events out (no Django).

Every op is declared once, in OPS: its fields, for `parse`; what it runs, for
`execute`; and for the page (playground.wire.ui, sent by `page_ops`), how its form
makes it and what the log says of its answer. Every event is made by
playground.wire.events; every error code is declared in playground.wire.errors.
Every command is checked here before the sandbox sees it: a malformed message
becomes a ProtocolError with a stable code, answered with an `error` event, and
the connection goes on. Text that is not valid Unicode (a lone
surrogate written as a JSON escape) is `bad_data`, never a fault. The `ref` is
read first: an error about a command that is a JSON object with a usable `ref`
answers that `ref`, whatever else is wrong with it.

Outgoing messages are JSON without ASCII escaping (an "é" costs two bytes, not
six) and never larger than MESSAGE_BYTES: the kept data of a `hello` follows
it as `data` events ("hello chunks") of at most HELLO_CHUNK_BYTES each.
docs/playground-protocol.md is the reference for clients.
"""

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from playground.labs.checks import compact_packet
from playground.sandbox.sandbox import Sandbox
from playground.wire import events
from playground.wire.errors import SandboxError
from playground.wire.ui import AUTO_READ, DEVICE, PORT, SOCKET, TO, Input, Phrase, says, when


@dataclass(frozen=True)
class Op:
    """An op: its fields (name -> type, or a nested object of them), the optional ones,
    and what it does: `run(sandbox, fields)` -> the fields of its `ok`. An op `per_tab`
    is about the WebSocket that sent it: its fields also hold "tab", that WebSocket's
    sink (None when no WebSocket sent it). For the page: `form`, how its form (if it has
    one) makes the command, and `words`, what its log says of the answer."""

    fields: dict
    run: Callable[[Sandbox, dict], Awaitable[dict]]
    optional: dict = field(default_factory=dict)
    per_tab: bool = False
    form: tuple[Input, ...] = ()
    words: tuple[Phrase, ...] = ()

    def page(self) -> dict:
        """What the page reads of it (JSON-able): its form's inputs and its words."""
        return {
            "form": [i.page() for i in self.form],
            "words": [{"text": p.text, "when": p.when} for p in self.words],
        }


async def _row(made) -> dict:
    return {"socket": (await made).row()}


async def _sent(socket_id: str, sent) -> dict:
    return {"socket": socket_id, "bytes": await sent}


async def _done(done, **fields) -> dict:
    await done
    return fields


async def _capture(sandbox: Sandbox, on: bool, tab) -> dict:
    """The tab's wish for packets; whether the sandbox sends them now (another tab or the
    active experiment may keep it on; where capture is unavailable, never). A wish
    granted also gets the packets kept so far (since the start or the last reset), so
    a panel opened late shows them."""
    capture = sandbox.capture
    if capture is None or tab is None:
        return {"capture": bool(capture and capture.watched)}
    watched = capture.want(tab, on)
    if on and watched:
        kept = capture.kept_events()
        return {"capture": watched, "packets": kept, "older": capture.older(kept)}
    return {"capture": watched}


def _lab(sandbox: Sandbox):
    if sandbox.lab is None:
        raise SandboxError("unknown_experiment", "This sandbox runs no experiments.")
    return sandbox.lab


async def _start(sandbox: Sandbox, experiment: str) -> dict:
    return _lab(sandbox).start(experiment)


async def _predict(sandbox: Sandbox, args: dict) -> dict:
    return _lab(sandbox).predict(args["experiment"], args["step"], args["choice"])


async def _pick(sandbox: Sandbox, args: dict) -> dict:
    """A pick names a packet the sandbox kept (by `n`) or a socket of its table (by id);
    what it is, the server looks up itself."""
    lab = _lab(sandbox)
    if ("packet" in args) == ("socket" in args):
        raise ProtocolError("missing_field", "'experiment.pick' needs 'packet' or 'socket'.")
    wanted = lab.pickable()
    if "socket" in args:
        row = lab.table.get(args["socket"]) if wanted else None
        if wanted and row is None:
            raise SandboxError("unknown_socket", f"There is no socket {args['socket'][:64]!r}.")
        return lab.pick(row)
    n = args["packet"]
    kept = sandbox.capture.kept_events() if sandbox.capture is not None and wanted else []
    event = next((e for e in kept if e["n"] == n), None)
    if wanted and event is None:
        raise SandboxError(
            "unknown_packet", f"There is no packet {n} among the packets this sandbox keeps."
        )
    return lab.pick(compact_packet(event) if event else None)


TARGET = {"device": str, "port": int}
# Every op the server knows, declared once: parse checks these fields, execute runs these,
# the page makes them from its forms and says what they did with these words.
OPS: dict[str, Op] = {
    "tcp.listen": Op(
        {"device": str, "port": int},
        lambda s, a: _row(
            s.tcp_listen(
                a["device"],
                a["port"],
                a.get("reuse_address", False),
                backlog=a.get("backlog"),
                auto_accept=a.get("auto_accept", True),
                auto_read=a.get("auto_read", True),
            )
        ),
        optional={"reuse_address": bool, "backlog": int, "auto_accept": bool, "auto_read": bool},
        form=(
            DEVICE,
            PORT,
            Input("reuse_address", read="ticked"),
            Input("backlog", read="number_or_default"),
            Input("auto_accept", "manual_accept", "unticked"),
            AUTO_READ,
        ),
        words=(
            Phrase("{socket.id} listens at {socket.device} {socket.local.ip}:{socket.local.port}"),
            Phrase(
                " with a backlog of {command.backlog}", when("command.backlog", "present", True)
            ),
            Phrase("."),
            Phrase(
                " Connections wait in its accept queue until you accept one.",
                when("socket.auto_accept", "is", False),
            ),
        ),
    ),
    "tcp.connect": Op(
        {"device": str, "to": TARGET},
        lambda s, a: _row(
            s.tcp_connect(a["device"], a["to"]["device"], a["to"]["port"], a.get("auto_read", True))
        ),
        optional={"auto_read": bool},
        form=(DEVICE, *TO, AUTO_READ),
        words=(
            Phrase("{socket.id} on {socket.device} ({socket.local.ip}:{socket.local.port}) "),
            Phrase(
                "sent its SYN to {socket.remote.ip}:{socket.remote.port} and has no answer yet: "
                "it waits in SYN_SENT, and its kernel sends the SYN again.",
                when("socket.state", "is", "SYN_SENT"),
            ),
            Phrase(
                "connected to {socket.remote.ip}:{socket.remote.port}.",
                when("socket.state", "is_not", "SYN_SENT"),
            ),
        ),
    ),
    "accept": Op(
        {"socket": str},
        lambda s, a: _row(s.accept(a["socket"])),
        words=says(
            "{socket.listener} accepted a connection: {socket.id}, "
            "from {socket.remote.ip}:{socket.remote.port}."
        ),
    ),
    "udp.bind": Op(
        {"device": str, "port": int},
        lambda s, a: _row(s.udp_bind(a["device"], a["port"], a.get("auto_read", True))),
        optional={"auto_read": bool},
        form=(DEVICE, PORT, AUTO_READ),
        words=says(
            "{socket.id} is a UDP socket at {socket.device} {socket.local.ip}:{socket.local.port}."
        ),
    ),
    "udp.connect": Op(
        {"socket": str, "to": TARGET},
        lambda s, a: _row(s.udp_connect(a["socket"], a["to"]["device"], a["to"]["port"])),
        form=(SOCKET, *TO),
        words=says(
            "{socket.id} is connected to {socket.remote.ip}:{socket.remote.port}: it sends "
            "there with send, and its kernel drops datagrams from anywhere else."
        ),
    ),
    "udp.sendto": Op(
        {"socket": str, "to": TARGET, "data": str},
        lambda s, a: _sent(
            a["socket"], s.udp_sendto(a["socket"], a["to"]["device"], a["to"]["port"], a["data"])
        ),
        form=(SOCKET, *TO, Input("data")),
        words=says(
            "{command.socket} sent a {event.bytes}-byte datagram to {command.to.device} "
            "port {command.to.port}."
        ),
    ),
    "send": Op(
        {"socket": str, "data": str},
        lambda s, a: _sent(a["socket"], s.send(a["socket"], a["data"])),
        form=(SOCKET, Input("data")),
        words=says("{command.socket} sent {event.bytes} bytes."),
    ),
    "recv": Op(
        {"socket": str},
        lambda s, a: _sent(a["socket"], s.recv(a["socket"])),
        words=(
            Phrase(
                "{command.socket}'s recv() took {event.bytes} bytes.",
                when("event.bytes", "truthy", True),
            ),
            Phrase(
                '{command.socket}\'s recv() returned nothing (b""), the end of data: the other '
                "side has finished sending (it closed its socket or shut down its sending side).",
                when("event.bytes", "truthy", False),
            ),
        ),
    ),
    "shutdown": Op(
        {"socket": str},
        lambda s, a: _done(s.shutdown(a["socket"]), socket=a["socket"]),
        words=says("{command.socket} shut down its sending side."),
    ),
    "close": Op(
        {"socket": str},
        lambda s, a: _done(s.close(a["socket"]), socket=a["socket"]),
        words=says("{command.socket} was closed by the program."),
    ),
    "tcp.reset": Op(
        {"socket": str},
        lambda s, a: _done(s.tcp_reset(a["socket"]), socket=a["socket"]),
        words=says(
            "{command.socket} was closed with SO_LINGER 0: the kernel resets the connection "
            "(RST) instead of ending it with FIN."
        ),
    ),
    "reset": Op(
        {},
        lambda s, a: _done(s.reset()),
        words=says("The sandbox was reset: every socket closed."),
    ),
    "experiment.start": Op(
        {"experiment": str},
        lambda s, a: _start(s, a["experiment"]),
        words=says("Experiment started: {experiment.title|event.experiment}."),
    ),
    "experiment.predict": Op(
        {"experiment": str, "step": int, "choice": int},
        _predict,
        words=says("Prediction locked in for step {event.step}."),
    ),
    "experiment.pick": Op(
        {},
        _pick,
        optional={"packet": int, "socket": str},
        words=(
            Phrase("You picked the right one.", when("event.matched", "truthy", True)),
            Phrase("Not that one: {event.message}", when("event.matched", "truthy", False)),
        ),
    ),
    "capture": Op(
        {"on": bool},
        lambda s, a: _capture(s, a["on"], a["tab"]),
        per_tab=True,
        words=says("{command.op} done."),
    ),
}


def page_ops() -> dict:
    """Every op as the page reads it (Op.page), in OPS' order."""
    return {name: op.page() for name, op in OPS.items()}


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


def _ref_of(message: dict) -> str | int | None:
    """The command's `ref`, read before anything else is checked, so that every error
    about a command that is a JSON object answers it; a ref that cannot be echoed
    (wrong type, too long, not valid text) is an error answered with `ref: null`."""
    ref = message.get("ref")
    if ref is None:
        return None
    if isinstance(ref, bool) or not isinstance(ref, str | int) or len(str(ref)) > 64:
        raise ProtocolError("bad_ref", "'ref' must be a string or number, at most 64 characters.")
    if not _valid_text(ref):
        raise ProtocolError(
            "bad_data", "Text must be valid Unicode; the 'ref' holds a lone surrogate."
        )
    return ref


def parse(text: str) -> Command:
    try:
        message = json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        raise ProtocolError("bad_json", "That message is not valid JSON.") from None
    if not isinstance(message, dict):
        raise ProtocolError("not_an_object", "A command is a JSON object with an 'op'.")
    ref = _ref_of(message)
    if not _valid_text(message):
        # Checked before any of the message is echoed back: the answer must be valid text.
        error = ProtocolError(
            "bad_data", "Text must be valid Unicode; this message holds a lone surrogate."
        )
        error.extra["ref"] = ref
        raise error
    op = message.get("op")
    if not isinstance(op, str) or op not in OPS:
        error = ProtocolError(
            "unknown_op",
            f"Unknown op {op!r}. Known ops: {', '.join(OPS)}.",
        )
        error.extra["ref"] = ref
        raise error
    spec = OPS[op]
    try:
        for name, kind in spec.fields.items():
            if name not in message:
                raise ProtocolError("missing_field", f"'{op}' needs '{name}'.")
            _check(message[name], kind, name)
        for name, kind in spec.optional.items():
            if name in message:
                _check(message[name], kind, name)
    except ProtocolError as error:
        error.extra["ref"] = ref
        raise
    args = {name: message[name] for name in (*spec.fields, *spec.optional) if name in message}
    return Command(op, args, ref)


async def execute(sandbox: Sandbox, command: Command, tab=None) -> dict:
    """Run a parsed command; the `ok` event's fields (without type and ref). `tab`: the
    sink of the WebSocket that sent it (for the ops that are per tab)."""
    op = OPS[command.op]
    return await op.run(sandbox, {**command.args, "tab": tab} if op.per_tab else command.args)


def error_event(error: SandboxError, ref=None) -> dict:
    extra = {k: v for k, v in error.extra.items() if k != "ref"}
    return events.error(error.code, error.message, error.extra.get("ref", ref), **extra)


def ok_event(command: Command, result: dict) -> dict:
    return events.ok(command.ref, command.op, **result)


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
            chunks.append(events.kept(item["socket"], text[start : start + _CHUNK_CHARS]))
    return chunks
