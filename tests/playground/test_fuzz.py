"""Random and malformed commands against the real consumer: every answer is well
formed, nothing escapes the sandbox, and the sandbox still works afterwards."""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.consumer_helpers import command, new_session, open_ws

pytestmark = pytest.mark.django_db(transaction=True)

EVENT_TYPES = {"ok", "error", "socket", "socket.gone", "data"}
OPS = [
    "tcp.listen",
    "tcp.connect",
    "udp.bind",
    "udp.sendto",
    "udp.connect",
    "send",
    "recv",
    "accept",
    "shutdown",
    "close",
    "reset",
    "",
    "TCP.LISTEN",
    "exec",
]
DEVICES = ["laptop", "server", "0.0.0.0", "127.0.0.1", "localhost", "", "router"]  # noqa: S104

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**40), 2**40)
    | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=10,
)
ports = st.one_of(st.integers(-5, 70000), st.sampled_from([0, 3000, 5353]), json_values)
sockets = st.one_of(st.sampled_from([f"s{n}" for n in range(1, 6)]), json_values)
commands = st.fixed_dictionaries(
    {"op": st.one_of(st.sampled_from(OPS), json_values)},
    optional={
        "device": st.one_of(st.sampled_from(DEVICES), json_values),
        "port": ports,
        "to": st.one_of(
            st.fixed_dictionaries({"device": st.sampled_from(DEVICES), "port": ports}), json_values
        ),
        "socket": sockets,
        "data": st.one_of(st.text(max_size=50), json_values),
        "backlog": st.one_of(st.integers(-3, 200), json_values),
        "auto_accept": st.one_of(st.booleans(), json_values),
        "auto_read": st.one_of(st.booleans(), json_values),
        "ref": json_values,
    },
)
messages = st.one_of(
    commands.map(json.dumps),
    st.text(min_size=1, max_size=200),
    st.binary(min_size=1, max_size=50).map(lambda b: b.decode("latin-1")),
)  # Channels' test communicator cannot send an empty frame


def well_formed(event: dict) -> bool:
    if event.get("type") not in EVENT_TYPES:
        return False
    if event["type"] == "error":
        return (
            isinstance(event["code"], str) and isinstance(event["message"], str) and "ref" in event
        )
    if event["type"] == "socket":
        row = event["socket"]
        return {"id", "device", "protocol", "role", "local", "remote", "state"} <= row.keys()
    return True


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(batch=st.lists(messages, min_size=1, max_size=25))
async def test_it_survives_random_commands_and_keeps_working(registry, batch):
    key = await new_session()
    ws = await open_ws(key)
    hello = await ws.receive_json_from()
    own_ips = {device["ip"] for device in hello["devices"]}
    for text in batch:
        await ws.send_to(text_data=text)
    await ws.send_json_to({"op": "reset", "ref": "fence"})
    while True:  # everything up to the fence's answer
        event = await ws.receive_json_from(timeout=10)
        assert well_formed(event), event
        if event["type"] == "socket":
            row = event["socket"]
            assert row["local"]["ip"] in own_ips  # nothing bound outside the sandbox
            assert row["remote"] is None or row["remote"]["ip"] in own_ips
        if event.get("ref") == "fence" and event["type"] == "ok":
            break
    assert (await command(ws, op="tcp.listen", device="server", port=0))["type"] == "ok"
    await ws.disconnect()
    # Every example is a new visitor from the same address: free its place at once.
    await registry().discard(key)


# Any text, lone surrogates included: json.dumps writes them as "\ud800" escapes.
# (Hypothesis's text() never holds a surrogate, so strings are joined from characters.)
any_text = st.lists(
    st.one_of(st.characters(), st.sampled_from(["\ud800", "\udbff", "\udc00"])), max_size=12
).map("".join)
commands_with_bad_text = st.fixed_dictionaries(
    {"op": st.one_of(st.sampled_from(OPS), any_text)},
    optional={
        "device": st.one_of(st.sampled_from(DEVICES), any_text),
        "port": ports,
        "socket": st.one_of(sockets, any_text),
        "data": st.one_of(any_text, json_values),
        "to": st.dictionaries(any_text, any_text, max_size=2),
    },
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(batch=st.lists(commands_with_bad_text, min_size=1, max_size=15))
async def test_it_answers_every_command_object_with_its_ref(registry, batch):
    key = await new_session()
    ws = await open_ws(key)
    await ws.receive_json_from()
    waiting = set()
    for n, message in enumerate(batch):
        await ws.send_to(text_data=json.dumps({**message, "ref": f"k{n}"}))
        waiting.add(f"k{n}")
    while waiting:
        event = await ws.receive_json_from(timeout=10)
        if event["type"] in ("ok", "error"):
            # Every answer says which command it answers; only an error the kernel
            # reported on a socket by itself (naming the socket) answers none.
            assert event["ref"] is not None or "socket" in event, event
            waiting.discard(event["ref"])
    await ws.disconnect()
    await registry().discard(key)
