"""What a check needs, and what met it, in plain English for learners (no Django).

Rules:
- A match is said by one loop over its key table (playground.labs.checks.keys): each
  key's words go where its `place` says ("TCP listening socket on server port 3000
  (in state LISTEN)"); a kind's own sentence is in _KIND_WORDS, one entry each.
- Two "with" phrases in a row read "with ... and ..." ("with exactly the flag SYN and
  the flag ACK set").
- describe() takes a valid check; words name devices, ports and states as the page does.
"""

from playground.labs.checks.keys import NOUNS, PACKET_KEYS, SOCKET_KEYS, a
from playground.labs.checks.kinds import kind_of
from playground.labs.checks.rows import PacketRow, Row


def _said(match: dict, keys: dict, place: str) -> list[str]:
    return [
        key.words(match[name]) for name, key in keys.items() if key.place == place and name in match
    ]


def _at(match: dict, place: str) -> str | None:
    """ "on server port 3000", "connected to either device port 41234", or None. A
    place's first key is its device, said "either device" when only a port is named."""
    device, *rest = [key for key in SOCKET_KEYS.values() if key.place == place]
    if device.name not in match and not any(key.name in match for key in rest):
        return None
    said = [device.words(match[device.name]) if device.name in match else "either device"]
    return " ".join(
        [place, *said, *(key.words(match[key.name]) for key in rest if key.name in match)]
    )


def socket_words(match: dict, plural: bool = False) -> str:
    """E.g. "TCP listening socket on server port 3000 (in state LISTEN)"."""
    role = SOCKET_KEYS["role"].words(match["role"]) if "role" in match else None
    protocol = SOCKET_KEYS["protocol"].words(match["protocol"]) if "protocol" in match else None
    # A role names its socket ("UDP socket" already says UDP); TCP is said before it.
    noun = role or "socket"
    if protocol and not (role and protocol == "UDP"):
        noun = f"{protocol} {noun}"
    words = [noun + ("s" if plural else "")]
    words += [at for place in ("on", "connected to") if (at := _at(match, place))]
    words += _said(match, SOCKET_KEYS, "after")
    aside = _said(match, SOCKET_KEYS, "aside")
    return " ".join(words) + (f" ({', '.join(aside)})" if aside else "")


def packet_words(match: dict) -> str:
    """E.g. "a TCP packet from the laptop to the server with the flags SYN and ACK"."""
    words = [a(" ".join([*_said(match, PACKET_KEYS, "noun"), "packet"]))]
    for phrase in _said(match, PACKET_KEYS, "after"):
        if phrase.startswith("with ") and words[-1].startswith("with "):
            phrase = "and " + phrase.removeprefix("with ")
        words.append(phrase)
    return " ".join(words)


def row_words(row: Row) -> str:
    """What a socket of the table was, e.g. "socket s1, a TCP listening socket on server
    port 3000 with no remote address, in state LISTEN"."""
    noun = NOUNS[row.role] if row.role == "udp" else f"TCP {NOUNS[row.role]}"
    where = f"socket {row.id}, {a(noun)} on {row.device} port {row.port}"
    if row.remote_port is None:
        where += " with no remote address"
    else:
        where += f" connected to {row.remote_device} port {row.remote_port}"
    closed = ", closed by the program" if row.closed_by_program else ""
    manual = ", reading only on recv()" if not row.auto_read else ""
    if row.auto_accept is False:
        manual += ", accepting only on accept()"
    return f"{where}, in state {row.state}{closed}{manual}"


def packet_row_words(packet: PacketRow) -> str:
    """What a captured packet was."""
    flags = f", flags {' '.join(packet.flags) or 'none'}" if packet.protocol == "tcp" else ""
    return (
        f"a {packet.protocol.upper()} packet from the {packet.sender} port {packet.sport} to "
        f"the {packet.receiver} port {packet.dport}{flags}, {packet.length} bytes of data"
    )


def _sockets(check: dict, value) -> str:
    n = check["at_least"]
    text = f"at least {n} {socket_words(value, plural=n != 1)}"
    if "distinct" in check:
        text += f", with {n} different {check['distinct'].replace('_', ' ')}s"
    return text


def _connection(check: dict, value) -> str:
    client = socket_words({"role": "client", **value.get("client", {})})
    accepted = socket_words({"role": "accepted", **value.get("accepted", {})})
    return f"the two ends of one connection: {a(client)} and {a(accepted)}"


def _error(check: dict, value) -> str:
    text = f"{a(value)} error answering " + (check.get("op") or "a command")
    return text + (f", while there is {describe(check['while'])}" if "while" in check else "")


def _picked(check: dict, value) -> str:
    if "packet" in value:
        return f"your pick of {packet_words(value['packet'])}"
    return f"your pick of {a(socket_words(value['socket']))}"


def _all(check: dict, value) -> str:
    parts = [describe(part) for part in value]
    if len(parts) == 1:
        return parts[0]
    return "; and ".join(parts) if len(parts) > 2 else " and ".join(parts)


def _any(check: dict, value) -> str:
    parts = [describe(part) for part in value]
    return parts[0] if len(parts) == 1 else "either " + ", or ".join(parts)


_KIND_WORDS = {
    "socket": lambda check, value: a(socket_words(value)),
    "no_socket": lambda check, value: f"no {socket_words(value)}",
    "sockets": _sockets,
    "connection": _connection,
    "error": _error,
    "ok": lambda check, value: f"an ok answer to {value}",
    "packet": lambda check, value: packet_words(value),
    "picked": _picked,
    "all": _all,
    "any": _any,
}


def describe(check: dict) -> str:
    """What the check needs, in plain English (for feedback); the check must be valid."""
    kind = kind_of(check)
    return _KIND_WORDS[kind](check, check[kind])
