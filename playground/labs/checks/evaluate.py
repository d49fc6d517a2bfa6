"""Evaluation: whether a check holds at a moment, and steps reached in order (no Django).

Rules:
- A match is met by one loop over its key table (playground.labs.checks.keys); a
  kind's own rule is in _KIND_HOLDS, one entry each.
- Checks are evaluated at moments: each change of a socket as checks see it (its Row),
  each socket gone, and each answer to a command, packet or pick. State checks read the
  table of that moment; event checks are met only by the moment's answer.
- An answer meets at most one step: once it has met one, the steps after it are
  evaluated at that moment without it.
"""

from collections.abc import Iterable

from playground.labs.checks.describe import packet_row_words, row_words, socket_words
from playground.labs.checks.keys import PACKET_KEYS, SOCKET_KEYS, a
from playground.labs.checks.kinds import kind_of
from playground.labs.checks.rows import PacketRow, Row

Held = tuple[str, bool] | None  # what met a check (words, whether the answer was used)


def matches(match: dict, row: Row | PacketRow) -> bool:
    """Whether a socket's Row (or a PacketRow) has every key of a socket (packet) match."""
    keys = PACKET_KEYS if isinstance(row, PacketRow) else SOCKET_KEYS
    return all(keys[name].match(wanted, row) for name, wanted in match.items())


def _socket(check, value, rows, answer) -> Held:
    row = next((r for r in rows if matches(value, r)), None)
    return None if row is None else (row_words(row), False)


def _no_socket(check, value, rows, answer) -> Held:
    if any(matches(value, r) for r in rows):
        return None
    return f"there was no {socket_words(value)}", False


def _sockets(check, value, rows, answer) -> Held:
    found = [r for r in rows if matches(value, r)]
    if "distinct" in check:
        found = list({getattr(r, check["distinct"]): r for r in found}.values())
    if len(found) < check["at_least"]:
        return None
    names = ", ".join(r.id for r in found)
    return f"sockets {names}, {len(found)} {socket_words(value, plural=True)}", False


def _connection(check, value, rows, answer) -> Held:
    for c in rows:
        if c.role != "client" or not matches(value.get("client", {}), c):
            continue
        for s in rows:
            if (
                s.role == "accepted"
                and (s.remote_device, s.remote_port) == (c.device, c.port)
                and (c.remote_device, c.remote_port) == (s.device, s.port)
                and matches(value.get("accepted", {}), s)
            ):
                return (
                    f"socket {c.id} ({c.device} port {c.port}) and socket {s.id} "
                    f"({s.device} port {s.port}) were the two ends of one connection",
                    False,
                )
    return None


def _error(check, value, rows, answer) -> Held:
    if answer is None or answer[0] != "error":
        return None
    if answer[2] != value or check.get("op", answer[1]) != answer[1]:
        return None
    words = f"{answer[1]} was answered {value}"
    if "while" in check:
        held = holds(check["while"], rows, None)
        if held is None:
            return None
        words += f", while {held[0]}"
    return words, True


def _ok(check, value, rows, answer) -> Held:
    if answer is None or answer[0] != "ok" or answer[1] != value:
        return None
    return f"{value} succeeded", True


def _packet(check, value, rows, answer) -> Held:
    if answer is None or answer[0] != "packet" or not matches(value, answer[1]):
        return None
    return packet_row_words(answer[1]), True


def _picked(check, value, rows, answer) -> Held:
    if answer is None or answer[0] != "picked" or pick_mismatch(check, answer[1]):
        return None
    picked = answer[1]
    words = packet_row_words(picked) if isinstance(picked, PacketRow) else row_words(picked)
    return f"you picked {words}", True


def _all(check, value, rows, answer) -> Held:
    results = []
    for part in value:
        held = holds(part, rows, answer)
        if held is None:
            return None
        results.append(held)
    return "; ".join(r[0] for r in results), any(r[1] for r in results)


def _any(check, value, rows, answer) -> Held:
    return next((held for part in value if (held := holds(part, rows, answer))), None)


_KIND_HOLDS = {
    "socket": _socket,
    "no_socket": _no_socket,
    "sockets": _sockets,
    "connection": _connection,
    "error": _error,
    "ok": _ok,
    "packet": _packet,
    "picked": _picked,
    "all": _all,
    "any": _any,
}


def holds(check: dict, rows: Iterable[Row], answer: tuple | None) -> Held:
    """What meets the check at a moment (words for it, and whether the moment's answer
    was used), or None. `rows`: the table then (re-iterable); `answer`: ("ok", op),
    ("error", op, code), ("packet", PacketRow), ("picked", PacketRow or Row) or None."""
    kind = kind_of(check)
    return _KIND_HOLDS[kind](check, check[kind], rows, answer)


def pick_mismatch(check: dict, picked: "PacketRow | Row") -> str | None:
    """Why a picked packet or socket does not meet a picked check, in words that say what
    to look for instead ("That packet is from the laptop; look for one from the server."),
    or None when it meets it."""
    value = check["picked"]
    if "packet" in value:
        if not isinstance(picked, PacketRow):
            return "This step asks you to pick a packet, not a socket."
        match = value["packet"]
        # Said for the first key the packet lacks, in table order.
        lacks = (k for n, k in PACKET_KEYS.items() if n in match and not k.match(match[n], picked))
        key = next(lacks, None)
        return None if key is None else key.mismatch(match[key.name], picked)
    if not isinstance(picked, Row):
        return "This step asks you to pick a socket, not a packet."
    if not matches(value["socket"], picked):
        return f"That is {row_words(picked)}; look for {a(socket_words(value['socket']))}."
    return None


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
            held = holds(self.checks[self.done], rows, answer)
            if held is None:
                break
            self.found.append(f"Step {self.done + 1}: {held[0]}.")
            self.done += 1
            if held[1]:
                answer = None  # met a step: the next ones see only later answers
        return self.done != before
