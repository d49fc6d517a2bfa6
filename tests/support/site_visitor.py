"""A visitor of the live site: a cookie jar for the pages and the playground's WebSocket,
as the lab tests drive them (tests/labs/test_quiz_live.py), and the quiz race
(tests/lessons/test_quiz_race_live.py) with its two servers. Redirects are not followed:
a test reads where a form sends it."""

import html
import http.cookiejar
import re
import urllib.error
import urllib.parse
import urllib.request

from tests.support.raw_websocket import RawWebSocket


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Browser:
    """One visitor: a cookie jar for every request and the playground's WebSocket."""

    def __init__(self, server):
        self.server = server
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar), _NoRedirect
        )

    def request(self, path, data=None, server=None) -> tuple[int, str, str]:
        """Status, Location and body, from `server` when given (the same cookies at
        another process of the site, as behind a load balancer)."""
        body = urllib.parse.urlencode(data, doseq=True).encode() if data is not None else None
        url = (server or self.server).url + path
        try:
            with self.opener.open(url, body, timeout=60) as response:
                return (
                    response.status,
                    response.headers.get("Location", ""),
                    response.read().decode(),
                )
        except urllib.error.HTTPError as error:
            return error.code, error.headers.get("Location", ""), error.read().decode()

    def get(self, path) -> str:
        status, _, page = self.request(path)
        assert status == 200, page[:2000]
        return page

    def playground(self) -> "Tab":
        """Open the playground page (its script starts the session), then its WebSocket."""
        self.start_session()
        cookie = "; ".join(f"{c.name}={c.value}" for c in self.jar)
        ws = RawWebSocket(
            self.server.host, self.server.port, "/ws/playground/", self.server.url, cookie
        )
        assert ws.status == 101
        self.hello = ws.hello()
        return Tab(ws)

    def start_session(self) -> None:
        """What the playground page's script does first: POST for a session."""
        page = self.get("/playground/")
        status, _, body = self.request(
            "/playground/session/", {"csrfmiddlewaretoken": field(page, "csrfmiddlewaretoken")}
        )
        assert status == 204, body[:2000]

    def submit_quiz(self, path, forged=None) -> str:
        """Submit the quiz page answering nothing (only the lab question matters here),
        with any forged fields; the result page."""
        page = self.get(path)
        data = {
            "token": field(page, "token"),
            "csrfmiddlewaretoken": field(page, "csrfmiddlewaretoken"),
            **(forged or {}),
        }
        status, location, body = self.request(path, data)
        assert status == 302 and "/attempts/" in location, body[:2000]
        return self.get(location)


class Tab:
    """A playground WebSocket whose events are all kept until awaited: an event that comes
    before a command's answer (a socket's row, a step reached) is still found after it."""

    def __init__(self, ws: RawWebSocket):
        self.ws = ws
        self.backlog: list[dict] = []

    def send_json(self, message: dict) -> None:
        self.ws.send_json(message)

    def until(self, predicate) -> dict:
        """The first event not awaited yet that fits (the socket's read timeout guards)."""
        for i, event in enumerate(self.backlog):
            if predicate(event):
                return self.backlog.pop(i)
        while True:
            event = self.ws.event()
            if predicate(event):
                return event
            self.backlog.append(event)

    def close(self) -> None:
        self.ws.close()


def field(page: str, name: str) -> str:
    return html.unescape(re.search(rf'name="{name}" value="([^"]+)"', page).group(1))


def lab_item(result: str, prompt: str) -> str:
    """The result page's part about the lab question."""
    return html.unescape(result.split(prompt, 1)[1].split("</li>\n", 1)[0])


def command(ws, ref, **fields) -> dict:
    ws.send_json({**fields, "ref": ref})
    return ws.until(lambda e: e.get("ref") == ref)


def socket_reaches(ws, predicate) -> dict:
    """The next row of a socket that fits, as the sandbox reports it (the kernel's
    states are read within a tick: no sleeping, the events are awaited)."""
    return ws.until(lambda e: e["type"] == "socket" and predicate(e["socket"]))["socket"]


def connect(ws, port: int) -> tuple[dict, dict]:
    """A listener on server `port` and a laptop client connected to it: (client, accepted)."""
    assert command(ws, "listen", op="tcp.listen", device="server", port=port)["type"] == "ok"
    answer = command(
        ws, "connect", op="tcp.connect", device="laptop", to={"device": "server", "port": port}
    )
    assert answer["type"] == "ok", answer
    accepted = socket_reaches(ws, lambda s: s["role"] == "accepted" and s["state"] == "ESTABLISHED")
    return answer["socket"], accepted
