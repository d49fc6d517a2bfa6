"""The playground's pages: the playground itself, and the session its script asks for.

Rules: the WebSocket finds its sandbox by the session, and the engine names the
sandbox's owner (for experiment progress) by the session's learner key, so the
session must exist and hold a learner key before any WebSocket opens. No GET writes
a session (a crawler or a reader who only looks leaves no row): the playground page
and a lesson's panel (whose page is cached whole and may be read with no session at
all) both POST to `session` first, CSRF-protected, from their script.

`route` is the proxy's question, not a page: with the pool engine nginx asks it,
before every WebSocket upgrade (auth_request), which process owns the session's
sandbox (playground.engines.pool.placement), and proxies the upgrade there. It reads
the session cookie only (no database), answers 404 with any other engine, and 503
when no process can take the session or Redis is away. deploy/ keeps it internal.
"""

from django.conf import settings
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.views.decorators.http import require_GET, require_POST

from playground import conf
from playground.engines.pool.placement import Placement
from sockets_site import outage_notice as outage
from sockets_site import page_cache
from sockets_site.learners import learner_for

OWNER_HEADER = "X-Playground-Owner"
LOST_HEADER = "X-Playground-Lost"  # read back by playground.consumer.LOST_HEADER


def _ensure_session(request) -> None:
    learner_for(request, create=True)  # a logged-in user is named by the account instead
    if not request.session.session_key:
        # Saved now so the key exists; a changed session is saved again with the response.
        request.session.save()


@page_cache.one_generation()
def index(request):
    """The same for every visitor (their sandbox comes over the WebSocket): kept whole for
    them (sockets_site.page_cache), one per set of limits."""
    limits = conf.limits()
    context = {"limits": limits}
    if not page_cache.whole_page_allowed(request):
        return render(request, "playground/index.html", context)
    page = page_cache.whole_page(
        request,
        f"playground:{page_cache.variant(limits)}",
        lambda: render_to_string("playground/index.html", context, request),
    )
    return HttpResponse(page)


@require_POST
def session(request):
    """A session with a learner key for this browser, before a playground connects."""
    _ensure_session(request)
    return HttpResponse(status=204)


_placements: dict[str, Placement] = {}  # by REDIS_URL: one client per process


@require_GET
def route(request):
    """Where this session's WebSocket goes: 204 naming the owner's address."""
    if settings.PLAYGROUND_ENGINE != "pool":
        raise Http404("The playground is not a pool here.")
    placement = _placements.get(settings.REDIS_URL)
    if placement is None:
        placement = _placements[settings.REDIS_URL] = Placement(settings.REDIS_URL)
    try:
        found = placement.route(request.COOKIES.get(settings.SESSION_COOKIE_NAME))
    except Exception as error:  # Redis away: said once, answered 503 until it is back
        outage.redis.failed(error)
        found = None
    else:
        outage.redis.recovered()
    if found is None:
        return HttpResponse("No playground process can take a sandbox now.", status=503)
    response = HttpResponse(status=204)
    response[OWNER_HEADER] = found.address
    if found.lost:
        response[LOST_HEADER] = found.lost
    return response
