"""A socket and a packet as checks see them: the compact rows the table, the journal and
the key tables read (no Django).

Rules: a Row keeps only what a check can read (sent and received are whether, not how
much), so a stream of data does not change it; a PacketRow keeps a few fields of a
captured packet's `packet` event.
"""

from typing import NamedTuple


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


def compact(row: dict, device_of: dict[str, str]) -> Row:
    """The Row of a socket row (playground.sandbox.socket.SandboxSocket.row)."""
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
