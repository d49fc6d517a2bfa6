"""The lab check language: validation, plain-English descriptions, replay of a journal,
and the experiment files (no sandbox here; tests/playground/labs/test_lab.py runs
every experiment against real ones)."""

from pathlib import Path

import pytest
import yaml
from django.conf import settings

from playground.labs.checks import (
    Journal,
    PacketRow,
    Row,
    Tracker,
    check_errors,
    describe,
    pick_mismatch,
    replay,
    steps_errors,
)
from playground.labs.lab import catalogue_of

EXPERIMENTS = Path(settings.COURSE_CONTENT_DIR) / "experiments"
LISTENER = {"socket": {"device": "server", "port": 3000, "role": "listener"}}


def row(id="s1", device="server", role="listener", port=3000, remote=None, **fields) -> dict:
    """A journal row (playground.labs.checks.Row as an object)."""
    remote_device, remote_port = remote or (None, None)
    values = {
        "protocol": "udp" if role == "udp" else "tcp",
        "state": "LISTEN" if role == "listener" else "ESTABLISHED",
        "closed_by_program": False,
        "sent": False,
        "received": False,
        **fields,
    }
    return Row(id=id, device=device, role=role, port=port, remote_device=remote_device,
               remote_port=remote_port, **values)._asdict()  # fmt: skip


VALID = [
    LISTENER,
    {"no_socket": {"device": "server", "port": 3000, "closed_by_program": False}},
    {"socket": {"state": ["FIN_WAIT2", "TIME_WAIT"], "remote": None, "sent": True}},
    {"sockets": {"role": "accepted"}, "at_least": 2, "distinct": "remote_port"},
    {"connection": {}},
    {"connection": {"client": {"device": "laptop"}, "accepted": {"state": "CLOSE_WAIT"}}},
    {"error": "ECONNREFUSED"},
    {"error": "EADDRINUSE", "op": "tcp.listen", "while": {"no_socket": {"port": 3000}}},
    {"ok": "udp.sendto"},
    {"all": [{"ok": "tcp.connect"}, {"any": [LISTENER, {"connection": {}}]}]},
]


@pytest.mark.parametrize("check", VALID)
def test_it_accepts_every_form_of_the_check_language(check):
    assert check_errors(check) == []


INVALID = [
    ("socket", "must be an object with one of"),
    ({}, "exactly one of socket, no_socket"),
    ({"socket": {}, "ok": "reset"}, "(it has socket, ok)"),
    ({"sockt": {}}, "(it has none)"),
    ({"socket": {"colour": "red"}}, "'colour' is no socket field"),
    ({"socket": {"device": "router"}}, "'device' must be one of laptop, server, not 'router'"),
    ({"socket": {"state": "LISTENING"}}, "'state' must be a state or a list of states"),
    ({"socket": {"state": []}}, "'state' must be a state or a list of states"),
    ({"socket": {"port": "3000"}}, "'port' must be a port number from 1 to 65535"),
    ({"socket": {"port": True}}, "'port' must be a port number"),
    ({"socket": {"remote": {"device": "laptop"}}}, "'remote' must be null"),
    ({"socket": {"sent": 1}}, "'sent' must be true or false"),
    ({"socket": [], "at_least": 2}, "'at_least' does not go with 'socket'"),
    ({"sockets": {"role": "client"}}, "needs 'at_least', a whole number of 1 or more"),
    ({"sockets": {}, "at_least": 0}, "needs 'at_least'"),
    ({"sockets": {}, "at_least": 2, "distinct": "colour"}, "'distinct' must be one of"),
    ({"connection": {"server": {}}}, "'server' is neither 'client' nor 'accepted'"),
    ({"connection": []}, "'connection' must be an object"),
    ({"error": ""}, "must be an error code"),
    ({"error": "EPIPE", "op": "write"}, "'op' must be one of tcp.listen"),
    ({"error": "EPIPE", "while": {"ok": "send"}}, "a 'while' holds only state checks"),
    ({"error": "EPIPE", "while": {"all": [{"error": "X"}]}}, "a 'while' holds only state"),
    ({"ok": "rm -rf"}, "'ok' must be one of tcp.listen"),
    ({"ok": "send", "op": "send"}, "'op' does not go with 'ok'"),
    ({"all": []}, "'all' must be a list of one check or more"),
    ({"any": [{"ok": "send"}, 7]}, "'any', check 2 must be an object"),
]


@pytest.mark.parametrize(("check", "words"), INVALID)
def test_it_says_what_is_wrong_with_a_check(check, words):
    errors = check_errors(check)
    assert errors and any(words in error for error in errors), errors


def test_it_says_which_step_is_wrong():
    assert steps_errors([]) == [
        "Steps must be a list of one step or more, each with 'text' and 'check'."
    ]
    assert steps_errors("steps") == steps_errors([])
    errors = steps_errors(
        [
            {"text": "Listen.", "check": LISTENER},
            {"text": " ", "check": {"ok": "listen"}, "hint": "?"},
            {"check": LISTENER},
            {"text": "Connect."},
            "Reset.",
        ]
    )
    assert errors == [
        "Step 2: 'hint' is not a step field.",
        "Step 2 needs a 'text': what to do, in plain words.",
        "Step 2's check: 'ok' must be one of tcp.listen, tcp.connect, accept, udp.bind, "
        "udp.connect, udp.sendto, send, recv, shutdown, close, tcp.reset, reset.",
        "Step 3 needs a 'text': what to do, in plain words.",
        "Step 4 needs a 'check'.",
        "Step 5 must be an object with 'text' and 'check'.",
    ]


def test_it_describes_what_a_check_needs_in_plain_english():
    assert describe(LISTENER) == "a listening socket on server port 3000"
    assert describe({"socket": {"role": "accepted", "state": "CLOSE_WAIT", "protocol": "tcp"}}) == (
        "a TCP accepted socket (in state CLOSE_WAIT)"
    )
    assert describe({"no_socket": {"port": 3000, "closed_by_program": False}}) == (
        "no socket on either device port 3000 (still open in the program)"
    )
    assert describe(
        {"sockets": {"role": "accepted"}, "at_least": 2, "distinct": "remote_port"}
    ) == ("at least 2 accepted sockets, with 2 different remote ports")
    assert describe({"connection": {}}) == (
        "the two ends of one connection: a client socket and an accepted socket"
    )
    assert (
        describe(
            {
                "error": "EADDRINUSE",
                "op": "tcp.listen",
                "while": {"no_socket": {"role": "listener"}},
            }
        )
        == "an EADDRINUSE error answering tcp.listen, while there is no listening socket"
    )
    assert describe({"error": "ECONNREFUSED"}) == "an ECONNREFUSED error answering a command"
    assert describe(
        {"all": [{"ok": "udp.bind"}, {"socket": {"protocol": "udp", "sent": True}}]}
    ) == ("an ok answer to udp.bind and a UDP socket (that has sent data)")
    assert describe({"any": [{"ok": "close"}, {"ok": "reset"}]}) == (
        "either an ok answer to close, or an ok answer to reset"
    )


REFUSED_THEN_FIXED = [
    {"text": "Get ECONNREFUSED.", "check": {"error": "ECONNREFUSED", "op": "tcp.connect"}},
    {"text": "Then fix it.", "check": {"all": [{"ok": "tcp.connect"}, {"connection": {}}]}},
]
CLIENT = row("s2", "laptop", "client", 49152, ("server", 3000))
ACCEPTED = row("s3", "server", "accepted", 3000, ("laptop", 49152))


def test_it_replays_a_journal_step_by_step_and_says_what_it_found():
    journal = [
        {"table": []},
        {"error": "ECONNREFUSED", "op": "tcp.connect"},
        {"socket": row()},
        {"ok": "tcp.listen"},
        {"socket": CLIENT},
        {"socket": ACCEPTED},
        {"ok": "tcp.connect"},
    ]
    result = replay(REFUSED_THEN_FIXED, journal)
    assert (result.reached, result.total, result.complete, result.missing) == (2, 2, True, "")
    assert result.found == [
        "Step 1: tcp.connect was answered ECONNREFUSED.",
        "Step 2: tcp.connect succeeded; socket s2 (laptop port 49152) and socket s3 (server "
        "port 3000) were the two ends of one connection.",
    ]


def test_it_grades_only_what_happened_in_order():
    fixed_first = [
        {"socket": row()},
        {"socket": CLIENT},
        {"socket": ACCEPTED},
        {"ok": "tcp.connect"},
        {"gone": "s1"},
        {"error": "ECONNREFUSED", "op": "tcp.connect"},
    ]
    result = replay(REFUSED_THEN_FIXED, fixed_first)
    assert (result.reached, result.complete) == (1, False)
    assert result.missing == (
        "Step 2 needs an ok answer to tcp.connect and the two ends of one connection: "
        "a client socket and an accepted socket."
    )
    never = replay(REFUSED_THEN_FIXED, [{"error": "ECONNREFUSED", "op": "udp.sendto"}])
    assert never.reached == 0
    assert never.missing == "Step 1 needs an ECONNREFUSED error answering tcp.connect."


def test_it_lets_one_answer_meet_one_step_only():
    twice = [
        {"text": "Fail once.", "check": {"error": "EADDRINUSE"}},
        {"text": "Fail again.", "check": {"error": "EADDRINUSE"}},
    ]
    once = [{"error": "EADDRINUSE", "op": "tcp.listen"}]
    assert replay(twice, once).reached == 1
    assert replay(twice, once * 2).reached == 2


def test_it_reads_answers_only_after_the_step_before_was_reached():
    steps = [
        {"text": "Listen.", "check": LISTENER},
        {"text": "Be refused.", "check": {"error": "ECONNREFUSED"}},
    ]
    refused_first = [{"error": "ECONNREFUSED", "op": "tcp.connect"}, {"socket": row()}]
    assert replay(steps, refused_first).reached == 1
    assert replay(steps, [*refused_first, refused_first[0]]).reached == 2


def test_it_checks_a_while_against_the_table_of_that_moment():
    steps = [
        {
            "text": "Listen again while the kernel holds the port.",
            "check": {
                "error": "EADDRINUSE",
                "while": {"no_socket": {"port": 3000, "closed_by_program": False}},
            },
        }
    ]
    waiting = row("s3", "server", "accepted", 3000, ("laptop", 49152), state="TIME_WAIT")
    waiting["closed_by_program"] = True
    in_use = {"error": "EADDRINUSE", "op": "tcp.listen"}
    held_by_listener = [{"table": [row(), waiting]}, in_use]
    assert replay(steps, held_by_listener).reached == 0
    held_by_kernel = [*held_by_listener, {"gone": "s1"}, in_use]
    result = replay(steps, held_by_kernel)
    assert result.complete
    assert result.found == [
        "Step 1: tcp.listen was answered EADDRINUSE, while there was no socket on either "
        "device port 3000 (still open in the program)."
    ]


def test_it_counts_sockets_with_distinct_values():
    steps = [
        {
            "text": "Two accepted sockets.",
            "check": {"sockets": {"role": "accepted"}, "at_least": 2, "distinct": "remote_port"},
        }
    ]
    one_peer = [{"socket": ACCEPTED}, {"socket": {**ACCEPTED, "id": "s4"}}]
    assert replay(steps, one_peer).reached == 0
    two_peers = [*one_peer, {"socket": {**ACCEPTED, "id": "s5", "remote_port": 49153}}]
    assert replay(steps, two_peers).found == ["Step 1: sockets s4, s5, 2 accepted sockets."]


UDP_DATAGRAM = PacketRow("udp", "laptop", "server", 49152, 3000, (), 5)


def test_it_tells_a_learner_who_picked_a_udp_packet_what_flags_to_look_for():
    # A UDP packet has no flags: the words must say so, not fail on the empty tuple.
    wants_syn_ack = {"picked": {"packet": {"flags": ["SYN", "ACK"]}}}
    wants_ack = {"picked": {"packet": {"has": ["ACK"]}}}
    assert check_errors(wants_syn_ack) == check_errors(wants_ack) == []
    assert pick_mismatch(wants_syn_ack, UDP_DATAGRAM) == (
        "That packet has no flags; look for one with exactly SYN and ACK."
    )
    assert pick_mismatch(wants_ack, UDP_DATAGRAM) == (
        "That packet has no flags; look for one with ACK set."
    )
    tracker = Tracker([wants_syn_ack])
    assert not tracker.moment([], ("picked", UDP_DATAGRAM))


def test_it_meets_a_pick_of_any_packet_with_a_udp_packet():
    any_packet = {"picked": {"packet": {}}}
    assert check_errors(any_packet) == []
    assert pick_mismatch(any_packet, UDP_DATAGRAM) is None
    tracker = Tracker([any_packet])
    assert tracker.moment([], ("picked", UDP_DATAGRAM))
    assert tracker.found == [
        "Step 1: you picked a UDP packet from the laptop port 49152 to the server port "
        "3000, 5 bytes of data."
    ]


def test_it_matches_a_socket_in_any_state_of_a_state_list():
    steps = [
        {
            "text": "Close one end.",
            "check": {"socket": {"role": "accepted", "state": ["TIME_WAIT", "CLOSE_WAIT"]}},
        }
    ]
    for state in ("TIME_WAIT", "CLOSE_WAIT"):
        result = replay(steps, [{"table": [{**ACCEPTED, "state": state}]}])
        assert result.complete, state
        assert result.found == [
            "Step 1: socket s3, a TCP accepted socket on server port 3000 connected to "
            f"laptop port 49152, in state {state}."
        ]
    for state in ("ESTABLISHED", "FIN_WAIT2"):
        assert replay(steps, [{"table": [{**ACCEPTED, "state": state}]}]).reached == 0, state


def test_it_keeps_the_journal_bounded_and_the_table_it_starts_from():
    journal = Journal(size=3)
    listener, client = Row(**row()), Row(**CLIENT)
    journal.add(listener)
    journal.add(client)
    journal.add(("gone", "s2"))
    for _ in range(10):
        journal.add(("error", "send", "unknown_socket"))
    assert len(journal) == 3
    exported = journal.export()
    assert exported[0] == {"table": [listener._asdict()]}
    assert exported[1:] == [{"error": "unknown_socket", "op": "send"}] * 3
    assert replay([{"text": "Listen.", "check": LISTENER}], exported).complete


def test_it_refuses_to_replay_invalid_steps():
    with pytest.raises(ValueError, match="Step 1 needs a 'check'"):
        replay([{"text": "Do it."}], [])


def experiment_files() -> list[Path]:
    return sorted(EXPERIMENTS.glob("*.yaml"))


def test_it_has_experiment_files_that_are_valid_and_ordered():
    files = experiment_files()
    assert len(files) == 15
    orders = []
    lessons = {p.stem for p in (Path(settings.COURSE_CONTENT_DIR) / "lessons").glob("*.md")}
    for path in files:
        data = yaml.safe_load(path.read_text())
        assert set(data) == {"title", "lesson", "teaches", "order", "published", "steps"}, path
        assert data["lesson"] in lessons, path
        assert data["teaches"].startswith(f"{data['lesson']}#"), path
        assert steps_errors(data["steps"], experiment=True) == [], path
        orders.append(data["order"])
    assert len(set(orders)) == len(orders)


def test_it_leaves_an_invalid_experiment_out_of_the_catalogue(caplog):
    catalogue = catalogue_of(
        [
            {"id": "good", "title": "Good", "steps": [{"text": "Listen.", "check": LISTENER}]},
            {"id": "bad", "title": "Bad", "steps": [{"text": "Go.", "check": {"ok": "go"}}]},
            {"title": "No id", "steps": [{"text": "Listen.", "check": LISTENER}]},
        ]
    )
    assert catalogue.public == [
        {
            "id": "good",
            "title": "Good",
            "lesson": "",
            "teaches": "",
            "steps": ["Listen."],
            "predict": [None],
            "pick": [None],
        }
    ]
    assert "experiment bad left out: Step 1's check: 'ok' must be one of" in caplog.text
    assert "experiment None left out: It lacks 'id'." in caplog.text
