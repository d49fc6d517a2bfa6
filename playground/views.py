"""The playground's pages: the playground itself, and the session a lesson's panel asks for.

Rules: the WebSocket finds its sandbox by the session, and the engine names the
sandbox's owner (for experiment progress) by the session's learner key, so both
views make sure the session exists and holds a learner key before any WebSocket
opens. The lesson page is cached whole and may be read with no session at all:
its panel POSTs to `session` first (CSRF-protected, nothing to cache).
"""

from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_POST

from lessons.learners import learner_for
from playground import conf


def _ensure_session(request) -> None:
    learner_for(request, create=True)  # a logged-in user is named by the account instead
    if not request.session.session_key:
        # Saved now so the key exists; a changed session is saved again with the response.
        request.session.save()


def index(request):
    _ensure_session(request)
    return render(request, "playground/index.html", {"limits": conf.limits()})


@require_POST
def session(request):
    """A session with a learner key for this browser, before a lesson's panel connects."""
    _ensure_session(request)
    return HttpResponse(status=204)
