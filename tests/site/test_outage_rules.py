"""What counts as a database outage and what the 503 page shows (sockets_site.outage),
and which address a request behind a proxy comes from (sockets_site.client_ip).

The site's middleware runs through Django's test client with this module's URLs: each
view meets a real SQLite error (on whatever database the suite runs) (a missing table, a file that
cannot be opened, a write lock another connection holds), raised through Django's own
error translation. The outage probe's clock is moved by the tests, never waited for.
"""

import logging
import socket
import sqlite3
import threading
from types import SimpleNamespace

import pytest
from channels.generic.websocket import WebsocketConsumer
from channels.testing import WebsocketCommunicator
from django.db import OperationalError, connection
from django.db.utils import DatabaseErrorWrapper
from django.http import HttpResponse
from django.test import Client, RequestFactory
from django.urls import path

from sockets_site import outage
from sockets_site.client_ip import choose, scope_client_ip
from tests.support.live_server import manage, site_env

# --- this module's site: a page needing no database, and pages meeting real errors ---


def _cached(request):
    return HttpResponse("A page from the cache")


# SQLite's errors translated as Django's SQLite backend translates them, whatever
# database the suite runs on (the PostgreSQL run's connection would not translate them).
sqlite_errors = DatabaseErrorWrapper(SimpleNamespace(Database=sqlite3, errors_occurred=False))


def _missing_table(request):
    with sqlite_errors:
        sqlite3.connect(":memory:").execute("SELECT * FROM table_a_forgotten_migrate_would_make")
    return HttpResponse()


def _unreachable(request):
    # What SQLite says when its file is gone, translated as Django translates it.
    with sqlite_errors:
        sqlite3.connect("file:/no/such/directory/db.sqlite3?mode=rw", uri=True).execute("SELECT 1")
    return HttpResponse()


def _locked(request):
    lock_path = request.GET["file"]
    holder = sqlite3.connect(lock_path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process mid-write
    try:
        writer = sqlite3.connect(lock_path, timeout=0, isolation_level=None)
        with sqlite_errors:
            writer.execute("BEGIN IMMEDIATE")
    finally:
        holder.rollback()
    return HttpResponse()


def _not_found(request, exception):
    return _unreachable(request)  # the 404 page needs the database too


urlpatterns = [
    path("cached/", _cached),
    path("missing-table/", _missing_table),
    path("unreachable/", _unreachable),
    path("locked/", _locked),
]
handler404 = _not_found

DOWN = "The database is unreachable"
BACK = "The database is reachable again"


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


@pytest.fixture
def clock(monkeypatch, settings):
    settings.ROOT_URLCONF = __name__
    moved = Clock()
    monkeypatch.setattr(outage, "clock", moved)
    monkeypatch.setattr(outage, "_probed_at", None)
    monkeypatch.setattr(outage, "_busy_logged_at", None)
    outage.database.down = False
    yield moved
    outage.database.down = False


@pytest.fixture
def client():
    return Client(raise_request_exception=False)


def lines(caplog, text):
    return sum(text in record.getMessage() for record in caplog.records)


@pytest.fixture
def probes():
    """The database refuses the outage probe (SELECT 1) in this thread while
    `probes.refusing`; `probes.count` counts the probes asked."""

    class Probes:
        count = 0
        refusing = True

    def refuse(execute, sql, params, many, context):
        if sql == "SELECT 1":
            Probes.count += 1
            if Probes.refusing:
                raise OperationalError("connection failed: Connection refused")
        return execute(sql, params, many, context)

    with connection.execute_wrapper(refuse):
        yield Probes


# --- 1. the probe while the database is down ---


@pytest.mark.django_db
def test_it_asks_a_down_database_at_most_once_per_interval(clock, client, probes, caplog, settings):
    caplog.set_level(logging.INFO)
    outage.database.failed(OperationalError("connection failed"))
    for _ in range(5):
        assert client.get("/cached/").content == b"A page from the cache"
    assert probes.count == 1
    clock.now += settings.DATABASE_PROBE_SECONDS
    for _ in range(5):
        client.get("/cached/")
    assert probes.count == 2
    probes.refusing = False
    clock.now += settings.DATABASE_PROBE_SECONDS
    client.get("/cached/")
    assert not outage.database.down
    assert lines(caplog, BACK) == 1


@pytest.mark.django_db(transaction=True)
def test_it_lets_other_requests_skip_the_probe_another_is_waiting_for(
    clock, client, probes, settings
):
    outage.database.failed(OperationalError("connection failed"))
    asked, release = threading.Event(), threading.Event()

    def hanging(execute, sql, params, many, context):
        if sql == "SELECT 1":
            asked.set()
            release.wait()  # a server dropping packets
            raise OperationalError("connection failed: timeout expired")
        return execute(sql, params, many, context)

    def slow_request():
        try:
            with connection.execute_wrapper(hanging):
                outage.DatabaseOutageMiddleware(_cached)(RequestFactory().get("/cached/"))
        finally:
            connection.close()

    waiting = threading.Thread(target=slow_request)
    waiting.start()
    try:
        asked.wait()
        clock.now += settings.DATABASE_PROBE_SECONDS  # due again, but one is already asking
        assert client.get("/cached/").content == b"A page from the cache"
        assert probes.count == 0
    finally:
        release.set()
        waiting.join()


def test_it_gives_up_connecting_to_a_postgresql_server_that_never_answers(tmp_path):
    with socket.socket() as silent:  # the kernel completes the handshake; nobody replies
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"postgres://sockets@127.0.0.1:{silent.getsockname()[1]}/sockets"
        env = site_env(tmp_path, DATABASE_URL=url, DATABASE_CONNECT_TIMEOUT="1")
        # Without a connect_timeout libpq waits forever (manage() stops it at 120 s).
        result = manage(
            env,
            "shell",
            "--no-imports",
            "-c",
            "from django.db import connection; connection.ensure_connection()",
        )
    assert result.returncode != 0
    assert "timeout expired" in result.stderr


# --- 2. what counts as an outage ---


@pytest.mark.django_db
def test_it_answers_a_missing_table_with_a_500_and_its_traceback(clock, client, caplog):
    response = client.get("/missing-table/")
    assert response.status_code == 500
    assert not outage.database.down
    assert lines(caplog, DOWN) == 0
    failed = [r for r in caplog.records if r.name == "django.request" and r.exc_info]
    assert "no such table" in str(failed[0].exc_info[1])


@pytest.mark.django_db
def test_it_answers_an_unreachable_database_with_a_503_said_once(clock, client, caplog):
    for _ in range(3):
        response = client.get("/unreachable/")
        assert response.status_code == 503 and response["Retry-After"]
    assert outage.database.down
    assert lines(caplog, DOWN) == 1
    assert not [r for r in caplog.records if r.name == "django.request"]


@pytest.mark.django_db
def test_it_answers_a_locked_database_with_a_503_but_no_outage(clock, client, caplog, tmp_path):
    lock_file = str(tmp_path / "locked.sqlite3")
    for _ in range(3):
        response = client.get("/locked/", {"file": lock_file})
        assert response.status_code == 503 and response["Retry-After"]
    assert not outage.database.down
    assert lines(caplog, DOWN) == 0 and lines(caplog, BACK) == 0
    assert lines(caplog, "busy") == 1
    assert not [r for r in caplog.records if r.name == "django.request"]
    clock.now += outage.BUSY_LOG_SECONDS  # another burst, another line
    client.get("/locked/", {"file": lock_file})
    assert lines(caplog, "busy") == 2


# --- 3. a process serving only WebSockets ---


class Accepting(WebsocketConsumer):
    def connect(self):
        self.accept()


@pytest.mark.django_db(transaction=True)
async def test_it_notices_the_database_is_back_from_an_accepted_websocket(clock, caplog):
    caplog.set_level(logging.INFO)
    outage.database.failed(OperationalError("connection failed"))
    socket = WebsocketCommunicator(outage.WebSocketOutageGuard(Accepting.as_asgi()), "/ws/")
    connected, _ = await socket.connect()
    assert connected
    await socket.disconnect()  # returns once the guard, probe included, is done
    assert not outage.database.down
    assert lines(caplog, BACK) == 1


# --- 4. the 503 page ---


@pytest.mark.django_db
def test_it_does_not_echo_a_post_the_csrf_check_never_saw(clock):
    other_site = Client(enforce_csrf_checks=True, raise_request_exception=False)
    response = other_site.post("/no-such-page/", {"comment": "<b>planted</b> words"})
    assert response.status_code == 503
    page = response.content.decode()
    assert "planted" not in page
    assert 'name="comment"' not in page


@pytest.mark.django_db
def test_it_keeps_a_checked_post_in_a_form_posting_to_the_same_address(clock, client):
    response = client.post("/unreachable/", {"q1": "80", "q2": "a socket"})
    page = response.content.decode()
    assert response.status_code == 503
    assert 'name="q1" value="80"' in page and 'value="a socket"' in page
    assert '<form method="post">' in page  # no action: the address it was posted to


@pytest.mark.django_db
def test_it_never_writes_a_protocol_relative_path_into_the_page(clock, client):
    response = client.get("/", PATH_INFO="//evil.example/x")
    assert response.status_code == 503
    assert "evil.example" not in response.content.decode()


@pytest.mark.django_db
def test_it_keeps_no_answers_too_long_to_send_back(clock, client):
    response = client.post("/unreachable/", {"essay": "x" * (outage.ECHO_LIMIT_BYTES + 1)})
    page = response.content.decode()
    assert response.status_code == 503
    assert "xxxx" not in page
    assert "Your answers are too long to keep here; use your browser's Back button" in page


# --- 5. X-Forwarded-For behind a proxy ---


@pytest.mark.parametrize(
    "forwarded, client_address",
    [
        ("203.0.113.9", "203.0.113.9"),
        ("203.0.113.9:4711", "203.0.113.9"),
        ("[2001:db8::1]:4711", "2001:db8::1"),
        ("2001:db8::1", "2001:db8::1"),
        (" 203.0.113.9 , 10.0.0.2", "203.0.113.9"),
        ("unknown", "10.0.0.1"),
        ("<script>", "10.0.0.1"),
        ("", "10.0.0.1"),
    ],
)
def test_it_takes_only_an_ip_address_from_x_forwarded_for(settings, forwarded, client_address):
    settings.BEHIND_PROXY = True
    assert choose("10.0.0.1", forwarded) == client_address
    scope = {"client": ("10.0.0.1", 5000), "headers": [(b"x-forwarded-for", forwarded.encode())]}
    assert scope_client_ip(scope) == client_address
