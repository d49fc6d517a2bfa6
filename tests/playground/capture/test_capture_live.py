"""Watching the packets through the real stack: the ASGI application with its WebSocket
consumer (Channels' communicator). A sandbox process of the pool holds its sandboxes
as the local engine does (playground.engines.pool), so this covers both."""

import pytest
from channels.testing import WebsocketCommunicator

from sockets_site.asgi import application
from tests.support.consumer_helpers import new_session

ORIGIN = b"http://127.0.0.1:8000"
TO_SERVER = {"device": "server", "port": 3000}


class Tab:
    """One WebSocket: every event it got, and waits for the next one wanted."""

    def __init__(self, ws: WebsocketCommunicator, hello: dict):
        self.ws, self.hello, self.log, self.read = ws, hello, [], 0

    @classmethod
    async def open(cls, key: str) -> "Tab":
        headers = [(b"origin", ORIGIN), (b"host", b"127.0.0.1:8000")]
        headers.append((b"cookie", f"sessionid={key}".encode()))
        ws = WebsocketCommunicator(application, "/ws/playground/", headers=headers)
        assert (await ws.connect())[0]
        hello = await ws.receive_json_from(timeout=10)
        assert hello["type"] == "hello"
        return cls(ws, hello)

    async def until(self, predicate) -> dict:
        while True:
            for event in self.log[self.read :]:
                self.read += 1
                if predicate(event):
                    return event
            self.log.append(await self.ws.receive_json_from(timeout=10))

    async def command(self, **message) -> dict:
        message.setdefault("ref", f"r{len(self.log)}-{message['op']}")
        await self.ws.send_json_to(message)
        return await self.until(lambda e: e.get("ref") == message["ref"])

    def packets(self) -> list[dict]:
        return [e for e in self.log if e["type"] == "packet"]


def flags_of(packets: list[dict]) -> list[list[str]]:
    return [p["flags"] for p in packets]


needs_db = pytest.mark.django_db(transaction=True)


@needs_db
async def test_it_sends_packets_to_every_tab_and_keeps_them_for_a_reload(registry):
    key = await new_session()
    first, second = await Tab.open(key), await Tab.open(key)
    assert first.hello["capture"] == {
        "available": True,
        "note": "",
        "on": False,
        "packets_per_second": 50,
        "history": 200,
        "older": 0,
    }
    assert first.hello["packets"] == []
    assert first.hello["limits"]["capture_history"] == 200
    ok = await first.command(op="capture", on=True)
    assert (ok["type"], ok["op"], ok["capture"]) == ("ok", "capture", True)
    await first.command(op="tcp.listen", device="server", port=3000)
    client = (await first.command(op="tcp.connect", device="laptop", to=TO_SERVER))["socket"]
    await first.command(op="send", socket=client["id"], data="hi")
    for tab in (first, second):  # the tab that did not ask sees them too
        await tab.until(lambda e: e["type"] == "packet" and e["length"] == 2)
        assert flags_of(tab.packets()) == [["SYN"], ["SYN", "ACK"], ["ACK"], ["PSH", "ACK"]]
    data = second.packets()[-1]
    assert (data["payload"], data["seq_relative"], data["sockets"][0]) == ("hi", 1, client["id"])
    reload = await Tab.open(key)
    assert reload.hello["capture"]["on"] is True
    kept = reload.hello["packets"]
    assert [p["n"] for p in kept[:4]] == [1, 2, 3, 4] and kept[3] == data
    # Only the first tab asked: once it is gone, no packet events are sent any more.
    await first.ws.disconnect()
    off = await second.command(op="capture", on=False)
    assert off["capture"] is False
    for tab in (second, reload):
        await tab.ws.disconnect()


@needs_db
async def test_it_says_capture_is_unavailable_without_the_namespace(registry, settings):
    settings.PLAYGROUND_NETWORK_NAMESPACE = False
    tab = await Tab.open(await new_session())
    capture = tab.hello["capture"]
    assert capture["available"] is False and capture["on"] is False
    assert "own network" in capture["note"] and "switched off" in capture["note"]
    answer_ = await tab.command(op="capture", on=True)
    assert (answer_["type"], answer_["capture"]) == ("ok", False)
    await tab.command(op="tcp.listen", device="server", port=3000)
    await tab.command(op="tcp.connect", device="laptop", to=TO_SERVER)
    await tab.until(lambda e: e["type"] == "socket" and e["socket"]["role"] == "accepted")
    assert tab.packets() == [] and registry().packets.reading is False
    await tab.ws.disconnect()
