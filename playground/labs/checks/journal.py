"""The journal of a sandbox and replay: grading steps against it, as the engine would
have (no Django).

Rules:
- The journal is bounded (JOURNAL_ENTRIES): Rows as the sandbox reported them (kernel
  states when it reads them), sockets gone, answers (op and code) and packets (their
  PacketRow; only captured ones, so only while capture is on). An entry that falls off
  the front is folded into the table the journal starts from, so a replay still knows
  the sockets of that time. A Row equal to the socket's previous one is not kept
  (playground.labs.lab): a stream of data changes byte counts, not what a check reads.
- replay validates the steps first (ValueError) and sees the moments the engine saw:
  the starting table, then each entry in order.
"""

from collections import deque
from dataclasses import dataclass

from playground.labs.checks.describe import describe
from playground.labs.checks.evaluate import Tracker
from playground.labs.checks.rows import PacketRow, Row
from playground.labs.checks.validate import steps_errors

JOURNAL_ENTRIES = 200


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
