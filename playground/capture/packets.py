"""Captured packets: parsing the frames a packet socket reads, and the compact record a
sandbox keeps of each (no Django).

Rules:
- Only what the kernel's filter let through reaches here (playground.capture): IPv4
  TCP or UDP on the namespace's loopback, as a SOCK_RAW packet socket reads it, behind
  the loopback device's 14-byte Ethernet header. Anything shorter than its own headers
  say, or a fragment (never made on loopback), is refused (None), never guessed at.
- A frame is cut by the filter after the headers and `payload_preview` bytes of
  payload: `length` is the payload's real length, read from the IP header, and
  `payload` only its first bytes.
- A sandbox keeps its packets as RECORD-packed bytes (about 70 bytes and the payload
  preview each), so a full history costs a few tens of KiB, not the kilobyte a
  packet event's dict takes; `event` rebuilds the event from a record.
- Each TCP flag is spelled once, in TCP_FLAGS (its name, bit, meaning and tcpdump
  letter): FLAGS, FLAG_NAMES, the lab checks and the page's words derive from it.
"""

import socket
import struct
from datetime import UTC, datetime
from typing import NamedTuple

from playground.wire import events

ETHERNET = 14  # the loopback device's (all-zero) Ethernet header
TCP, UDP = 6, 17
PROTOCOLS = {TCP: "tcp", UDP: "udp"}


class Flag(NamedTuple):
    name: str  # as packet events and lab checks spell it
    bit: int
    meaning: str  # what it asks, for the packets panel's details
    letter: str  # tcpdump's (ACK is "."); tcpdump writes them in the order of their bits


# The TCP flags a packet event may list, declared once, in the order events list them.
TCP_FLAGS = (
    Flag("SYN", 0x02, "synchronise: open a connection", "S"),
    Flag("FIN", 0x01, "finish: nothing more to send", "F"),
    Flag("RST", 0x04, "reset: abort the connection", "R"),
    Flag("PSH", 0x08, "push: the sender asks for the data to be passed on without delay", "P"),
    Flag("ACK", 0x10, "acknowledge", "."),
    Flag("URG", 0x20, "urgent", "U"),
)
FLAGS = tuple((flag.name, flag.bit) for flag in TCP_FLAGS)
FLAG_NAMES = tuple(flag.name for flag in TCP_FLAGS)
_BITS = dict(FLAGS)
SYN, FIN, RST, PSH, ACK = (_BITS[name] for name in ("SYN", "FIN", "RST", "PSH", "ACK"))
MAX_HEADERS = 60 + 60  # the longest IPv4 header and the longest TCP header
_IP = struct.Struct("!BBHHHBBH4s4s")  # version/ihl, tos, total, id, frag, ttl, proto, sum, src, dst
_TCP = struct.Struct("!HHIIBBH")  # sport, dport, seq, ack, offset, flags, window
_UDP = struct.Struct("!HHHH")  # sport, dport, length, checksum
# n, time (ns), protocol, flags, src, sport, dst, dport, seq, ack, relative seq and ack
# (-1: unknown), window, payload length, dropped, sending and receiving socket (0: none);
# the payload preview follows.
RECORD = struct.Struct("<IqBB4sH4sHIIqqHIIII")
NONE = -1


class Packet(NamedTuple):
    protocol: int
    src: bytes  # 4 bytes, as on the wire
    sport: int
    dst: bytes
    dport: int
    flags: int  # TCP flag bits; 0 for UDP
    seq: int
    ack: int
    window: int
    length: int  # of the payload, whole
    payload: bytes  # its first bytes


def parse(frame: bytes, preview: int) -> Packet | None:
    """The packet in a frame as the packet socket read it, or None if it is not one."""
    if len(frame) < ETHERNET + _IP.size:
        return None
    first, _, total, _, fragment, _, protocol, _, src, dst = _IP.unpack_from(frame, ETHERNET)
    header = (first & 0x0F) * 4
    if first >> 4 != 4 or header < 20 or fragment & 0x3FFF or total < header:
        return None  # not IPv4, a malformed header, or a fragment (MF set or an offset)
    start = ETHERNET + header
    if protocol == TCP:
        if len(frame) < start + _TCP.size:
            return None
        sport, dport, seq, ack, offset, flags, window = _TCP.unpack_from(frame, start)
        size = (offset >> 4) * 4
        if size < 20 or header + size > total:
            return None
    elif protocol == UDP:
        if len(frame) < start + _UDP.size:
            return None
        sport, dport, _, _ = _UDP.unpack_from(frame, start)
        seq = ack = window = flags = 0
        size = _UDP.size
    else:
        return None
    length = total - header - size
    payload = frame[start + size : start + size + min(length, preview)]
    return Packet(protocol, src, sport, dst, dport, flags, seq, ack, window, length, payload)


def is_syn(frame: bytes) -> bool:
    """Whether a frame holds a TCP packet with SYN set, read without parsing it all."""
    if len(frame) < ETHERNET + 20 or frame[ETHERNET + 9] != TCP:
        return False
    at = ETHERNET + (frame[ETHERNET] & 0x0F) * 4 + 13
    return len(frame) > at and bool(frame[at] & SYN)


def flag_names(flags: int) -> list[str]:
    return [name for name, bit in FLAGS if flags & bit]


def record(
    n: int,
    time_ns: int,
    packet: Packet,
    relative: tuple[int, int],
    dropped: int,
    sockets: tuple[int, int],
) -> bytes:
    """The compact form a sandbox keeps; `relative`: seq and ack (NONE: unknown);
    `sockets`: the sending and the receiving socket's number (0: none)."""
    return (
        RECORD.pack(
            n,
            time_ns,
            packet.protocol,
            packet.flags,
            packet.src,
            packet.sport,
            packet.dst,
            packet.dport,
            packet.seq,
            packet.ack,
            *relative,
            packet.window,
            packet.length,
            dropped,
            *sockets,
        )
        + packet.payload
    )


def iso_time(time_ns: int) -> str:
    seconds, rest = divmod(time_ns, 1_000_000_000)
    return datetime.fromtimestamp(seconds, UTC).replace(microsecond=rest // 1000).isoformat()


def event(kept: bytes, devices: dict[bytes, str]) -> dict:
    """The `packet` event of a record; `devices`: device name by address (4 bytes)."""
    (
        n,
        time_ns,
        protocol,
        flags,
        src,
        sport,
        dst,
        dport,
        seq,
        ack,
        seq_relative,
        ack_relative,
        window,
        length,
        dropped,
        sender,
        receiver,
    ) = RECORD.unpack_from(kept)
    tcp = protocol == TCP
    return events.packet(
        n=n,
        time=iso_time(time_ns),
        protocol=PROTOCOLS[protocol],
        sender=_end(devices, src, sport),
        receiver=_end(devices, dst, dport),
        tcp=(
            {
                "flags": flag_names(flags),
                "seq": seq,
                "ack": ack,
                "seq_relative": None if seq_relative == NONE else seq_relative,
                "ack_relative": None if ack_relative == NONE else ack_relative,
                "window": window,
            }
            if tcp
            else None
        ),
        length=length,
        payload=kept[RECORD.size :].decode("utf-8", "replace"),
        sockets=[f"s{number}" for number in (sender, receiver) if number],
        dropped=dropped,
    )


def _end(devices: dict[bytes, str], address: bytes, port: int) -> dict:
    return {"device": devices.get(address), "ip": socket.inet_ntoa(address), "port": port}
