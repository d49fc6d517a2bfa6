"""The labs' check language: checks over a sandbox's sockets and answers, the journal
they are replayed over, and grading (no Django; playground.labs.lab runs them in sandboxes).

The language, for authors, is docs/labs.md (a test keeps it and the tables equal).

Rules:
- Each key is declared once, in keys.py (its validation, words and match), and each
  kind once, in kinds.py; validate.py, describe.py and evaluate.py loop over them;
  journal.py records a sandbox and replays steps over the record.
- This module only names what other code uses; it holds no logic, and names nothing
  private (a caller that needs a key's rule or the ops reads keys.py or validate.py).
"""

from playground.labs.checks.describe import describe
from playground.labs.checks.evaluate import Tracker, pick_mismatch
from playground.labs.checks.journal import JOURNAL_ENTRIES, Journal, LabResult, replay
from playground.labs.checks.keys import (
    DEVICES,
    DISTINCT,
    FIELDS,
    FLAG_NAMES,
    PACKET_FIELDS,
    PACKET_KEYS,
    ROLES,
    SOCKET_KEYS,
    STATES,
)
from playground.labs.checks.kinds import (
    EVENT_KINDS,
    KEY_ORDER,
    KINDS,
    MODIFIERS,
    PICKABLE,
    STATE_KINDS,
    needs_packets,
    picked_part,
    picks,
)
from playground.labs.checks.rows import PacketRow, Row, compact, compact_packet
from playground.labs.checks.validate import (
    EXPERIMENT_STEP,
    PREDICT,
    PREDICT_CHOICES,
    STEP,
    UNCHECKED_OPS,
    check_errors,
    prediction_errors,
    steps_errors,
)

__all__ = [
    "DEVICES",
    "DISTINCT",
    "EVENT_KINDS",
    "EXPERIMENT_STEP",
    "FIELDS",
    "FLAG_NAMES",
    "JOURNAL_ENTRIES",
    "KEY_ORDER",
    "KINDS",
    "MODIFIERS",
    "PACKET_FIELDS",
    "PACKET_KEYS",
    "PICKABLE",
    "PREDICT",
    "PREDICT_CHOICES",
    "ROLES",
    "SOCKET_KEYS",
    "STATES",
    "STATE_KINDS",
    "STEP",
    "UNCHECKED_OPS",
    "Journal",
    "LabResult",
    "PacketRow",
    "Row",
    "Tracker",
    "check_errors",
    "compact",
    "compact_packet",
    "describe",
    "needs_packets",
    "pick_mismatch",
    "picked_part",
    "picks",
    "prediction_errors",
    "replay",
    "steps_errors",
]
