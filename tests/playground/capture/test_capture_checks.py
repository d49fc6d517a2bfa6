"""The `packet` lab check, the capture limits' system check and the packet event's size."""

import socket

from playground.capture.packets import RECORD, TCP, Packet, event, record
from playground.checks import PACKET_EVENT_BYTES, PAYLOAD_BYTE_JSON, check_playground
from playground.labs.checks import (
    Journal,
    PacketRow,
    Row,
    check_errors,
    describe,
    needs_packets,
    replay,
)
from playground.wire.protocol import dumps

SYN = PacketRow("tcp", "laptop", "server", 41234, 3000, ("SYN",), 0)
SYN_ACK = PacketRow("tcp", "server", "laptop", 3000, 41234, ("SYN", "ACK"), 0)
DATA = PacketRow("tcp", "laptop", "server", 41234, 3000, ("PSH", "ACK"), 2)
DATAGRAM = PacketRow("udp", "laptop", "server", 41234, 5353, (), 4)
LISTENER = Row("s1", "server", "tcp", "listener", 3000, None, None, "LISTEN", False, False, False)


def test_it_accepts_packet_checks_with_any_of_their_fields():
    full = {
        "protocol": "tcp",
        "from": "laptop",
        "to": "server",
        "port": 3000,
        "flags": ["SYN", "ACK"],
        "has": ["ACK"],
        "length_min": 0,
    }
    for check in ({"packet": {}}, {"packet": full}, {"any": [{"packet": {"has": ["RST"]}}]}):
        assert check_errors(check) == [], check


def test_it_explains_what_is_wrong_with_a_packet_check():
    cases = [
        ({"packet": []}, "must be an object of packet fields"),
        ({"packet": {"size": 3}}, "'size' is no packet field"),
        ({"packet": {"flags": []}}, "a list of TCP flags"),
        ({"packet": {"flags": ["SYN", "SYN"]}}, "each once"),
        ({"packet": {"has": ["XMAS"]}}, "from: SYN, FIN, RST, PSH, ACK, URG"),
        ({"packet": {"from": "router"}}, "one of laptop, server"),
        ({"packet": {"length_min": -1}}, "0 or more"),
        ({"packet": {"port": 80000}}, "a port number"),
        ({"packet": {"protocol": "udp", "has": ["ACK"]}}, "UDP packets have no flags"),
        ({"error": "ECONNRESET", "while": {"packet": {}}}, "holds only state checks"),
    ]
    for check, words in cases:
        errors = check_errors(check)
        assert len(errors) == 1 and words in errors[0], (check, errors)


def test_it_words_packet_checks_in_plain_english():
    assert (
        describe({"packet": {"from": "laptop", "to": "server", "flags": ["SYN"]}})
        == "a packet from the laptop to the server with exactly the flag SYN"
    )
    assert (
        describe({"packet": {"protocol": "tcp", "port": 3000, "flags": ["ACK", "SYN"]}})
        == "a TCP packet to or from port 3000 with exactly the flags SYN and ACK"
    )
    assert (
        describe({"packet": {"protocol": "udp", "length_min": 1}})
        == "a UDP packet carrying at least 1 byte of data"
    )
    assert (
        describe({"packet": {"from": "server", "has": ["FIN", "ACK"]}})
        == "a packet from the server with the flags FIN and ACK set"
    )
    assert needs_packets({"all": [{"socket": {}}, {"any": [{"packet": {}}]}]})
    assert not needs_packets({"all": [{"socket": {}}, {"ok": "send"}]})


def journal_of(*entries) -> list[dict]:
    journal = Journal()
    for entry in entries:
        journal.add(entry)
    return journal.export()


def test_it_grades_packets_as_events_each_meeting_one_step_at_most():
    steps = [
        {"text": "Listen.", "check": {"socket": {"role": "listener"}}},
        {"text": "A SYN.", "check": {"packet": {"from": "laptop", "flags": ["SYN"]}}},
        {"text": "Another SYN.", "check": {"packet": {"has": ["SYN"]}}},
        {"text": "Data.", "check": {"packet": {"length_min": 2, "port": 3000}}},
    ]
    one_syn = journal_of(LISTENER, ("packet", SYN), ("packet", DATA))
    result = replay(steps, one_syn)
    assert (result.reached, result.complete) == (2, False)
    assert result.found[1] == (
        "Step 2: a TCP packet from the laptop port 41234 to the server port 3000, flags SYN, "
        "0 bytes of data."
    )
    assert result.missing == "Step 3 needs a packet with the flag SYN set."
    both = journal_of(LISTENER, ("packet", SYN), ("packet", SYN_ACK), ("packet", DATA))
    assert replay(steps, both).complete
    # A step's packet must come after the step before it was reached.
    early = journal_of(("packet", SYN), LISTENER, ("packet", SYN_ACK), ("packet", DATA))
    assert replay(steps, early).reached == 1  # the only SYN came before the listener
    udp_flags = [{"text": "No flags on UDP.", "check": {"packet": {"protocol": "udp"}}}]
    assert replay(udp_flags, journal_of(("packet", DATAGRAM))).complete
    assert not replay(
        [{"text": "A SYN.", "check": {"packet": {"has": ["SYN"]}}}],
        journal_of(("packet", DATAGRAM)),
    ).complete


def test_it_accepts_the_capture_limits_and_refuses_bad_ones(settings):
    limits = settings.PLAYGROUND_LIMITS

    def ids(**changes):
        settings.PLAYGROUND_LIMITS = {**limits, **changes}
        return [message.id for message in check_playground()]

    assert ids() == []
    assert ids(capture_history=0, payload_preview=0) == []  # no history, no payload shown
    assert ids(capture_packets_per_second=0) == ["playground.E002"]
    assert ids(capture_history=2.5) == ["playground.E012"]
    assert ids(capture_history=5000) == ["playground.E013"]
    assert ids(payload_preview=4096) == ["playground.E013"]


def test_it_keeps_a_packet_event_within_the_size_the_check_counts_on():
    widest = Packet(
        TCP,
        socket.inet_aton("127.255.255.254"),
        65535,
        socket.inet_aton("127.255.255.253"),
        65535,
        0x3F,
        2**32 - 1,
        2**32 - 1,
        65535,
        65535,
        b"\x01" * 64,
    )
    kept = record(2**32 - 1, 2**62, widest, (2**32 - 1, 2**32 - 1), 2**32 - 1, (2**32 - 1,) * 2)
    assert len(kept) == RECORD.size + 64
    devices = {widest.src: "laptop", widest.dst: "server"}
    text = dumps(event(kept, devices))
    assert len(text.encode()) <= PACKET_EVENT_BYTES + PAYLOAD_BYTE_JSON * 64
