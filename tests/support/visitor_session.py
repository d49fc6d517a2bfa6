"""A playground visitor's session, made as the page's script makes it: no GET writes a
session, so a client GETs the page (for its CSRF cookie and token) and POSTs to
playground:session before it opens the WebSocket."""

import http.cookiejar
import re
import urllib.request

TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def playground_cookie(base_url: str, source: str | None = None) -> str:
    """The cookies ("csrftoken=…; sessionid=…") of a new visitor of the site at
    `base_url` whose playground page has made its session."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    with opener.open(base_url + "/playground/", timeout=30) as response:
        token = TOKEN.search(response.read().decode()).group(1)
    request = urllib.request.Request(
        base_url + "/playground/session/",
        data=b"",
        headers={"X-CSRFToken": token, "Referer": base_url + "/playground/"},
    )
    with opener.open(request, timeout=30) as response:
        assert response.status == 204
    return "; ".join(f"{c.name}={c.value}" for c in jar)


def session_only(cookie: str) -> str:
    """Just the "sessionid=…" part of `cookie`."""
    return re.search(r"sessionid=[^;]+", cookie).group(0)
