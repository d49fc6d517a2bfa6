"""The production HTTP workers: deploy/Procfile's `http` line, started as honcho runs it,
serves the site over WSGI on gunicorn's gthread workers (deploy/gunicorn.conf.py).

That one worker holds GUNICORN_THREADS requests at once is shown without timing: each
request asks `Expect: 100-continue`, and gunicorn answers `100 Continue` from the thread
that took the request, just before the site reads the body. Every request has its
`100 Continue` while none has sent its body, so every one holds a thread of its own.
"""

import re
import socket
import uuid
from types import SimpleNamespace
from urllib.parse import urlencode

from tests.deploy.test_deploy_live import Browser
from tests.support.procfile import ProcfileProcess
from tests.support.services import free_port

THREADS = 3


def held_signup(port: int, cookies: dict[str, str], token: str):
    """A sign-up POST whose headers are sent and whose body is not, once a worker thread
    holds it (its `100 Continue`); the socket and the body still to send."""
    password = "a-very-long-passphrase"
    form = {
        "csrfmiddlewaretoken": token,
        "username": f"gthread-{uuid.uuid4().hex[:8]}",
        "password1": password,
        "password2": password,
    }
    body = urlencode(form)
    cookie = "; ".join(f"{name}={value}" for name, value in cookies.items())
    head = (
        f"POST /accounts/signup/ HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Cookie: {cookie}\r\nReferer: http://127.0.0.1:{port}/accounts/signup/\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {len(body)}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n"
    )
    # The timeout only turns a missing thread into a failure rather than a hang.
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    sock.sendall(head.encode())
    assert read_head(sock).startswith("HTTP/1.1 100 Continue")
    return sock, body


def read_head(sock: socket.socket) -> str:
    head = b""
    while b"\r\n\r\n" not in head:
        byte = sock.recv(1)  # one at a time: nothing of the next answer is taken
        assert byte, head
        head += byte
    return head.decode("latin-1")


def read_answer(sock: socket.socket) -> tuple[str, str]:
    """The final answer on a connection gunicorn closes after it: its head, its body."""
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    head, _, body = data.decode("utf-8", "replace").partition("\r\n\r\n")
    return head, body


def test_it_serves_pages_over_wsgi_gthread_workers(daphne_server):
    port = free_port()
    env = {
        **daphne_server.env,
        "HTTP_PORT": str(port),
        "GUNICORN_WORKERS": "1",
        "GUNICORN_THREADS": str(THREADS),
    }
    process = ProcfileProcess("http", env)
    try:
        process.start_now()
        assert any("Using worker: deploy.workers.QuietThreadWorker" in x for x in process.log)
        site = SimpleNamespace(port=port, url=f"http://127.0.0.1:{port}")
        visitor = Browser(site)
        page = visitor.get("/accounts/signup/")
        assert page.status == 200
        assert page.headers.get_all("Server") is None
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)

        held = [held_signup(port, visitor.cookies, token) for _ in range(THREADS)]
        for sock, body in reversed(held):  # the last one first: none waits for another
            with sock:
                sock.sendall(body.encode())
                head, text = read_answer(sock)
            # Signed up and sent on: the CSRF token was accepted.
            assert head.startswith("HTTP/1.1 302"), (head, text)
            assert "Server:" not in head, head
        assert process.tracebacks() == []
    finally:
        process.stop()
