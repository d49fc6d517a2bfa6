"""The site while its database is away: a plain 503 page that keeps what was posted.

Rules:
- A request that fails because the database cannot be reached (django.db's
  OperationalError or InterfaceError: no connection, a connection cut, SQLite busy
  past its timeout) is answered 503 with Retry-After, not the 500 page. Other
  database errors (integrity, programming) are bugs and stay 500s.
- A POST's fields come back on that page as hidden inputs of a form that posts them
  again to the same address, with a fresh CSRF token (CSRF tokens live in a cookie,
  not in the database). Passwords and the fields a view marks sensitive are never
  written into the page. A quiz page carries a signed token that makes a second
  submission of a recorded page change nothing (lessons.attempts), so "Try again"
  records it once.
- The log gets one line when the database goes and one when it is back
  (playground.outage.Outage), not a traceback or a line per request:
  DatabaseOutageFilter drops what Django would log for each failed request.
- The page is rendered without context processors: they may read the user, which
  needs the database. Nothing of the session is saved with it.
- While the database is down, each request that got through asks it (SELECT 1), so
  "reachable again" is logged by the first request after it is back.

A WebSocket opened while the database is away (reading its session and user needs
it) is refused, or closed with 4503 if it was accepted, by WebSocketOutageGuard in
the ASGI stack: counted in the same one line, not a traceback per connection.

The middleware sits just inside CsrfViewMiddleware, so the fresh token's cookie is
set on the 503 answer. Failures raised in the middleware inside it reach it through
Django's got_request_exception signal (Django turns them into 500 answers first).
"""

import sys

from django.core.signals import got_request_exception
from django.db import InterfaceError, OperationalError, connections
from django.db.utils import DatabaseError
from django.http import HttpResponse
from django.middleware.csrf import get_token
from django.template.loader import render_to_string

from playground.outage import Outage

database = Outage("The database", "pages answer 503 until it is back")
RETRY_AFTER_SECONDS = 10
_FAILED = "_database_outage"
_OWN_HEADERS = {"content-type", "content-length", "cache-control", "retry-after"}


def is_outage(error: BaseException | None) -> bool:
    """Whether `error` means the database cannot be reached (not a bug in a query)."""
    for cause in (error, getattr(error, "__cause__", None)):
        if isinstance(cause, OperationalError | InterfaceError):
            return True
    return False


def _kept_fields(request) -> tuple[list[tuple[str, str]], bool]:
    """The posted fields to post again, and whether some were left out (passwords)."""
    sensitive = getattr(request, "sensitive_post_parameters", ())
    kept, dropped = [], False
    try:
        posted = request.POST.lists()
    except Exception:  # an unreadable body: nothing to keep
        return [], False
    for name, values in posted:
        if name == "csrfmiddlewaretoken":
            continue  # a fresh one is on the page
        if sensitive == "__ALL__" or name in sensitive or "password" in name.lower():
            dropped = True
            continue
        kept.extend((name, value) for value in values)
    return kept, dropped


def outage_response(request) -> HttpResponse:
    session = getattr(request, "session", None)
    if session is not None:
        session.modified = False  # saving it would need the database
    fields, dropped = _kept_fields(request) if request.method == "POST" else ([], False)
    html = render_to_string(
        "503.html",
        {
            "action": request.get_full_path(),
            "posted": request.method == "POST",
            "fields": fields,
            "dropped": dropped,
            "csrf_token": get_token(request),
        },
    )
    response = HttpResponse(html, status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"  # it may hold the learner's answers
    return response


def _noticed(sender, request=None, **kwargs) -> None:
    error = sys.exc_info()[1]
    if request is not None and is_outage(error):
        database.failed(error)
        setattr(request, _FAILED, True)


got_request_exception.connect(_noticed, dispatch_uid="sockets_site.outage")


def _reachable() -> bool:
    try:
        with connections["default"].cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError:
        return False
    return True


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
        if database.down and _reachable():
            database.recovered()
        return response

    def process_exception(self, request, exception):
        if is_outage(exception):
            database.failed(exception)
            return outage_response(request)
        return None


class DatabaseOutageFilter:
    """On django.request: neither the traceback of a request the outage failed nor the
    line for each 503 answered while it lasts is logged (the outage's own line says
    it once)."""

    def filter(self, record) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if is_outage(error):
            return False
        return not (database.down and getattr(record, "status_code", None) == 503)


CLOSE_UNAVAILABLE = 4503


class WebSocketOutageGuard:
    """ASGI middleware for the WebSocket stack: a connection that fails because the
    database is away ends quietly (refused before it is accepted, else 4503)."""

    def __init__(self, inner):
        self.inner = inner

    async def __call__(self, scope, receive, send):
        try:
            return await self.inner(scope, receive, send)
        except Exception as error:
            if not is_outage(error):
                raise
            database.failed(error)
            await send({"type": "websocket.close", "code": CLOSE_UNAVAILABLE})
