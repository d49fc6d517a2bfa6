"""The playground's words, sent once to each page that runs a playground: the page
renders `vocabulary()` as its `playground-vocabulary` json_script, and
static/playground/vocabulary.js reads it there.

Rules:
- Each word is defined once, in its registry, and only read here: the ops, how their
  forms make them and what the log says of them (`wire.protocol.page_ops`); every error
  code the server can send with the glossary entry that names and explains it
  (`wire.errors.ERRORS`); the kernel's TCP and UDP states with the names ss(8) prints
  for them (`host.kernel.SS_NAMES`); the TCP flags with what each means and tcpdump's
  letter for it (`capture.packets.TCP_FLAGS`). This module keeps no table of its own,
  and the page's script writes none of them again.
- `vocabulary()` is plain JSON-able data, the same for every visitor: a page cached
  whole for everyone may carry it.
- tests/playground/wire/test_texts.py checks that the page carries exactly this.
"""

import functools

from playground.capture.packets import TCP_FLAGS
from playground.host.kernel import SS_NAMES
from playground.wire.errors import ERRORS
from playground.wire.protocol import page_ops


@functools.cache
def vocabulary() -> dict:
    """The words the page's script reads (static/playground/vocabulary.js): built once
    per process, since every registry it reads is fixed at import. Read it, never change it."""
    return {
        "ops": page_ops(),
        "errors": {code: error.glossary for code, error in ERRORS.items()},
        "states": dict(SS_NAMES),
        # In the order packet events list them; the bit gives tcpdump's order.
        "flags": {
            flag.name: {"meaning": flag.meaning, "letter": flag.letter, "bit": flag.bit}
            for flag in TCP_FLAGS
        },
    }
