"""The labs' check language: checks over a sandbox's sockets and answers, the journal
they are replayed over, and grading (no Django; playground.labs.lab runs them in sandboxes).

The language, for authors, is docs/labs.md (a test keeps it and the tables equal).

Rules:
- Each key is declared once, in keys.py (its validation, words and match), and each
  kind once, in kinds.py; validate.py, describe.py and evaluate.py loop over them;
  journal.py records a sandbox and replays steps over the record.
- This module only names what other code uses; it holds no logic.
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

# The admin names a key's input by its rule, and lists the ops (labs.admin).
from playground.labs.checks.keys import flag as _flag
from playground.labs.checks.keys import flag_list as _flag_list
from playground.labs.checks.keys import length as _length
from playground.labs.checks.keys import port as _port
from playground.labs.checks.keys import states as _states
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
from playground.labs.checks.validate import op_names as _op_names

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
    "_flag",
    "_flag_list",
    "_length",
    "_op_names",
    "_port",
    "_states",
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
