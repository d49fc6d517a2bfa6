"""The site while its database is away: a plain 503 page that keeps what was posted.

Rules:
- A request that fails because the database cannot be reached is answered 503 with
  Retry-After, not the 500 page: an InterfaceError, or an OperationalError whose
  connection is no longer usable or whose message says the connection was lost
  (CONNECTION_LOST). Any other error, OperationalError included (SQLite says "no such
  table" after a forgotten migrate), is a bug and stays a 500 with its traceback.
- SQLite busy past its timeout ("database is locked") is not an outage (reads still
  succeed): answered 503 with Retry-After too, logged at most once per BUSY_LOG_SECONDS,
  without marking the database down.
- A POST's fields come back on that page as hidden inputs of a form that posts them
  again to the same address, with a fresh CSRF token (CSRF tokens live in a cookie,
  not in the database), only when the CSRF check passed (otherwise another site
  could make the page repeat what it posted) and only up to ECHO_LIMIT_BYTES.
  The form has no action and the Try again link an empty href (the same URL): the
  path is never written into the page, since `//evil.example/x` is a path too.
  Passwords and the fields a view marks sensitive are never written into the page.
  A quiz page carries a signed token that makes a second submission of a recorded
  page change nothing (lessons.attempts), so "Try again" records it once.
- The log gets one line when the database goes and one when it is back
  (sockets_site.outage_notice.Outage), not a traceback or a line per request:
  DatabaseOutageFilter drops what Django would log for each failed request.
- The page is rendered without context processors: they may read the user, which
  needs the database. Nothing of the session is saved with it.
- While the database is down, a request that got through asks it (SELECT 1) so
  "reachable again" is logged soon after it is back: at most once per
  settings.DATABASE_PROBE_SECONDS
  (cached pages need no database and must not queue behind a probe), by one thread
  at a time (the others skip it). PostgreSQL's connect_timeout (settings) bounds it.

A WebSocket opened while the database is away (reading its session and user needs
it) is refused, or closed with 4503 if it was accepted, by WebSocketOutageGuard in
the ASGI stack: counted in the same one line, not a traceback per connection. A
WebSocket accepted while the database is marked down probes it the same way, so a
process serving only WebSockets notices it is back.

The middleware sits just inside CsrfViewMiddleware, so the fresh token's cookie is
set on the 503 answer. Failures raised in the middleware inside it reach it through
Django's got_request_exception signal (Django turns them into 500 answers first).
"""

import contextlib
import logging
import sys
import threading
import time

from channels.db import database_sync_to_async
from django.conf import settings
from django.core.signals import got_request_exception
from django.db import InterfaceError, OperationalError, connections
from django.db.utils import DatabaseError
from django.http import HttpResponse
from django.middleware.csrf import get_token
from django.template.loader import render_to_string

from sockets_site.networks import CLOSE_FULL
from sockets_site.outage_notice import Outage

log = logging.getLogger(__name__)

database = Outage("The database", "pages answer 503 until it is back")
RETRY_AFTER_SECONDS = 10
BUSY_LOG_SECONDS = 60.0
ECHO_LIMIT_BYTES = 64 * 1024
# What drivers say when the connection itself is gone (psycopg 3 and 2, SQLite), as
# opposed to a query the database refused.
CONNECTION_LOST = (
    "could not connect",
    "connection failed",
    "server closed the connection",
    "terminating connection",
    "the connection is closed",
    "not currently accepting connections",
    "unable to open database file",
    "disk i/o error",
)
BUSY = "database is locked"
clock = time.monotonic  # tests move their own clock

_FAILED = "_database_outage"
_ANSWERED = "_database_outage_answered"
_KIND = "_sockets_database_failure"
_OWN_HEADERS = {"content-type", "content-length", "cache-control", "retry-after"}

OUTAGE, LOCKED = "outage", "locked"


def _kind(error: BaseException | None, *, ask_connection: bool) -> str | None:
    for cause in (error, getattr(error, "__cause__", None)):
        if isinstance(cause, InterfaceError):
            return OUTAGE
        if isinstance(cause, OperationalError):
            message = str(cause).lower()
            if BUSY in message:
                return LOCKED
            if any(lost in message for lost in CONNECTION_LOST):
                return OUTAGE
            if ask_connection and not _usable():
                return OUTAGE
            return None
    return None


def failure_kind(error: BaseException | None, *, ask_connection: bool = True) -> str | None:
    """OUTAGE if `error` means the database cannot be reached, LOCKED if SQLite was
    busy past its timeout, else None (a bug). Remembered on the error, so the log
    filter asks nothing of the connection. `ask_connection` (whether the connection
    may be asked if it is still usable) only from the thread whose query failed."""
    if error is None:
        return None
    try:
        return getattr(error, _KIND)
    except AttributeError:
        pass
    kind = _kind(error, ask_connection=ask_connection)
    with contextlib.suppress(AttributeError):  # an exception type without a __dict__
        setattr(error, _KIND, kind)
    return kind


def is_outage(error: BaseException | None) -> bool:
    """Whether `error` means the database cannot be reached (not a bug in a query)."""
    return failure_kind(error) == OUTAGE


def _usable() -> bool:
    connection = connections["default"]
    try:
        return connection.connection is not None and connection.is_usable()
    except Exception:
        return False


_busy_logged_at: float | None = None
_busy_lock = threading.Lock()


def _locked(error: BaseException) -> None:
    """One line per burst of "database is locked", not one per request."""
    global _busy_logged_at
    with _busy_lock:
        now = clock()
        if _busy_logged_at is not None and now - _busy_logged_at < BUSY_LOG_SECONDS:
            return
        _busy_logged_at = now
    log.warning("The database was busy past its timeout (%s); answered 503", error)


def _kept_fields(request) -> tuple[list[tuple[str, str]], bool, bool]:
    """The posted fields to post again, whether some were left out (passwords), and
    whether they were too long to keep."""
    sensitive = getattr(request, "sensitive_post_parameters", ())
    kept, dropped, size = [], False, 0
    try:
        posted = request.POST.lists()
    except Exception:  # an unreadable body: nothing to keep
        return [], False, False
    for name, values in posted:
        if name == "csrfmiddlewaretoken":
            continue  # a fresh one is on the page
        if sensitive == "__ALL__" or name in sensitive or "password" in name.lower():
            dropped = True
            continue
        for value in values:
            size += len(name.encode()) + len(value.encode())
            kept.append((name, value))
    if size > ECHO_LIMIT_BYTES:
        return [], dropped, True
    return kept, dropped, False


def outage_response(request) -> HttpResponse:
    session = getattr(request, "session", None)
    if session is not None:
        session.modified = False  # saving it would need the database
    # Only a POST the CSRF check accepted is echoed: another site's would come back
    # as a form of ours with a valid token.
    posted = request.method == "POST" and getattr(request, "csrf_processing_done", False)
    fields, dropped, too_long = _kept_fields(request) if posted else ([], False, False)
    html = render_to_string(
        "503.html",
        {
            "posted": posted,
            "fields": fields,
            "dropped": dropped,
            "too_long": too_long,
            "csrf_token": get_token(request),
        },
    )
    setattr(request, _ANSWERED, True)
    response = HttpResponse(html, status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"  # it may hold the learner's answers
    return response


def _answer(request, error: BaseException) -> bool:
    """Counts `error` if the database is to blame; whether it is."""
    kind = failure_kind(error)
    if kind == OUTAGE:
        database.failed(error)
    elif kind == LOCKED:
        _locked(error)
    else:
        return False
    return True


def _noticed(sender, request=None, **kwargs) -> None:
    error = sys.exc_info()[1]
    if request is not None and error is not None and _answer(request, error):
        setattr(request, _FAILED, True)


got_request_exception.connect(_noticed, dispatch_uid="sockets_site.outage")


def _reachable() -> bool:
    try:
        with connections["default"].cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError:
        return False
    return True


_probe_lock = threading.Lock()
_probed_at: float | None = None


def probe_if_due() -> None:
    """While the database is marked down, ask it whether it is back: at most once per
    settings.DATABASE_PROBE_SECONDS, and never while another thread is asking (that
    one answers)."""
    global _probed_at
    if not database.down or not _probe_lock.acquire(blocking=False):
        return
    try:
        now = clock()
        if _probed_at is not None and now - _probed_at < settings.DATABASE_PROBE_SECONDS:
            return
        _probed_at = now
        if _reachable():
            database.recovered()
    finally:
        _probe_lock.release()


class DatabaseOutageMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if getattr(request, _FAILED, False):
            page = outage_response(request)
            # The headers the middleware inside this one gave the 500 answer (CSP, framing).
            for header, value in response.items():
                if header.lower() not in _OWN_HEADERS:
                    page.headers.setdefault(header, value)
            return page
        if not getattr(request, _ANSWERED, False):  # this one failed: no need to ask
            probe_if_due()
        return response

    def process_exception(self, request, exception):
        if _answer(request, exception):
            return outage_response(request)
        return None


class DatabaseOutageFilter:
    """On django.request: neither the traceback of a request the database's absence
    (or SQLite's lock) failed nor the line for each 503 answered meanwhile is logged
    (the outage's own line says it once)."""

    def filter(self, record) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if failure_kind(error) is not None:
            return False
        request = getattr(record, "request", None)
        answered = getattr(request, _ANSWERED, False) or getattr(request, _FAILED, False)
        return not (answered and getattr(record, "status_code", None) == 503)


class WebSocketOutageGuard:
    """ASGI middleware for the WebSocket stack: a connection that fails because the
    database is away ends quietly (refused before it is accepted, else 4503); one
    accepted while the database is marked down probes it (probe_if_due)."""

    def __init__(self, inner):
        self.inner = inner

    async def __call__(self, scope, receive, send):
        async def sending(message):
            await send(message)
            if message.get("type") == "websocket.accept" and database.down:
                await database_sync_to_async(probe_if_due)()

        try:
            return await self.inner(scope, receive, sending)
        except Exception as error:
            # The failed query ran in another thread: judged by its type and message.
            if failure_kind(error, ask_connection=False) != OUTAGE:
                raise
            database.failed(error)
            await send({"type": "websocket.close", "code": CLOSE_FULL})
