"""A step is done when the learner did what it says. The course's own experiment files: a
step that asks the learner to find, read, see or compare something is reached only by
their pick of it (experiment.pick), never by the action before it; a step that asks to
start over is reached only when nothing of an earlier experiment, the kernel's TIME_WAIT
rows included, is left at the port the next steps use."""

import re
from pathlib import Path

import pytest
import yaml

from playground.labs.checks import PacketRow, Row, Tracker, picks
from tests.support.paths import ROOT

EXPERIMENTS = ROOT / "lessons" / "content" / "experiments"
FILES = sorted(EXPERIMENTS.glob("*.yaml"))
# What asks for the learner's own act of observation: the step's first word, or a pick.
OBSERVING = re.compile(
    r"^(Find|Read|See|Compare|Look|Which|Check|Notice)\b|\b[Pp]ick (it|one|either)\b"
)


def steps_of(path: Path) -> list[dict]:
    return yaml.safe_load(path.read_text())["steps"]


def needs_the_pick(check: dict) -> bool:
    """Whether no table and no answer can meet the check without a pick."""
    if "picked" in check:
        return True
    if "all" in check:
        return any(needs_the_pick(part) for part in check["all"])
    if "any" in check:
        return all(needs_the_pick(part) for part in check["any"])
    return False


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_it_reaches_an_observation_step_only_by_the_learners_pick(path):
    for number, step in enumerate(steps_of(path), 1):
        observing = bool(OBSERVING.search(step["text"]))
        where = f"{path.stem}, step {number}: {step['text']}"
        assert observing == needs_the_pick(step["check"]), where
        assert observing == (picks(step["check"]) is not None), where


SYN_ACK = PacketRow("tcp", "server", "laptop", 3000, 40000, ("SYN", "ACK"), 0)
ACK = PacketRow("tcp", "laptop", "server", 40000, 3000, ("ACK",), 0)


def test_it_leaves_the_handshake_undone_after_connect_until_each_packet_is_picked():
    checks = [step["check"] for step in steps_of(EXPERIMENTS / "handshake-packets.yaml")]
    tracker = Tracker(checks, done=1)
    syn = PacketRow("tcp", "laptop", "server", 40000, 3000, ("SYN",), 0)
    for packet in (syn, SYN_ACK, ACK):  # the three packets a Connect makes
        tracker.moment([], ("packet", packet))
    assert tracker.done == 2  # the SYN was watched for; the other two are to be found
    tracker.moment([], ("picked", ACK))
    assert tracker.done == 2  # the wrong one: the answer to the SYN comes first
    tracker.moment([], ("picked", SYN_ACK))
    tracker.moment([], ("picked", ACK))
    assert tracker.done == 4


def kept_in_time_wait(port: int) -> Row:
    return Row(
        "s3", "server", "tcp", "accepted", port, "laptop", 40000, "TIME_WAIT", True, False, False
    )


@pytest.mark.parametrize(
    "path", [p for p in FILES if steps_of(p)[0]["text"].startswith("Start from a clean")]
)
def test_it_waits_at_the_start_over_step_while_the_kernel_still_holds_the_port(path):
    first = steps_of(path)[0]["check"]
    assert Tracker([first]).moment([kept_in_time_wait(3000)]) is False
    assert Tracker([first]).moment([kept_in_time_wait(45000)]) is True
    assert Tracker([first]).moment([]) is True


def test_it_has_a_start_over_step_wherever_an_experiment_begins_with_a_reset():
    starts = [p.stem for p in FILES if "Reset sandbox" in steps_of(p)[0]["text"]]
    assert starts == ["connection-refused", "port-before-socket", "reset-connection"]


def test_it_does_not_take_closing_the_laptops_socket_for_shutting_down_its_sending_side():
    checks = [step["check"] for step in steps_of(EXPERIMENTS / "half-close.yaml")]
    server = Row(
        "s3", "server", "tcp", "accepted", 3000, "laptop", 40000, "CLOSE_WAIT", *[False] * 3
    )

    def laptop(closed: bool) -> Row:
        return Row(
            "s2",
            "laptop",
            "tcp",
            "client",
            40000,
            "server",
            3000,
            "FIN_WAIT2",
            closed,
            False,
            False,
        )

    closed = Tracker(checks, done=1)
    assert closed.moment([server, laptop(closed=True)]) is False  # Close, not Shut down
    shut = Tracker(checks, done=1)
    assert shut.moment([server, laptop(closed=False)]) is True
