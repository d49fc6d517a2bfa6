"""The labs' check language: checks over a sandbox's sockets and answers, the journal
they are replayed over, and grading (no Django; playground.labs.lab runs them in sandboxes).

A step is {"text": "<plain text>", "check": CHECK}; an experiment's steps and a lab
question's are reached in order. A CHECK is an object with exactly one of:

- {"socket": MATCH}: some socket of the table matches;
- {"no_socket": MATCH}: none does;
- {"sockets": MATCH, "at_least": N, "distinct": FIELD?}: at least N match (with N
  different values of FIELD, e.g. "remote_port");
- {"connection": {"client": MATCH?, "accepted": MATCH?}}: a client socket and the
  accepted socket at the other end of its connection (client local == accepted remote);
- {"error": CODE, "op": OP?, "while": CHECK?}: a command (of that op) was answered
  with that error code, while the state check held;
- {"ok": OP}: a command of that op succeeded;
- {"packet": PMATCH}: a packet of the sandbox was captured (playground.capture);
- {"picked": {"packet": PMATCH}} or {"picked": {"socket": MATCH}}: the learner picked
  (op experiment.pick) a packet the sandbox kept, or a socket of its table, that
  matches; only a pick meets it, never the action before it;
- {"all": [CHECK, ...]}, {"any": [CHECK, ...]}.

An experiment's step may also have (EXPERIMENT_STEP):
- "predict": {"prompt": "<question>", "choices": ["<choice>", ...], "answer": <0-based
  index>}: asked before the learner acts; the step is not reached until the learner's
  prediction is recorded (playground.labs.lab), and the answer is never shown before;
- "explain": "<plain text>": what the step showed, shown only once it is reached.

MATCH keys, all optional: device, protocol, role, state (a name or a list of names, as
the rows carry them), port (local), remote_device, remote_port, remote (null: no remote
address), closed_by_program, sent (bytes_sent > 0), received (bytes_received > 0),
auto_read (false: the program reads only on `recv`, the playground's "Read only on
recv()"; a listener's is its accepted sockets'), auto_accept (false: a listener that
accepts only on `accept`, "Accept only on accept()"; no other socket matches either value).

PMATCH keys, all optional: protocol (tcp or udp), from (the sending device), to (the
receiving device), port (either end's port), flags (a list: exactly these TCP flags,
e.g. ["SYN", "ACK"]), has (a list: at least these flags, e.g. ["RST"]), length_min
(payload bytes at least).

Rules:
- Checks are evaluated at moments: each change of a socket as checks see it (its Row),
  each socket gone, and each answer to a command. State checks (socket, no_socket,
  sockets, connection) read the table of that moment, sockets the kernel still keeps
  after the program closed them (TIME_WAIT) included. Event checks (error, ok,
  packet, picked) are met only by the answer, the packet or the pick of that moment: a
  packet is a moment of its own, as its `packet` event reaches the sandbox's tabs, and
  so is a pick.
- An answer (or a packet) meets at most one step, and step k's event checks see only answers after
  step k-1 was reached: once an answer has met a step, the steps after it are
  evaluated at that moment without it.
- A command's own rows come before its answer, so {"all": [{"ok": "udp.sendto"},
  {"socket": {"sent": true}}]} can hold; a peer's reaction (the accepted socket of a
  connect, a datagram arriving) may come after it: check that in the next step.
- The journal is bounded (JOURNAL_ENTRIES): Rows as the sandbox reported them (kernel
  states when it reads them), sockets gone, answers (op and code) and packets (their
  PacketRow, a few fields; only captured ones, so only while capture is on). An entry that
  falls off the front is folded into the table the journal starts from, so a replay
  still knows the sockets of that time. A Row equal to the socket's previous one is not
  kept: a stream of data changes byte counts, not what a check reads.
"""

import logging
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import NamedTuple

from playground.host.kernel import TCP_STATES, UDP_STATES
from playground.wire.limits import EngineConfig

log = logging.getLogger(__name__)

JOURNAL_ENTRIES = 200

DEVICES = EngineConfig().devices
STATES = sorted({*TCP_STATES.values(), *UDP_STATES.values()})
ROLES = ("listener", "client", "accepted", "udp")
STATE_KINDS = ("socket", "no_socket", "sockets", "connection")
EVENT_KINDS = ("error", "ok", "packet", "picked")
KINDS = (*STATE_KINDS, *EVENT_KINDS, "all", "any")
MODIFIERS = {"sockets": {"at_least", "distinct"}, "error": {"op", "while"}}
PICKABLE = ("packet", "socket")  # what a "picked" check names
STEP = ("text", "check")
EXPERIMENT_STEP = ("text", "predict", "explain", "check")  # in the order files write them
PREDICT = ("prompt", "choices", "answer")
PREDICT_CHOICES = (2, 6)  # a prediction offers at least, at most this many choices
FLAG_NAMES = ("SYN", "FIN", "RST", "PSH", "ACK", "URG")  # as packet events list them
DISTINCT = ("device", "protocol", "role", "state", "port", "remote_device", "remote_port")


class Row(NamedTuple):
    """A socket as checks see it: the compact form the table and the journal keep."""

    id: str
    device: str
    protocol: str
    role: str
    port: int
    remote_device: str | None
    remote_port: int | None
    state: str
    closed_by_program: bool
    sent: bool
    received: bool
    # Defaults: a Row written before these fields existed read the program's defaults.
    auto_read: bool = True
    auto_accept: bool | None = None  # a listener's; None for any other socket


class PacketRow(NamedTuple):
    """A packet as checks see it (from its `packet` event)."""

    protocol: str
    sender: str | None  # device
    receiver: str | None
    sport: int
    dport: int
    flags: tuple[str, ...]
    length: int


def compact_packet(event: dict) -> PacketRow:
    """The PacketRow of a `packet` event (playground.capture.packets.event)."""
    return PacketRow(
        event["protocol"],
        event["from"]["device"],
        event["to"]["device"],
        event["from"]["port"],
        event["to"]["port"],
        tuple(event.get("flags", ())),
        event["length"],
    )


def needs_packets(check: dict) -> bool:
    """Whether a (valid) check looks at packets anywhere."""
    kind = _kind(check)
    if kind == "packet" or (kind == "picked" and "packet" in check[kind]):
        return True
    return kind in ("all", "any") and any(needs_packets(part) for part in check[kind])


def picks(check: dict) -> str | None:
    """What a (valid) check asks the learner to pick ("packet" or "socket"), or None."""
    part = picked_part(check)
    return next(iter(part["picked"])) if part else None


def picked_part(check: dict) -> dict | None:
    """The "picked" check within a (valid) check, or None."""
    kind = _kind(check)
    if kind == "picked":
        return check
    if kind in ("all", "any"):
        return next((found for part in check[kind] if (found := picked_part(part))), None)
    return None


def compact(row: dict, device_of: dict[str, str]) -> Row:
    """The Row of a socket row (playground.sandbox.sandbox.SandboxSocket.row)."""
    remote = row["remote"]
    return Row(
        row["id"],
        row["device"],
        row["protocol"],
        row["role"],
        row["local"]["port"],
        device_of.get(remote["ip"], remote["ip"]) if remote else None,
        remote["port"] if remote else None,
        row["state"],
        row["closed_by_program"],
        row["bytes_sent"] > 0,
        row["bytes_received"] > 0,
        row["auto_read"],
        row["auto_accept"],
    )


# Validation -------------------------------------------------------------------


# Ops whose answers no check reads: they change what is shown, not the sockets (a pick
# is a moment of its own: playground.labs.lab.Lab.pick).
UNCHECKED_OPS = frozenset({"experiment.start", "capture", "experiment.predict", "experiment.pick"})


def _op_names() -> tuple[str, ...]:
    """The ops a check may name: protocol's table (it imports nothing of this)."""
    from playground.wire.protocol import OPS

    return tuple(op for op in OPS if op not in UNCHECKED_OPS)


def _one_of(options) -> Callable[[object], str | None]:
    return lambda v: None if isinstance(v, str) and v in options else f"one of {', '.join(options)}"


def _port(value) -> str | None:
    ok = isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 65535
    return None if ok else "a port number from 1 to 65535"


def _flag(value) -> str | None:
    return None if isinstance(value, bool) else "true or false"


def _states(value) -> str | None:
    names = [value] if isinstance(value, str) else value
    if isinstance(names, list) and names and all(n in STATES for n in names):
        return None
    return f"a state or a list of states, from: {', '.join(STATES)}"


FIELDS: dict[str, Callable[[object], str | None]] = {
    "device": _one_of(DEVICES),
    "protocol": _one_of(("tcp", "udp")),
    "role": _one_of(ROLES),
    "port": _port,
    "state": _states,
    "remote_device": _one_of(DEVICES),
    "remote_port": _port,
    "remote": lambda v: None if v is None else "null (no remote address)",
    "closed_by_program": _flag,
    "sent": _flag,
    "received": _flag,
    "auto_read": _flag,
    "auto_accept": _flag,
}


def _flag_list(value) -> str | None:
    ok = isinstance(value, list) and value and all(f in FLAG_NAMES for f in value)
    if ok and len(set(value)) == len(value):
        return None
    return f"a list of TCP flags, each once, from: {', '.join(FLAG_NAMES)}"


def _length(value) -> str | None:
    ok = isinstance(value, int) and not isinstance(value, bool) and value >= 0
    return None if ok else "a whole number of bytes, 0 or more"


PACKET_FIELDS: dict[str, Callable[[object], str | None]] = {
    "protocol": _one_of(("tcp", "udp")),
    "from": _one_of(DEVICES),
    "to": _one_of(DEVICES),
    "port": _port,
    "flags": _flag_list,
    "has": _flag_list,
    "length_min": _length,
}

# Every key of the check language, in the order course files write them (and the
# loader puts a check read back from the database in: lessons.course_files).
KEY_ORDER = (
    *KINDS,
    *("op", "at_least", "distinct", "while", "client", "accepted"),
    *FIELDS,
    *(key for key in PACKET_FIELDS if key not in FIELDS),
)


def _packet_errors(match, where: str) -> list[str]:
    if not isinstance(match, dict):
        return [f"{where} must be an object of packet fields ({', '.join(PACKET_FIELDS)})."]
    errors = []
    for key, value in match.items():
        rule = PACKET_FIELDS.get(key)
        if rule is None:
            errors.append(f"{where}: {key!r} is no packet field; use {', '.join(PACKET_FIELDS)}.")
        elif (wanted := rule(value)) is not None:
            errors.append(f"{where}: {key!r} must be {wanted}, not {value!r}.")
    if match.get("protocol") == "udp" and ("flags" in match or "has" in match):
        errors.append(f"{where}: UDP packets have no flags; drop 'flags' and 'has'.")
    return errors


def _match_errors(match, where: str) -> list[str]:
    if not isinstance(match, dict):
        return [f"{where} must be an object of socket fields ({', '.join(FIELDS)})."]
    errors = []
    for key, value in match.items():
        rule = FIELDS.get(key)
        if rule is None:
            errors.append(f"{where}: {key!r} is no socket field; use {', '.join(FIELDS)}.")
        elif (wanted := rule(value)) is not None:
            errors.append(f"{where}: {key!r} must be {wanted}, not {value!r}.")
    return errors


def _picked_errors(value, where: str) -> list[str]:
    if not isinstance(value, dict) or len(value) != 1 or next(iter(value)) not in PICKABLE:
        return [f'{where} must be {{"packet": {{...}}}} or {{"socket": {{...}}}}: what to pick.']
    if "packet" in value:
        return _packet_errors(value["packet"], f"{where}: 'packet'")
    return _match_errors(value["socket"], f"{where}: 'socket'")


def _kind(check: dict) -> str:
    return next(k for k in check if k in KINDS)


def check_errors(check, where: str = "The check", answers: bool = True) -> list[str]:
    """What is wrong with a check, in plain English ([] when it is valid).

    `answers`: whether event checks (error, ok, packet) may appear (not inside a `while`)."""
    if not isinstance(check, dict):
        return [f"{where} must be an object with one of: {', '.join(KINDS)}."]
    kinds = [k for k in check if k in KINDS]
    if len(kinds) != 1:
        found = ", ".join(kinds) or "none"
        return [f"{where} must have exactly one of {', '.join(KINDS)} (it has {found})."]
    kind, value = kinds[0], check[kinds[0]]
    errors = [
        f"{where}: {key!r} does not go with {kind!r}."
        for key in check
        if key != kind and key not in MODIFIERS.get(kind, ())
    ]
    at = f"{where}: {kind!r}"
    if kind in EVENT_KINDS and not answers:
        return [f"{at}: a 'while' holds only state checks ({', '.join(STATE_KINDS)})."]
    if kind in ("socket", "no_socket", "sockets"):
        errors += _match_errors(value, at)
    elif kind == "packet":
        errors += _packet_errors(value, at)
    elif kind == "picked":
        errors += _picked_errors(value, at)
    if kind == "sockets":
        at_least = check.get("at_least")
        if not isinstance(at_least, int) or isinstance(at_least, bool) or at_least < 1:
            errors.append(f"{where}: 'sockets' needs 'at_least', a whole number of 1 or more.")
        if "distinct" in check and check["distinct"] not in DISTINCT:
            errors.append(f"{where}: 'distinct' must be one of {', '.join(DISTINCT)}.")
    elif kind == "connection":
        if not isinstance(value, dict):
            errors.append(f"{at} must be an object, {{}} or with 'client' and 'accepted'.")
        else:
            for end, match in value.items():
                if end in ("client", "accepted"):
                    errors += _match_errors(match, f"{at}: {end!r}")
                else:
                    errors.append(f"{at}: {end!r} is neither 'client' nor 'accepted'.")
    elif kind == "error":
        if not isinstance(value, str) or not value:
            errors.append(f'{at} must be an error code, such as "ECONNREFUSED".')
        if "op" in check and check["op"] not in _op_names():
            errors.append(f"{where}: 'op' must be one of {', '.join(_op_names())}.")
        if "while" in check:
            errors += check_errors(check["while"], f"{where}: 'while'", answers=False)
    elif kind == "ok" and value not in _op_names():
        errors.append(f"{at} must be one of {', '.join(_op_names())}.")
    elif kind in ("all", "any"):
        if not isinstance(value, list) or not value:
            errors.append(f"{at} must be a list of one check or more.")
        else:
            for n, part in enumerate(value, 1):
                errors += check_errors(part, f"{at}, check {n}", answers)
    return errors


def prediction_errors(predict, where: str = "The prediction") -> list[str]:
    """What is wrong with a step's `predict`, in plain English ([] when it is valid)."""
    low, high = PREDICT_CHOICES
    if not isinstance(predict, dict):
        return [f"{where} must be an object with 'prompt', 'choices' and 'answer'."]
    errors = [
        f"{where}: {key!r} is not a prediction field." for key in predict if key not in PREDICT
    ]
    prompt = predict.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        errors.append(f"{where} needs a 'prompt': the question asked before the learner acts.")
    choices = predict.get("choices")
    if not isinstance(choices, list) or not low <= len(choices) <= high:
        errors.append(f"{where} needs 'choices': a list of {low} to {high} answers to choose from.")
        choices = None
    elif not all(isinstance(c, str) and c.strip() for c in choices):
        errors.append(f"{where}: every choice must be a text, none empty.")
    elif len({c.strip() for c in choices}) != len(choices):
        errors.append(f"{where}: two choices say the same thing.")
    answer = predict.get("answer")
    if isinstance(answer, bool) or not isinstance(answer, int):
        errors.append(f"{where} needs an 'answer': the number of the right choice, counted from 0.")
    elif choices is not None and not 0 <= answer < len(choices):
        errors.append(
            f"{where}: 'answer' is {answer}, but the choices are numbered 0 to "
            f"{len(choices) - 1} (counted from 0)."
        )
    return errors


def steps_errors(steps, experiment: bool = False) -> list[str]:
    """What is wrong with a list of steps, in plain English ([] when they are valid).
    `experiment`: an experiment's steps, which may also predict and explain."""
    if not isinstance(steps, list) or not steps:
        return ["Steps must be a list of one step or more, each with 'text' and 'check'."]
    fields = EXPERIMENT_STEP if experiment else STEP
    errors = []
    for n, step in enumerate(steps, 1):
        if not isinstance(step, dict):
            errors.append(f"Step {n} must be an object with 'text' and 'check'.")
            continue
        errors += [f"Step {n}: {key!r} is not a step field." for key in step if key not in fields]
        if not isinstance(step.get("text"), str) or not step["text"].strip():
            errors.append(f"Step {n} needs a 'text': what to do, in plain words.")
        if "check" not in step:
            errors.append(f"Step {n} needs a 'check'.")
        elif problems := check_errors(step["check"], f"Step {n}'s check"):
            errors += problems
        elif not experiment and picks(step["check"]):
            errors.append(f"Step {n}'s check: only an experiment's steps can ask for a pick.")
        if "predict" in step and experiment:
            errors += prediction_errors(step["predict"], f"Step {n}'s prediction")
        if "explain" in step and experiment and not isinstance(step["explain"], str):
            errors.append(f"Step {n}'s 'explain' must be plain text.")
    return errors


# Words ------------------------------------------------------------------------


def _a(words: str) -> str:
    return f"{'an' if words[0] in 'aeiouAEIO' else 'a'} {words}"


NOUNS = {
    "listener": "listening socket",
    "client": "client socket",
    "accepted": "accepted socket",
    "udp": "UDP socket",
}


def _socket_words(match: dict, plural: bool = False) -> str:
    """E.g. "TCP listening socket on server port 3000 (in state LISTEN)"."""
    role, protocol = match.get("role"), match.get("protocol")
    noun = NOUNS.get(role, "UDP socket" if protocol == "udp" else "socket")
    if protocol == "tcp":
        noun = f"TCP {noun}"
    words = [noun + ("s" if plural else "")]
    device, port = match.get("device"), match.get("port")
    if device or port:
        words.append(f"on {device or 'either device'}" + (f" port {port}" if port else ""))
    remote_device, remote_port = match.get("remote_device"), match.get("remote_port")
    if remote_device or remote_port:
        to = f"{remote_device or 'either device'}" + (f" port {remote_port}" if remote_port else "")
        words.append(f"connected to {to}")
    if "remote" in match:
        words.append("with no remote address")
    extra = []
    if "state" in match:
        states = [match["state"]] if isinstance(match["state"], str) else match["state"]
        extra.append(f"in state {' or '.join(states)}")
    closed = match.get("closed_by_program")
    if closed is not None:
        extra.append("closed by the program" if closed else "still open in the program")
    for key, verb in (("sent", "sent"), ("received", "received")):
        if key in match:
            extra.append(f"that has {verb} data" if match[key] else f"that has {verb} nothing")
    if "auto_read" in match:
        extra.append("that reads by itself" if match["auto_read"] else "that reads only on recv()")
    if "auto_accept" in match:
        extra.append(
            "that accepts by itself" if match["auto_accept"] else "that accepts only on accept()"
        )
    return " ".join(words) + (f" ({', '.join(extra)})" if extra else "")


def _row_words(row: Row) -> str:
    noun = NOUNS[row.role] if row.role == "udp" else f"TCP {NOUNS[row.role]}"
    where = f"socket {row.id}, {_a(noun)} on {row.device} port {row.port}"
    if row.remote_port is None:
        where += " with no remote address"
    else:
        where += f" connected to {row.remote_device} port {row.remote_port}"
    closed = ", closed by the program" if row.closed_by_program else ""
    manual = ", reading only on recv()" if not row.auto_read else ""
    if row.auto_accept is False:
        manual += ", accepting only on accept()"
    return f"{where}, in state {row.state}{closed}{manual}"


def _flags_words(flags) -> str:
    ordered = [f for f in FLAG_NAMES if f in flags]
    return ordered[0] if len(ordered) == 1 else ", ".join(ordered[:-1]) + " and " + ordered[-1]


def _packet_words(match: dict) -> str:
    """E.g. "a TCP packet from the laptop to the server with the flags SYN and ACK"."""
    protocol = match.get("protocol")
    words = [_a(f"{protocol.upper()} packet") if protocol else "a packet"]
    if "from" in match:
        words.append(f"from the {match['from']}")
    if "to" in match:
        words.append(f"to the {match['to']}")
    if "port" in match:
        words.append(f"to or from port {match['port']}")
    if "flags" in match:
        flags = match["flags"]
        words.append(f"with exactly the flag{'s' if len(flags) > 1 else ''} {_flags_words(flags)}")
    if "has" in match:
        has = match["has"]
        joiner = "and " if "flags" in match else "with "
        words.append(f"{joiner}the flag{'s' if len(has) > 1 else ''} {_flags_words(has)} set")
    if "length_min" in match:
        n = match["length_min"]
        words.append(f"carrying at least {n} byte{'' if n == 1 else 's'} of data")
    return " ".join(words)


def _packet_row_words(packet: PacketRow) -> str:
    flags = f", flags {' '.join(packet.flags) or 'none'}" if packet.protocol == "tcp" else ""
    return (
        f"a {packet.protocol.upper()} packet from the {packet.sender} port {packet.sport} to "
        f"the {packet.receiver} port {packet.dport}{flags}, {packet.length} bytes of data"
    )


def describe(check: dict) -> str:
    """What the check needs, in plain English (for feedback); the check must be valid."""
    kind = _kind(check)
    value = check[kind]
    if kind == "socket":
        return _a(_socket_words(value))
    if kind == "no_socket":
        return f"no {_socket_words(value)}"
    if kind == "sockets":
        n = check["at_least"]
        text = f"at least {n} {_socket_words(value, plural=n != 1)}"
        if "distinct" in check:
            text += f", with {n} different {check['distinct'].replace('_', ' ')}s"
        return text
    if kind == "connection":
        client = _socket_words({"role": "client", **value.get("client", {})})
        accepted = _socket_words({"role": "accepted", **value.get("accepted", {})})
        return f"the two ends of one connection: {_a(client)} and {_a(accepted)}"
    if kind == "error":
        text = f"{_a(value)} error answering " + (check.get("op") or "a command")
        return text + (f", while there is {describe(check['while'])}" if "while" in check else "")
    if kind == "ok":
        return f"an ok answer to {value}"
    if kind == "packet":
        return _packet_words(value)
    if kind == "picked":
        if "packet" in value:
            return f"your pick of {_packet_words(value['packet'])}"
        return f"your pick of {_a(_socket_words(value['socket']))}"
    parts = [describe(part) for part in value]
    if len(parts) == 1:
        return parts[0]
    if kind == "all":
        return "; and ".join(parts) if len(parts) > 2 else " and ".join(parts)
    return "either " + ", or ".join(parts)


# Evaluation -------------------------------------------------------------------


def _matches(match: dict, row: Row) -> bool:
    for key, wanted in match.items():
        if key == "state":
            if row.state != wanted and (isinstance(wanted, str) or row.state not in wanted):
                return False
        elif key == "remote":
            if row.remote_port is not None:
                return False
        elif getattr(row, key) != wanted:
            return False
    return True


def _packet_matches(match: dict, packet: PacketRow) -> bool:
    for key, wanted in match.items():
        if key == "protocol" and packet.protocol != wanted:
            return False
        if key == "from" and packet.sender != wanted:
            return False
        if key == "to" and packet.receiver != wanted:
            return False
        if key == "port" and wanted not in (packet.sport, packet.dport):
            return False
        if key == "flags" and set(packet.flags) != set(wanted):
            return False
        if key == "has" and not set(wanted) <= set(packet.flags):
            return False
        if key == "length_min" and packet.length < wanted:
            return False
    # Flags are TCP's: a flags check is never met by a UDP packet.
    return packet.protocol == "tcp" or not ("flags" in match or "has" in match)


def _holds(check: dict, rows: Iterable[Row], answer: tuple | None) -> tuple[str, bool] | None:
    """What meets the check at a moment (words for it, and whether the moment's answer
    was used), or None. `rows`: the table then (re-iterable); `answer`: ("ok", op),
    ("error", op, code), ("packet", PacketRow), ("picked", PacketRow or Row) or None."""
    kind = _kind(check)
    value = check[kind]
    if kind == "socket":
        row = next((r for r in rows if _matches(value, r)), None)
        return None if row is None else (_row_words(row), False)
    if kind == "no_socket":
        if any(_matches(value, r) for r in rows):
            return None
        return f"there was no {_socket_words(value)}", False
    if kind == "sockets":
        found = [r for r in rows if _matches(value, r)]
        if "distinct" in check:
            found = list({getattr(r, check["distinct"]): r for r in found}.values())
        if len(found) < check["at_least"]:
            return None
        names = ", ".join(r.id for r in found)
        return f"sockets {names}, {len(found)} {_socket_words(value, plural=True)}", False
    if kind == "connection":
        for c in rows:
            if c.role != "client" or not _matches(value.get("client", {}), c):
                continue
            for a in rows:
                if (
                    a.role == "accepted"
                    and (a.remote_device, a.remote_port) == (c.device, c.port)
                    and (c.remote_device, c.remote_port) == (a.device, a.port)
                    and _matches(value.get("accepted", {}), a)
                ):
                    return (
                        f"socket {c.id} ({c.device} port {c.port}) and socket {a.id} "
                        f"({a.device} port {a.port}) were the two ends of one connection",
                        False,
                    )
        return None
    if kind == "packet":
        if answer is None or answer[0] != "packet" or not _packet_matches(value, answer[1]):
            return None
        return _packet_row_words(answer[1]), True
    if kind == "picked":
        if answer is None or answer[0] != "picked" or pick_mismatch(check, answer[1]):
            return None
        picked = answer[1]
        words = _packet_row_words(picked) if isinstance(picked, PacketRow) else _row_words(picked)
        return f"you picked {words}", True
    if kind in ("error", "ok"):
        if answer is None or answer[0] != kind:
            return None
        if kind == "ok":
            return (f"{value} succeeded", True) if answer[1] == value else None
        if answer[2] != value or check.get("op", answer[1]) != answer[1]:
            return None
        words = f"{answer[1]} was answered {value}"
        if "while" in check:
            held = _holds(check["while"], rows, None)
            if held is None:
                return None
            words += f", while {held[0]}"
        return words, True
    results = []
    for part in value:
        held = _holds(part, rows, answer)
        if kind == "any" and held is not None:
            return held
        if kind == "all":
            if held is None:
                return None
            results.append(held)
    if kind == "any":
        return None
    return "; ".join(r[0] for r in results), any(r[1] for r in results)


def _packet_mismatch(match: dict, packet: PacketRow) -> str | None:
    if match.get("protocol", packet.protocol) != packet.protocol:
        wanted = _a(match["protocol"].upper())
        return f"That is {_a(packet.protocol.upper())} packet; look for {wanted} one."
    for word, device in (("from", packet.sender), ("to", packet.receiver)):
        if word in match and device != match[word]:
            return f"That packet is {word} the {device}; look for one {word} the {match[word]}."
    if "port" in match and match["port"] not in (packet.sport, packet.dport):
        return f"That packet is not to or from port {match['port']}; look for one that is."
    flags = f"the flag{'s' if len(packet.flags) > 1 else ''} {_flags_words(packet.flags)}"
    flags = flags if packet.flags else "no flags"
    if "flags" in match and (packet.protocol != "tcp" or set(packet.flags) != set(match["flags"])):
        wanted = _flags_words(match["flags"])
        return f"That packet has {flags}; look for one with exactly {wanted}."
    if "has" in match and (packet.protocol != "tcp" or not set(match["has"]) <= set(packet.flags)):
        return f"That packet has {flags}; look for one with {_flags_words(match['has'])} set."
    if packet.length < match.get("length_min", 0):
        n = match["length_min"]
        return (
            f"That packet carries {packet.length} bytes of data; look for one carrying at "
            f"least {n}."
        )
    return None


def _socket_mismatch(match: dict, row: Row) -> str | None:
    if not _matches(match, row):
        return f"That is {_row_words(row)}; look for {_a(_socket_words(match))}."
    return None


def pick_mismatch(check: dict, picked: "PacketRow | Row") -> str | None:
    """Why a picked packet or socket does not meet a picked check, in words that say what
    to look for instead ("That packet is from the laptop; look for one from the server."),
    or None when it meets it."""
    value = check["picked"]
    if "packet" in value:
        if not isinstance(picked, PacketRow):
            return "This step asks you to pick a packet, not a socket."
        return _packet_mismatch(value["packet"], picked)
    if not isinstance(picked, Row):
        return "This step asks you to pick a socket, not a packet."
    return _socket_mismatch(value["socket"], picked)


class Tracker:
    """Steps reached in order, moment by moment. A step whose index is in `waiting` (its
    prediction not yet made) is not reached, whatever holds, until it leaves `waiting`."""

    def __init__(self, checks: list[dict], done: int = 0, waiting: Iterable[int] = ()):
        self.checks = checks
        self.done = done
        self.waiting = set(waiting)
        self.found: list[str] = []  # what met each step reached here

    def moment(self, rows: Iterable[Row], answer: tuple | None = None) -> bool:
        """Reach every step that holds now; True if one was reached."""
        before = self.done
        while self.done < len(self.checks) and self.done not in self.waiting:
            held = _holds(self.checks[self.done], rows, answer)
            if held is None:
                break
            self.found.append(f"Step {self.done + 1}: {held[0]}.")
            self.done += 1
            if held[1]:
                answer = None  # met a step: the next ones see only later answers
        return self.done != before


# The journal and replay ---------------------------------------------------------


class Journal:
    """The bounded record of one sandbox: Rows, ("gone", id), ("ok", op) and
    ("error", op, code), after the table it starts from."""

    def __init__(self, size: int = JOURNAL_ENTRIES):
        self.size = size
        self.start: dict[str, Row] = {}
        self.entries: deque = deque()

    def __len__(self) -> int:
        return len(self.entries)

    def add(self, entry: tuple) -> None:
        if len(self.entries) >= self.size:
            old = self.entries.popleft()
            if isinstance(old, Row):
                self.start[old.id] = old
            elif old[0] == "gone":
                self.start.pop(old[1], None)
        self.entries.append(entry)

    def export(self) -> list[dict]:
        """JSON-ready: {"table": [row, ...]} first, then {"socket": row}, {"gone": id},
        {"ok": op}, {"error": code, "op": op} and {"packet": packet}; a row is a Row as
        an object, a packet a PacketRow."""
        exported: list[dict] = [{"table": [row._asdict() for row in self.start.values()]}]
        for entry in self.entries:
            if isinstance(entry, Row):
                exported.append({"socket": entry._asdict()})
            elif entry[0] == "gone":
                exported.append({"gone": entry[1]})
            elif entry[0] == "ok":
                exported.append({"ok": entry[1]})
            elif entry[0] == "packet":
                packet = entry[1]
                exported.append({"packet": {**packet._asdict(), "flags": list(packet.flags)}})
            else:
                exported.append({"error": entry[2], "op": entry[1]})
        return exported


@dataclass(frozen=True)
class LabResult:
    reached: int
    total: int
    complete: bool
    found: list[str]  # one line per step reached: what met it
    missing: str  # what the first step not reached needs; "" when complete


def replay(steps: list[dict], journal: list[dict]) -> LabResult:
    """Grade steps against an exported journal (Journal.export), as the engine would have."""
    if problems := steps_errors(steps):
        raise ValueError(" ".join(problems))
    tracker = Tracker([step["check"] for step in steps])
    table: dict[str, Row] = {}
    entries = list(journal)
    if entries and "table" in entries[0]:
        table = {row["id"]: Row(**row) for row in entries.pop(0)["table"]}
    tracker.moment(table.values())
    for entry in entries:
        if tracker.done == len(steps):
            break
        answer = None
        if "socket" in entry:
            row = Row(**entry["socket"])
            table[row.id] = row
        elif "gone" in entry:
            table.pop(entry["gone"], None)
        elif "ok" in entry:
            answer = ("ok", entry["ok"])
        elif "error" in entry:
            answer = ("error", entry.get("op"), entry["error"])
        elif "packet" in entry:
            fields = dict(entry["packet"])
            fields["flags"] = tuple(fields.get("flags", ()))
            answer = ("packet", PacketRow(**fields))
        tracker.moment(table.values(), answer)
    complete = tracker.done == len(steps)
    missing = (
        ""
        if complete
        else f"Step {tracker.done + 1} needs {describe(steps[tracker.done]['check'])}."
    )
    return LabResult(tracker.done, len(steps), complete, tracker.found, missing)
