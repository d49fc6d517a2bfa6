"""The playground's events, declared once: one typed constructor per event (no Django).

Rules: every event the server sends is made here, so its shape is written in one
place; the keys and their order are the wire format of docs/playground-protocol.md
(the consumer only serialises what these return). The ops, the other half of the
vocabulary, are declared in playground.wire.protocol.OPS.
"""

from typing import Literal, NotRequired, TypedDict

from playground.wire import errors


class Socket(TypedDict):
    type: Literal["socket"]
    socket: dict  # a whole row: playground.sandbox.socket.SandboxSocket.row


class Gone(TypedDict):
    type: Literal["socket.gone"]
    socket: str
    reason: str


# "from" is a Python keyword: the functional form declares it.
Data = TypedDict(
    "Data",
    {
        "type": Literal["data"],
        "socket": str,
        "data": str,
        "bytes": NotRequired[int],  # absent from a hello chunk
        "from": NotRequired[dict],  # UDP: {device, ip, port}
        "eof": NotRequired[bool],
        "kept": NotRequired[bool],  # a hello chunk
    },
)


class Ok(TypedDict, total=False):
    type: Literal["ok"]
    ref: str | int | None
    op: str
    # and the op's own fields (protocol.OPS): socket, bytes, experiment, ...


class Error(TypedDict):
    type: Literal["error"]
    ref: str | int | None
    code: str
    message: str
    limit: NotRequired[str]
    errno: NotRequired[int]
    # An error the kernel reported on a socket by itself (ref null): that socket's id.
    socket: NotRequired[str]


class Closed(TypedDict):
    type: Literal["sandbox.closed"]
    limit: str
    message: str


class Lost(TypedDict):
    type: Literal["sandbox.lost"]
    reason: str
    message: str


class Progress(TypedDict):
    type: Literal["experiment.progress"]
    experiment: str
    done: int
    steps: int
    finished: bool
    # Each done step that explains or predicts: {step, explain, prediction?: {choice,
    # answer, correct}} (playground.labs.lab.Experiment.reveal); never a step not done.
    revealed: list[dict]
    predicted: dict[str, int]  # step (from 1, as text) -> the learner's choice (from 0)


# "from" is a keyword again; TCP's fields are absent from a UDP packet.
Packet = TypedDict(
    "Packet",
    {
        "type": Literal["packet"],
        "n": int,  # this sandbox's packets, dropped ones included: 1, 2, ...
        "time": str,  # the kernel's timestamp, ISO 8601 with microseconds
        "protocol": str,  # tcp | udp
        "from": dict,  # {device, ip, port}
        "to": dict,
        "flags": NotRequired[list[str]],  # in the order SYN, FIN, RST, PSH, ACK, URG
        "seq": NotRequired[int],
        "ack": NotRequired[int],
        "seq_relative": NotRequired[int | None],
        "ack_relative": NotRequired[int | None],
        "window": NotRequired[int],
        "length": int,  # the payload's length
        "payload": str,  # its first payload_preview bytes as text
        "sockets": list[str],  # the sending socket, then the receiving one, if known
        "dropped": int,  # packets not sent since the previous packet event (rate limit)
    },
)


class Hello(TypedDict):
    type: Literal["hello"]
    protocol: int
    devices: list[dict]
    limits: dict
    kernel_states: bool
    kernel_states_note: str
    network_namespace: bool
    network_namespace_note: str
    capture: dict  # {available, note, on, packets_per_second, history, older}
    expires: dict
    experiments: list[dict]
    experiment: str | None
    progress: dict[str, dict]
    sockets: list[dict]
    packets: list[dict]  # the kept packet events, oldest first
    data: list
    data_chunks: int


def hello(**fields) -> Hello:
    """The first message; its fields are listed in order by Hello."""
    return {"type": "hello", **fields}


def socket(row: dict) -> Socket:
    return {"type": "socket", "socket": row}


def gone(socket_id: str, reason: str) -> Gone:
    return {"type": "socket.gone", "socket": socket_id, "reason": reason}


def data(socket_id: str, text: str, size: int, sender: dict | None = None, eof=False) -> Data:
    """Data that arrived: from `sender` ({device, ip, port}) for UDP; `eof`: the peer shut
    down its sending side."""
    event: Data = {"type": "data", "socket": socket_id, "data": text, "bytes": size}
    if sender is not None:
        event["from"] = sender
    if eof:
        event["eof"] = True
    return event


def kept(socket_id: str, text: str) -> Data:
    """A hello chunk: kept text, no new arrival (so no `bytes`)."""
    return {"type": "data", "socket": socket_id, "data": text, "kept": True}


def ok(ref, op: str, **fields) -> Ok:
    return {"type": "ok", "ref": ref, "op": op, **fields}


def error(code: str, message: str, ref=None, **extra) -> Error:
    """`extra`: `limit`, `errno`, `socket`. The code must be one the registry
    (playground.wire.errors) declares, so the page can always explain it."""
    errors.lookup(code)
    return {"type": "error", "ref": ref, "code": code, "message": message, **extra}


def closed(limit: str, message: str) -> Closed:
    return {"type": "sandbox.closed", "limit": limit, "message": message}


def lost(reason: str, message: str) -> Lost:
    return {"type": "sandbox.lost", "reason": reason, "message": message}


def packet(
    *,
    n: int,
    time: str,
    protocol: str,
    sender: dict,
    receiver: dict,
    tcp: dict | None,
    length: int,
    payload: str,
    sockets: list[str],
    dropped: int,
) -> Packet:
    """A captured packet (playground.capture.packets.event); `tcp`: flags, seq, ack, seq_relative,
    ack_relative and window, None for UDP."""
    event: Packet = {
        "type": "packet",
        "n": n,
        "time": time,
        "protocol": protocol,
        "from": sender,
        "to": receiver,
    }
    if tcp is not None:
        event.update(tcp)
    event["length"] = length
    event["payload"] = payload
    event["sockets"] = sockets
    event["dropped"] = dropped
    return event


def progress(
    experiment: str, done: int, steps: int, finished: bool, revealed: list, predicted: dict
) -> Progress:
    return {
        "type": "experiment.progress",
        "experiment": experiment,
        "done": done,
        "steps": steps,
        "finished": finished,
        "revealed": revealed,
        "predicted": predicted,
    }
