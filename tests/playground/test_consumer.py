"""The playground WebSocket through the real ASGI stack (origin check, sessions)."""

import asyncio
import json

import pytest
from channels.testing import WebsocketCommunicator

from sockets_site.asgi import application
from tests.support.consumer_helpers import command, new_session, next_of, open_ws

pytestmark = pytest.mark.django_db(transaction=True)


async def test_it_says_hello_with_devices_limits_and_a_snapshot(registry):
    ws = await open_ws(await new_session())
    hello = await ws.receive_json_from()
    assert hello["type"] == "hello"
    names = [d["name"] for d in hello["devices"]]
    ips = [d["ip"] for d in hello["devices"]]
    assert names == ["laptop", "server"]
    assert len(set(ips)) == 2 and all(ip.startswith("127.") and ip != "127.0.0.1" for ip in ips)
    assert hello["limits"]["sockets_per_sandbox"] == 16
    assert hello["limits"]["send_bytes"] == 1024
    assert hello["kernel_states"] is True
    assert hello["sockets"] == [] and hello["data"] == []
    assert 0 < hello["expires"]["lifetime_left"] <= 7200
    await ws.disconnect()


async def test_it_answers_each_command_with_ok_and_the_ref(registry):
    ws = await open_ws(await new_session())
    await ws.receive_json_from()
    ok = await command(ws, op="tcp.listen", device="server", port=3000, ref="1")
    assert ok["type"] == "ok" and ok["ref"] == "1" and ok["op"] == "tcp.listen"
    listener = ok["socket"]
    assert listener["role"] == "listener" and listener["local"]["port"] == 3000
    ok = await command(
        ws, op="tcp.connect", device="laptop", to={"device": "server", "port": 3000}, ref=2
    )
    assert ok["ref"] == 2 and ok["socket"]["role"] == "client"
    client = ok["socket"]["id"]
    assert (await command(ws, op="send", socket=client, data="hello"))["bytes"] == 5
    data = await next_of(ws, "data")
    assert data["data"] == "hello"
    for op in ("shutdown", "close"):
        assert (await command(ws, op=op, socket=client))["type"] == "ok"
    ok = await command(ws, op="udp.bind", device="laptop", port=0)
    udp = ok["socket"]["id"]
    await command(ws, op="udp.bind", device="server", port=5353)
    ok = await command(
        ws, op="udp.sendto", socket=udp, to={"device": "server", "port": 5353}, data="hi"
    )
    assert ok["bytes"] == 2
    assert (await command(ws, op="reset"))["type"] == "ok"
    await ws.disconnect()


MALFORMED = [
    ("{not json", "bad_json"),
    ("[1, 2]", "not_an_object"),
    ('"tcp.listen"', "not_an_object"),
    ('{"op": "rm -rf"}', "unknown_op"),
    ('{"op": "tcp.listen", "device": "server"}', "missing_field"),
    ('{"op": "tcp.listen", "device": "server", "port": "3000"}', "wrong_type"),
    ('{"op": "tcp.listen", "device": "server", "port": true}', "wrong_type"),
    ('{"op": "tcp.listen", "device": ["server"], "port": 3000}', "wrong_type"),
    ('{"op": "tcp.listen", "device": "server", "port": 70000}', "bad_port"),
    ('{"op": "tcp.listen", "device": "server", "port": 80}', "bad_port"),
    ('{"op": "tcp.connect", "device": "laptop", "to": "server:3000"}', "wrong_type"),
    ('{"op": "send", "socket": "s999", "data": "x"}', "unknown_socket"),
    ('{"op": "close", "socket": 7}', "wrong_type"),
    ('{"op": "reset", "ref": {"a": 1}}', "bad_ref"),
]


async def test_it_answers_malformed_messages_with_an_error_and_goes_on(registry):
    ws = await open_ws(await new_session())
    await ws.receive_json_from()
    for text, code in MALFORMED:
        await ws.send_to(text_data=text)
        error = await next_of(ws, "error")
        assert error["code"] == code, text
        assert error["message"]
    await ws.send_to(bytes_data=b"\x00\x01")
    assert (await next_of(ws, "error"))["code"] == "binary_not_supported"
    error = await command(ws, op="send", socket="s1", data="x", ref="kept")
    assert error == {**error, "type": "error", "ref": "kept", "code": "unknown_socket"}
    assert (await command(ws, op="tcp.listen", device="server", port=3000))["type"] == "ok"
    await ws.disconnect()


async def test_it_shares_one_sandbox_between_the_tabs_of_a_session(registry):
    key = await new_session()
    first, second = await open_ws(key), await open_ws(key)
    hello1, hello2 = await first.receive_json_from(), await second.receive_json_from()
    assert hello1["devices"] == hello2["devices"]
    ok = await command(first, op="tcp.listen", device="server", port=3000)
    seen = await next_of(second, "socket")
    assert seen["socket"] == ok["socket"]
    other = await open_ws(await new_session())
    assert (await other.receive_json_from())["devices"] != hello1["devices"]
    for ws in (first, second, other):
        await ws.disconnect()


async def test_it_finds_the_sockets_again_after_a_reload_within_the_grace_period(registry):
    key = await new_session()
    ws = await open_ws(key)
    await ws.receive_json_from()
    ok = await command(ws, op="tcp.listen", device="server", port=3000)
    await command(ws, op="tcp.connect", device="laptop", to={"device": "server", "port": 3000})
    await ws.disconnect()
    ws = await open_ws(key)
    hello = await ws.receive_json_from()
    assert ok["socket"]["id"] in [s["id"] for s in hello["sockets"]]
    assert sorted(s["role"] for s in hello["sockets"]) == ["accepted", "client", "listener"]
    await ws.disconnect()


async def test_it_closes_the_sandbox_when_the_grace_period_ends(registry, settings):
    settings.PLAYGROUND_LIMITS = {**settings.PLAYGROUND_LIMITS, "grace_period": 0.2}
    key = await new_session()
    ws = await open_ws(key)
    first = await ws.receive_json_from()
    await command(ws, op="tcp.listen", device="server", port=3000)
    await ws.disconnect()
    await asyncio.wait_for(registry().wait_gone(key), 10)
    ws = await open_ws(key)
    hello = await ws.receive_json_from()
    assert hello["sockets"] == []
    assert first["devices"] != hello["devices"] or hello["sockets"] == []
    await ws.disconnect()


async def test_it_closes_a_websocket_without_a_session_with_a_clear_code(registry):
    ws = await open_ws(None)
    error = await ws.receive_json_from()
    assert error["code"] == "no_session" and "playground page" in error["message"]
    assert await ws.receive_output() == {"type": "websocket.close", "code": 4401}


async def test_it_refuses_a_websocket_from_another_origin(registry):
    key = await new_session()
    ws = WebsocketCommunicator(
        application,
        "/ws/playground/",
        headers=[(b"origin", b"https://evil.example"), (b"cookie", f"sessionid={key}".encode())],
    )
    connected, _ = await ws.connect()
    assert not connected


async def test_it_limits_the_message_size(registry):
    ws = await open_ws(await new_session())
    await ws.receive_json_from()
    await ws.send_to(text_data=json.dumps({"op": "reset", "pad": "x" * 5000}))
    error = await next_of(ws, "error")
    assert error["code"] == "limit_message_bytes" and error["limit"] == "message_bytes"
    error = await command(ws, op="tcp.listen", device="server", port=3000)
    assert error["type"] == "ok"
    await ws.disconnect()


async def test_it_limits_the_send_size(registry):
    ws = await open_ws(await new_session())
    await ws.receive_json_from()
    await command(ws, op="tcp.listen", device="server", port=3000)
    ok = await command(ws, op="tcp.connect", device="laptop", to={"device": "server", "port": 3000})
    error = await command(ws, op="send", socket=ok["socket"]["id"], data="é" * 600)
    assert error["code"] == "limit_send_bytes" and error["limit"] == "send_bytes"
    await ws.disconnect()


async def test_it_limits_commands_per_second(registry, settings):
    settings.PLAYGROUND_LIMITS = {
        **settings.PLAYGROUND_LIMITS,
        "commands_per_second": 1,
        "command_burst": 3,
    }
    ws = await open_ws(await new_session())
    await ws.receive_json_from()
    answers = [await command(ws, op="reset", ref=n) for n in range(3)]
    for n in range(3, 5):
        await ws.send_json_to({"op": "reset", "ref": n})
        answers.append(await next_of(ws, "error"))
    assert [a["type"] for a in answers] == ["ok", "ok", "ok", "error", "error"]
    assert answers[-1]["code"] == "limit_commands_per_second"
    await ws.disconnect()


async def test_it_limits_sockets_per_sandbox(registry, settings):
    settings.PLAYGROUND_LIMITS = {**settings.PLAYGROUND_LIMITS, "sockets_per_sandbox": 2}
    ws = await open_ws(await new_session())
    await ws.receive_json_from()
    await command(ws, op="tcp.listen", device="server", port=3000)
    await command(ws, op="udp.bind", device="laptop", port=0)
    error = await command(ws, op="udp.bind", device="server", port=0)
    assert error["code"] == "limit_sockets" and error["limit"] == "sockets_per_sandbox"
    await ws.disconnect()


async def test_it_limits_sandboxes_per_process(registry, settings):
    settings.PLAYGROUND_LIMITS = {**settings.PLAYGROUND_LIMITS, "sandboxes_per_process": 1}
    first = await open_ws(await new_session())
    await first.receive_json_from()
    second = await open_ws(await new_session())
    error = await second.receive_json_from()
    assert error["code"] == "limit_sandboxes" and error["limit"] == "sandboxes_per_process"
    assert await second.receive_output() == {"type": "websocket.close", "code": 4503}
    await first.disconnect()


@pytest.mark.parametrize(("limit", "value"), [("idle_timeout", 0.3), ("lifetime", 0.3)])
async def test_it_resets_an_idle_or_old_sandbox_and_says_why(registry, settings, limit, value):
    settings.PLAYGROUND_LIMITS = {**settings.PLAYGROUND_LIMITS, limit: value}
    ws = await open_ws(await new_session())
    await ws.receive_json_from()
    closed = await next_of(ws, "sandbox.closed")
    assert closed["limit"] == limit
    assert await ws.receive_output() == {"type": "websocket.close", "code": 1000}


async def test_it_answers_text_with_a_lone_surrogate_with_bad_data_and_the_ref(registry):
    ws = await open_ws(await new_session())
    await ws.receive_json_from()
    await command(ws, op="tcp.listen", device="server", port=3000)
    ok = await command(ws, op="tcp.connect", device="laptop", to={"device": "server", "port": 3000})
    # The client can tell which command failed: the answer carries its ref.
    for text, ref in (
        (
            json.dumps({"op": "send", "socket": ok["socket"]["id"], "ref": "x"})[:-1]
            + ', "data": "\\ud800"}',
            "x",
        ),
        ('{"op": "nonsense", "ref": 7, "device": {"name": "\\udc00"}}', 7),
        # A ref that is not text itself cannot be echoed back.
        ('{"op": "send", "socket": "s1", "data": "ok", "ref": "\\udfff"}', None),
    ):
        await ws.send_to(text_data=text)
        error = await next_of(ws, "error")
        assert error["code"] == "bad_data" and "surrogate" in error["message"]
        assert error["ref"] == ref
    assert (await command(ws, op="send", socket=ok["socket"]["id"], data="é"))["bytes"] == 2
    await ws.disconnect()
