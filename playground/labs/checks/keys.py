"""The keys of the check language: one Key per socket key (MATCH) and per packet key
(PMATCH), each with its validation, its words for learners and its match (no Django).

Rules:
- A key is declared once, here: validation (playground.labs.checks.validate), words
  (describe) and matching (evaluate) loop over SOCKET_KEYS and PACKET_KEYS and hold
  nothing of any key; course files write a match's keys in table order (KEY_ORDER).
- `validate(value)` is None when the value is good, else what it must be ("a port number
  from 1 to 65535"); `words(value)` is the key's phrase, put where `place` says in a
  description (playground.labs.checks.describe); `match(wanted, row)` is whether a Row
  (or a PacketRow) has it; `label` is what the admin's check fields call it.
- A packet key also says why a picked packet does not have it (`mismatch`).
- Flags are TCP's: a flags key is never met by a UDP packet.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from playground.capture.packets import FLAG_NAMES
from playground.host.kernel import TCP_STATES, UDP_STATES
from playground.wire.limits import EngineConfig

DEVICES = EngineConfig().devices
STATES = sorted({*TCP_STATES.values(), *UDP_STATES.values()})
PROTOCOLS = ("tcp", "udp")
ROLES = ("listener", "client", "accepted", "udp")
NOUNS = {
    "listener": "listening socket",
    "client": "client socket",
    "accepted": "accepted socket",
    "udp": "UDP socket",
}


@dataclass(frozen=True)
class Key:
    name: str
    validate: Callable[[Any], str | None]
    words: Callable[[Any], str]
    match: Callable[[Any, Any], bool]  # (wanted, Row or PacketRow)
    # Where its words go: "noun", "on", "connected to", "after" or "aside" (in brackets).
    place: str = "after"
    mismatch: Callable[[Any, Any], str] | None = None  # a packet key's, for a pick
    # What the admin's check fields call it (labs.admin); by default its name in words.
    label: str = ""

    def __post_init__(self):
        if not self.label:
            object.__setattr__(self, "label", self.name.replace("_", " ").capitalize())


# Words ------------------------------------------------------------------------


def a(words: str) -> str:
    """With its article: "an ACK", "a UDP packet" (said "a you-dee-pee")."""
    return f"{'an' if words[0] in 'aeiouAEIO' else 'a'} {words}"


def flags_words(flags) -> str:
    """E.g. "SYN and ACK", in FLAG_NAMES order."""
    ordered = [f for f in FLAG_NAMES if f in flags]
    return ordered[0] if len(ordered) == 1 else ", ".join(ordered[:-1]) + " and " + ordered[-1]


def _the_flags(flags) -> str:
    return f"the flag{'s' if len(flags) > 1 else ''} {flags_words(flags)}"


def _packet_flags(packet) -> str:
    return _the_flags(packet.flags) if packet.flags else "no flags"


def _either(yes: str, no: str) -> Callable[[bool], str]:
    return lambda value: yes if value else no


# Validation -------------------------------------------------------------------


def one_of(options) -> Callable[[object], str | None]:
    return lambda v: None if isinstance(v, str) and v in options else f"one of {', '.join(options)}"


def port(value) -> str | None:
    ok = isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 65535
    return None if ok else "a port number from 1 to 65535"


def flag(value) -> str | None:
    return None if isinstance(value, bool) else "true or false"


def states(value) -> str | None:
    names = [value] if isinstance(value, str) else value
    if isinstance(names, list) and names and all(n in STATES for n in names):
        return None
    return f"a state or a list of states, from: {', '.join(STATES)}"


def flag_list(value) -> str | None:
    ok = isinstance(value, list) and value and all(f in FLAG_NAMES for f in value)
    if ok and len(set(value)) == len(value):
        return None
    return f"a list of TCP flags, each once, from: {', '.join(FLAG_NAMES)}"


def length(value) -> str | None:
    ok = isinstance(value, int) and not isinstance(value, bool) and value >= 0
    return None if ok else "a whole number of bytes, 0 or more"


def null(value) -> str | None:
    return None if value is None else "null (no remote address)"


# The tables -------------------------------------------------------------------


def _same(field: str) -> Callable[[Any, Any], bool]:
    return lambda wanted, row: getattr(row, field) == wanted


def _in_states(wanted, row) -> bool:
    return row.state == wanted or (not isinstance(wanted, str) and row.state in wanted)


def _state_words(value) -> str:
    return "in state " + " or ".join([value] if isinstance(value, str) else value)


SOCKET_KEYS = {
    key.name: key
    for key in (
        Key("device", one_of(DEVICES), str, _same("device"), "on"),
        Key("protocol", one_of(PROTOCOLS), str.upper, _same("protocol"), "noun"),
        Key("role", one_of(ROLES), NOUNS.__getitem__, _same("role"), "noun"),
        Key("port", port, "port {}".format, _same("port"), "on"),
        Key("state", states, _state_words, _in_states, "aside"),
        Key("remote_device", one_of(DEVICES), str, _same("remote_device"), "connected to"),
        Key("remote_port", port, "port {}".format, _same("remote_port"), "connected to"),
        Key(
            "remote",
            null,
            lambda _: "with no remote address",
            lambda _, row: row.remote_port is None,
            label="No remote address",
        ),
        Key(
            "closed_by_program",
            flag,
            _either("closed by the program", "still open in the program"),
            _same("closed_by_program"),
            "aside",
            label="Closed by its program",
        ),
        Key(
            "sent",
            flag,
            _either("that has sent data", "that has sent nothing"),
            _same("sent"),
            "aside",
            label="Has sent data",
        ),
        Key(
            "received",
            flag,
            _either("that has received data", "that has received nothing"),
            _same("received"),
            "aside",
            label="Has received data",
        ),
        Key(
            "auto_read",
            flag,
            _either("that reads by itself", "that reads only on recv()"),
            _same("auto_read"),
            "aside",
            label="Reads by itself",
        ),
        Key(
            "auto_accept",
            flag,
            _either("that accepts by itself", "that accepts only on accept()"),
            _same("auto_accept"),
            "aside",
            label="Accepts by itself",
        ),
    )
}

PACKET_KEYS = {
    key.name: key
    for key in (
        Key(
            "protocol",
            one_of(PROTOCOLS),
            str.upper,
            lambda wanted, p: p.protocol == wanted,
            "noun",
            lambda wanted, p: (
                f"That is {a(p.protocol.upper())} packet; look for {a(wanted.upper())} one."
            ),
        ),
        Key(
            "from",
            one_of(DEVICES),
            "from the {}".format,
            lambda wanted, p: p.sender == wanted,
            mismatch=lambda wanted, p: (
                f"That packet is from the {p.sender}; look for one from the {wanted}."
            ),
            label="From device",
        ),
        Key(
            "to",
            one_of(DEVICES),
            "to the {}".format,
            lambda wanted, p: p.receiver == wanted,
            mismatch=lambda wanted, p: (
                f"That packet is to the {p.receiver}; look for one to the {wanted}."
            ),
            label="To device",
        ),
        Key(
            "port",
            port,
            "to or from port {}".format,
            lambda wanted, p: wanted in (p.sport, p.dport),
            mismatch=lambda wanted, p: (
                f"That packet is not to or from port {wanted}; look for one that is."
            ),
        ),
        Key(
            "flags",
            flag_list,
            lambda flags: f"with exactly {_the_flags(flags)}",
            lambda wanted, p: p.protocol == "tcp" and set(p.flags) == set(wanted),
            mismatch=lambda wanted, p: (
                f"That packet has {_packet_flags(p)}; look for one with exactly "
                f"{flags_words(wanted)}."
            ),
            label="Exactly these flags",
        ),
        Key(
            "has",
            flag_list,
            # After "flags", said "and the flags ... set" (describe joins two "with"s).
            lambda flags: f"with {_the_flags(flags)} set",
            lambda wanted, p: p.protocol == "tcp" and set(wanted) <= set(p.flags),
            mismatch=lambda wanted, p: (
                f"That packet has {_packet_flags(p)}; look for one with {flags_words(wanted)} set."
            ),
            label="At least these flags",
        ),
        Key(
            "length_min",
            length,
            lambda n: f"carrying at least {n} byte{'' if n == 1 else 's'} of data",
            lambda wanted, p: p.length >= wanted,
            mismatch=lambda wanted, p: (
                f"That packet carries {p.length} bytes of data; look for one carrying at "
                f"least {wanted}."
            ),
            label="Data bytes at least",
        ),
    )
}

# Each key's rule by name (the admin gives each key its input from its rule).
FIELDS = {name: key.validate for name, key in SOCKET_KEYS.items()}
PACKET_FIELDS = {name: key.validate for name, key in PACKET_KEYS.items()}

# What `distinct` may name: a socket key with one value per socket, in the order
# messages and the admin list them.
DISTINCT = ("device", "protocol", "role", "state", "port", "remote_device", "remote_port")
