"""Every error code the playground sends, declared once (no Django).

Rules:
- ERRORS holds each code the server can send in an `error` event, with the glossary
  entry the page links it to (lessons/content/glossary.yaml), the Limits field it is
  about if any (playground.wire.limits), and the WebSocket close code when a refusal
  to attach closes the socket (playground.consumer).
- Any other operating-system error is sent under its errno name (EADDRNOTAVAIL, ...;
  playground.wire.explain), which the page links to the glossary's "errno" entry; so
  those names are codes too, without an entry of their own.
- A SandboxError refuses a code that is neither: a new code is added here first.
- docs/playground-protocol.md's "Error codes" table lists exactly these codes
  (tests/playground/wire/test_errors.py).
"""

import errno
from dataclasses import dataclass

# The site's outage guard closes with the same code, so it has one home below both.
from sockets_site.networks import CLOSE_FULL as CLOSE_FULL

# The close codes of refusals (autobahn, under Daphne, sends only 1000 and 3000-4999).
CLOSE_NO_SESSION = 4401
CLOSE_QUOTA = 4429
# What any operating-system error links to, and what explain.os_error names an error
# that carries no errno.
ERRNO_GLOSSARY = "errno"
NO_ERRNO = "OSError"


@dataclass(frozen=True)
class ErrorCode:
    code: str
    glossary: str  # the slug of the glossary entry that names and explains it
    limit: str | None = None  # the Limits field that refused, if one did
    close: int | None = None  # the close code when a refusal to attach closes the socket


def _codes(glossary: str, *codes: str) -> list[ErrorCode]:
    return [ErrorCode(code, glossary) for code in codes]


_ALL = [
    # The message could not be read as a command.
    *_codes(
        "playground-message",
        "bad_json",
        "not_an_object",
        "unknown_op",
        "missing_field",
        "wrong_type",
        "bad_ref",
        "binary_not_supported",
        "bad_data",
    ),
    # The command does not fit the sandbox.
    *_codes("sandbox", "unknown_device", "bad_port", "unknown_socket", "not_allowed"),
    ErrorCode("socket_closed", "file-descriptor"),
    ErrorCode("wrong_protocol", "udp"),
    ErrorCode("not_connected", "listening-socket"),
    ErrorCode("not_listening", "listening-socket"),
    ErrorCode("no_receiver", "datagram"),
    ErrorCode("network_restarting", "sandbox"),
    # What the kernel said, under its errno name.
    ErrorCode("EADDRINUSE", "eaddrinuse"),
    ErrorCode("ECONNREFUSED", "econnrefused"),
    ErrorCode("EAGAIN", ERRNO_GLOSSARY),
    ErrorCode("ECONNRESET", "econnreset"),
    ErrorCode("EPIPE", "epipe"),
    # The experiments (playground.labs.lab).
    *_codes(
        "playground-message",
        "unknown_experiment",
        "no_prediction",
        "bad_choice",
        "already_predicted",
        "step_done",
        "no_pick",
        "prediction_needed",
        "unknown_packet",
    ),
    # A limit refused.
    ErrorCode("limit_sockets", "sandbox", "sockets_per_sandbox"),
    ErrorCode("limit_send_bytes", "sandbox", "send_bytes"),
    ErrorCode("limit_message_bytes", "sandbox", "message_bytes"),
    ErrorCode("limit_commands_per_second", "sandbox", "commands_per_second"),
    ErrorCode("limit_sandboxes", "sandbox", "sandboxes_per_process", CLOSE_FULL),
    # The address range (PLAYGROUND_ADDRESS_RANGE), not a Limits field.
    ErrorCode("limit_addresses", "sandbox", None, CLOSE_FULL),
    ErrorCode("limit_sandboxes_per_address", "sandbox", "sandboxes_per_address", CLOSE_QUOTA),
    ErrorCode("limit_websockets_per_session", "sandbox", "websockets_per_session", CLOSE_QUOTA),
    ErrorCode("limit_listen_backlog", "sandbox", "listen_backlog"),
    ErrorCode("limit_descriptors", "file-descriptor", "descriptor_reserve"),
    # The connection itself.
    ErrorCode("no_session", "playground-message", None, CLOSE_NO_SESSION),
    ErrorCode("internal_error", "playground-message"),
]


def _by_code(declared: list[ErrorCode]) -> dict[str, ErrorCode]:
    table = {}
    for error in declared:
        if error.code in table:
            raise ValueError(f"{error.code!r} is declared twice")
        table[error.code] = error
    return table


ERRORS: dict[str, ErrorCode] = _by_code(_ALL)

_ERRNO_NAMES = frozenset(errno.errorcode.values()) | {NO_ERRNO}


def lookup(code: str) -> ErrorCode:
    """The code's entry; an errno name without one of its own links to the errno entry.
    Raises ValueError for any other code."""
    if code in ERRORS:
        return ERRORS[code]
    if code in _ERRNO_NAMES:
        return ErrorCode(code, ERRNO_GLOSSARY)
    raise ValueError(f"{code!r} is not an error code of playground.wire.errors.ERRORS")


class SandboxError(Exception):
    """A refusal the client is told of: `code` (one of ERRORS, or an errno name), a
    message for people, and `extra` fields of the error event (`limit`, `errno`, ...)."""

    def __init__(self, code: str, message: str, **extra):
        lookup(code)
        super().__init__(message)
        self.code = code
        self.message = message
        self.extra = extra
