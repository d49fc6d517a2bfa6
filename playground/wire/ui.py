"""The page's side of an op (no Django): how its form makes the command, and what the
page's log says of its answer. Declared with each op in playground.wire.protocol.OPS,
sent to the page as data (Op.page), so the page's script has no switch over the ops.

Rules:
- An Input names a command field, the form input it comes from, and how that input
  is read; a Phrase is a piece of a sentence with the values it names as {path} and
  the condition it is said on. The page reads both without knowing any op.
- tests/playground/wire/test_ops.py checks them against the forms' template and the
  ops' fields.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Input:
    """How the page reads one field of a command from its form (templates/playground/
    _forms.html): `field`, a path in the command ("to.port"); `name`, the form input's
    (by default the path with "_" for "."); `read`: "text", "number", "ticked" (a ticked
    box is true), "unticked" (a ticked box is false), or "number_or_default" (an empty
    box leaves the field out, for the server's default)."""

    field: str
    name: str = ""
    read: str = "text"

    def page(self) -> dict:
        return {
            "field": self.field,
            "name": self.name or self.field.replace(".", "_"),
            "read": self.read,
        }


@dataclass(frozen=True)
class Phrase:
    """A piece of the sentence the page's log says for an answered command; the pieces
    whose `when` holds are joined. `text` names values as {path} in the page's context
    (`command`, its answer `event`, the answer's `socket` row, the started `experiment`),
    "{a|b}" for the first of them the context has. `when`: {"path": ..., and one of
    "present" (true/false), "truthy" (true/false), "is" (a value), "is_not" (a value)}."""

    text: str
    when: dict | None = None


def says(*texts: str) -> tuple[Phrase, ...]:
    return tuple(Phrase(text) for text in texts)


def when(path: str, test: str, value) -> dict:
    """A Phrase's `when`: `test` is "present", "truthy", "is" or "is_not"."""
    return {"path": path, test: value}


# The inputs of the forms that make a socket, or reach a device's port.
DEVICE = Input("device")
PORT = Input("port", read="number")
SOCKET = Input("socket")
TO = (Input("to.device"), Input("to.port", read="number"))
AUTO_READ = Input("auto_read", "manual_read", "unticked")
