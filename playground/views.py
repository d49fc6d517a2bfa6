"""The playground's pages: the playground itself, and the session its script asks for.

Rules: the WebSocket finds its sandbox by the session, and the engine names the
sandbox's owner (for experiment progress) by the session's learner key, so the
session must exist and hold a learner key before any WebSocket opens. No GET writes
a session (a crawler or a reader who only looks leaves no row): the playground page
and a lesson's panel (whose page is cached whole and may be read with no session at
all) both POST to `session` first, CSRF-protected, from their script.
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
    return render(request, "playground/index.html", {"limits": conf.limits()})


@require_POST
def session(request):
    """A session with a learner key for this browser, before a playground connects."""
    _ensure_session(request)
    return HttpResponse(status=204)
