"""The kinds of check: one Kind each, with what it reads and the keys that go with it
(no Django).

Rules:
- A check is an object with exactly one kind's key; the other keys it may have are that
  kind's `modifiers`. A kind's value may hold keys of its own (`parts`): the two ends of
  a connection, what a pick names.
- `reads`: "table" (a state check: the sockets of a moment), "answer" (an event check:
  met only by the answer, packet or pick of its moment) or "checks" (all, any: a list).
- Course files write a check's keys in KEY_ORDER: kinds, then the keys that go with them,
  then socket keys, then packet keys (playground.labs.checks.keys).
"""

from dataclasses import dataclass

from playground.labs.checks.keys import PACKET_KEYS, SOCKET_KEYS


@dataclass(frozen=True)
class Kind:
    name: str
    reads: str
    modifiers: tuple[str, ...] = ()
    parts: tuple[str, ...] = ()


KINDS = {
    kind.name: kind
    for kind in (
        Kind("socket", "table"),
        Kind("no_socket", "table"),
        Kind("sockets", "table", modifiers=("at_least", "distinct")),
        Kind("connection", "table", parts=("client", "accepted")),
        Kind("error", "answer", modifiers=("op", "while")),
        Kind("ok", "answer"),
        Kind("packet", "answer"),
        Kind("picked", "answer", parts=("packet", "socket")),
        Kind("all", "checks"),
        Kind("any", "checks"),
    )
}
STATE_KINDS = tuple(kind.name for kind in KINDS.values() if kind.reads == "table")
EVENT_KINDS = tuple(kind.name for kind in KINDS.values() if kind.reads == "answer")
MODIFIERS = {kind.name: set(kind.modifiers) for kind in KINDS.values() if kind.modifiers}
PICKABLE = KINDS["picked"].parts

# Every key of the check language, in the order course files write them (and the
# loader puts a check read back from the database in: lessons.course_files).
KEY_ORDER = tuple(
    dict.fromkeys(
        [
            *KINDS,
            *(key for kind in KINDS.values() for key in (*kind.modifiers, *kind.parts)),
            *SOCKET_KEYS,
            *PACKET_KEYS,
        ]
    )
)


def kind_of(check: dict) -> str:
    """The kind of a (valid) check."""
    return next(k for k in check if k in KINDS)


def needs_packets(check: dict) -> bool:
    """Whether a (valid) check looks at packets anywhere."""
    kind = kind_of(check)
    if kind == "packet" or (kind == "picked" and "packet" in check[kind]):
        return True
    return KINDS[kind].reads == "checks" and any(needs_packets(part) for part in check[kind])


def picks(check: dict) -> str | None:
    """What a (valid) check asks the learner to pick ("packet" or "socket"), or None."""
    part = picked_part(check)
    return next(iter(part["picked"])) if part else None


def picked_part(check: dict) -> dict | None:
    """The "picked" check within a (valid) check, or None."""
    kind = kind_of(check)
    if kind == "picked":
        return check
    if KINDS[kind].reads == "checks":
        return next((found for part in check[kind] if (found := picked_part(part))), None)
    return None
