"""The playground's words, sent once to each page that runs a playground: the page
renders `vocabulary()` as its `playground-vocabulary` json_script, and
static/playground/vocabulary.js reads it there.

Rules:
- Each word is defined once, on the server: the ops it knows (`wire.protocol.OPS`), the
  kernel's TCP and UDP states (`host.kernel`) with the names ss(8) prints for them, the
  TCP flags (`capture.packets.FLAGS`) with what each means, and every error code the
  server can send with the glossary entry that names and explains it. The page's script
  writes none of them again.
- `vocabulary()` is plain JSON-able data, the same for every visitor: a page cached
  whole for everyone may carry it.
- tests/test_playground_texts.py checks it: every code the server sends links to an
  entry that names it, every state has its ss name, the page carries exactly this.
"""

import re

from playground.capture.packets import FLAGS
from playground.host.kernel import TCP_STATES, UDP_STATES
from playground.wire.protocol import OPS

# Every error code the server can send (docs/playground-protocol.md), to the glossary
# entry that names and explains it. Any other operating-system error arrives under its
# errno name (EADDRNOTAVAIL, …), which the page links to the "errno" entry.
ERROR_GLOSSARY = {
    "EADDRINUSE": "eaddrinuse",
    "ECONNREFUSED": "econnrefused",
    "EPIPE": "epipe",
    "EAGAIN": "errno",
    "ECONNRESET": "econnreset",
    "no_receiver": "datagram",
    "wrong_protocol": "udp",
    "not_connected": "listening-socket",
    "not_listening": "listening-socket",
    "socket_closed": "file-descriptor",
    "limit_descriptors": "file-descriptor",
    **dict.fromkeys(
        (
            "bad_port",
            "unknown_device",
            "unknown_socket",
            "not_allowed",
            "network_restarting",
            "limit_sockets",
            "limit_send_bytes",
            "limit_message_bytes",
            "limit_commands_per_second",
            "limit_sandboxes",
            "limit_addresses",
            "limit_sandboxes_per_address",
            "limit_websockets_per_session",
            "limit_listen_backlog",
        ),
        "sandbox",
    ),
    **dict.fromkeys(
        (
            "bad_json",
            "not_an_object",
            "unknown_op",
            "missing_field",
            "wrong_type",
            "bad_ref",
            "binary_not_supported",
            "bad_data",
            "no_session",
            "unknown_experiment",
            "no_prediction",
            "bad_choice",
            "already_predicted",
            "step_done",
            "prediction_needed",
            "no_pick",
            "unknown_packet",
            "internal_error",
        ),
        "playground-message",
    ),
}

# ss(8) hyphenates the kernel's state names as RFC 793 writes them (FIN_WAIT1 is
# FIN-WAIT-1), except these.
SS_SPELLINGS = {"ESTABLISHED": "ESTAB", "CLOSE": "UNCONN", "NEW_SYN_RECV": "SYN-RECV"}

# What each TCP flag asks, in the packets panel's details.
FLAG_MEANINGS = {
    "SYN": "synchronise: open a connection",
    "ACK": "acknowledge",
    "FIN": "finish: nothing more to send",
    "RST": "reset: abort the connection",
    "PSH": "push: the sender asks for the data to be passed on without delay",
    "URG": "urgent",
}


def ss_name(state: str) -> str:
    """A kernel state's name as ss(8) prints it."""
    if state in SS_SPELLINGS:
        return SS_SPELLINGS[state]
    return re.sub(r"(?<=[A-Z])(?=\d)", "-", state).replace("_", "-")


def vocabulary() -> dict:
    """The words the page's script reads (static/playground/vocabulary.js)."""
    states = {*TCP_STATES.values(), *UDP_STATES.values()}
    return {
        "ops": list(OPS),
        "errors": dict(ERROR_GLOSSARY),
        "states": {state: ss_name(state) for state in sorted(states)},
        "flags": {name: FLAG_MEANINGS[name] for name, _bit in FLAGS},
    }
