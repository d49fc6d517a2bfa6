"""What pages share between readers, kept in Django's cache: the site-wide mechanism.

Rules: a page is the same for every reader of one audience (staff, who also see
drafts, or everyone else) except the personal parts: the read state, the lab state,
the quiz scores, the user bar and the CSRF token. The shared parts (`shared`, `part`;
the course's are built by lessons.page_parts) are built once per audience and kept
under a key that names the current *generation*, in the cache (for every process) and
in the memory of each process that read them. Saving or deleting a model an app named
in `invalidated_by` (from its AppConfig.ready(): lessons its lessons, glossary terms
and quizzes, labs its experiments and their steps), and loading the course, start a
new generation (a fresh random token), so the next request rebuilds from the database
and staff edits show at once. The generation is replaced, not counted up, so a
generation key that the cache evicted can never bring back entries of an older one.
This module names no app's model: it sits below every app that uses it.

For a reader who is not logged in and has no message waiting, every public page
(a lesson, the course, the quiz list, a quiz, the glossary, the playground) is kept
whole (`whole_page`), as bytes ready to send, in each process's memory under the
generation it was built in (at most WHOLE_PAGES of them, the least recently used going
first). What is personal in it is one of two things:
- a variant, in the page's name: what changes the page's shape or words (a lesson read
  or not and the lab state; a visitor's progress on the course page and the quiz list,
  named by `variant()` of it; a quiz's attempts left). A page of one visitor's variant
  is the page of anyone in the same state: it holds nothing else of theirs;
- a slot (`slot()`), filled on the way out (`fill`): what is this request's alone (a quiz
  page's signed token, its questions in this learner's order, their attempt history),
  and always the CSRF token. A slot's mark holds a secret of the process, so no
  authored text can be one.
The user bar of a kept page is the public one: a logged-in reader's page is rendered
(from the shared parts). Such a page costs one small round trip to the cache (the
generation), and the queries of the reader's own state (progress). A page of an older
generation is never served, since the generation is read each time: once a view, which
reads every shared part in that one generation (`one_generation`), so no page is kept
under a generation newer than a part it was built from.

A quiz's questions with their choices and lessons (`quiz_questions`) are kept in
each process's memory the same way, under the generation they were read in: every
view of a quiz (the page, its submission, a result) needs them, and they change
only when content is saved, which starts a new generation (questions and choices
included). They are shared by the threads of the process, so callers only read
them; each question's prompt is rendered from Markdown once per generation. So are
rendered parts of pages (`part`): a quiz question, in one order of its choices, as a
quiz page shows it, without its answer (lessons.views.quizzes).

With several server processes the cache must be shared (REDIS_URL) for an edit
to reach every process; the local-memory cache is per process.
"""

import hashlib
import re
import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable
from contextlib import contextmanager
from contextvars import ContextVar

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.middleware.csrf import get_token
from django.utils.safestring import mark_safe

GENERATION_KEY = "lessons:pages:generation"
# Entries of a replaced generation are never read again; they expire after this.
TIMEOUT = 24 * 60 * 60


# The generation a page view reads all its shared parts in (`one_generation`).
_pinned: ContextVar[str | None] = ContextVar("lessons_page_generation", default=None)


def _generation() -> str:
    pinned = _pinned.get()
    if pinned is not None:
        return pinned
    generation = cache.get(GENERATION_KEY)
    if generation is None:
        cache.add(GENERATION_KEY, secrets.token_hex(8), None)
        generation = cache.get(GENERATION_KEY) or "none"
    return generation


def current_generation() -> str:
    return _generation()


@contextmanager
def one_generation():
    """Inside (a view decorated with it, say), every shared part is read in the
    generation read first: one round trip to the cache for the page, and never a page
    kept under a generation newer than a part it was built from."""
    token = _pinned.set(_generation())  # inside another: the same one
    try:
        yield
    finally:
        _pinned.reset(token)


def new_generation() -> None:
    """Forget every shared page part, now and again when the transaction commits.

    Now, so the editing request itself sees its change; on commit, so a reader
    that rebuilt from the database before the commit cannot keep the old version.
    """
    # Never skipped (sockets_site.cache): a lost new generation would keep stale pages.
    strict = getattr(cache, "strict", cache)
    _pinned.set(None)  # the rest of a view that edits reads the new one
    strict.set(GENERATION_KEY, secrets.token_hex(8), None)
    transaction.on_commit(lambda: strict.set(GENERATION_KEY, secrets.token_hex(8), None))


CSRF_PLACEHOLDER = "csrf-token-of-this-request"
_CSRF_FIELD = re.compile(r'(name="csrfmiddlewaretoken" value=")[^"]*(")')
# A slot's mark in a kept page: a secret of this process in it, so authored content can
# never hold one (pages are kept in this process only).
_SLOT_MARK = f"slot-{secrets.token_hex(8)}-"


_lock = threading.Lock()  # views run in threads of their own under ASGI and gthread


def _kept(store: OrderedDict, size: int, key, build: Callable, generation: str | None = None):
    """`store[key]` if it was built in the current generation (or `generation`), else
    `build()` kept there; at most `size` values, the least recently used going first;
    None, never kept, when `build()` finds nothing (a crawler's unknown names must not
    fill the store). Shared by the threads of the process: read, never change."""
    generation = generation or _generation()
    with _lock:
        kept = store.get(key)
        if kept is not None and kept[0] == generation:
            store.move_to_end(key)
            return kept[1]
    value = build()
    if value is None:
        return None
    with _lock:
        store[key] = (generation, value)
        store.move_to_end(key)
        while len(store) > size:
            store.popitem(last=False)
    return value


# Whole public pages, as bytes ready to send, by name (the page and its variant). A page
# is about 30 KB, its variants are few (read or not, experiments finished, a visitor's
# progress on the course page).
WHOLE_PAGES = 256
_whole_pages: OrderedDict[str, tuple[str, bytes]] = OrderedDict()


def slot(name: str) -> str:
    """The mark a page kept whole holds where `whole_page`'s `fill[name]` goes: a part of
    the page that is this request's own (an attempt's token, its history)."""
    return mark_safe(f"<!--{_SLOT_MARK}{name}-->")  # noqa: S308 - our own mark


def whole_page_allowed(request) -> bool:
    """Whether the page can be the public one: not logged in, no message waiting."""
    if request.user.is_authenticated or "messages" in request.COOKIES:
        return False
    has_session = settings.SESSION_COOKIE_NAME in request.COOKIES
    return not (has_session and request.session.get("_messages"))


def whole_page(
    request,
    name: str,
    render: Callable[[], str],
    fill: dict[str, str] | None = None,
) -> bytes:
    """The public page `name` (its variant, e.g. read or not, in the name), encoded, with
    this request's CSRF token and its `fill` in the page's slots; `render()` builds it,
    with `slot(name)` for each part of `fill`, when this process has none of the current
    generation. Only for a request `whole_page_allowed`: the page has the public user bar.
    A view that reads shared parts before calling this reads them in `one_generation`,
    so a page built from them is never kept under a newer one."""

    def build() -> bytes:
        return _CSRF_FIELD.sub(rf"\g<1>{CSRF_PLACEHOLDER}\g<2>", render()).encode()

    page = _kept(_whole_pages, WHOLE_PAGES, name, build)
    if CSRF_PLACEHOLDER.encode() in page:  # a page with no form sets no CSRF cookie
        page = page.replace(CSRF_PLACEHOLDER.encode(), get_token(request).encode())
    for part, html in (fill or {}).items():
        page = page.replace(f"<!--{_SLOT_MARK}{part}-->".encode(), html.encode())
    return page


def variant(*state) -> str:
    """A short name for a page variant's personal state (a visitor's progress, say)."""
    return hashlib.blake2b(repr(state).encode(), digest_size=12).hexdigest()


# Quizzes' questions kept by this process, by quiz id.
QUIZZES = 64
_quizzes: OrderedDict[int, tuple[str, list]] = OrderedDict()


def quiz_questions(quiz_id: int, read: Callable[[], list]) -> list:
    """The quiz's questions as `read()` returns them, read once per generation. Shared
    between requests: read them, never change them."""
    return _kept(_quizzes, QUIZZES, quiz_id, read)


# Parts of pages built once per generation and kept by this process: a quiz, a quiz
# question rendered in one order of its choices (lessons.views.quizzes).
PARTS = 4096
_parts: OrderedDict = OrderedDict()


def part(key, build: Callable):
    """The part named `key` (hashable; its audience in it if it differs for staff), built
    once per generation by this process; None (never kept) when `build()` finds none.
    Shared between requests: read it, never change it."""
    return _kept(_parts, PARTS, key, build)


def _audience(user) -> str:
    return "staff" if user.is_staff else "public"


def shared(name: str, user, build):
    """Built once per generation and audience for all processes (in the cache), and kept
    by each process that read it (`part`): shared between requests, read, never changed."""
    generation = _generation()
    key = f"lessons:pages:{generation}:{_audience(user)}:{name}"

    def shared():
        value = cache.get(key)
        if value is None:
            value = build()
            if value is not None:
                cache.set(key, value, TIMEOUT)
        return value

    return _kept(_parts, PARTS, ("part", _audience(user), name), shared, generation)


def _changed(sender, **kwargs):
    new_generation()


def invalidated_by(*models) -> None:
    """Saving or deleting any of `models` starts a new generation: each app names, in its
    AppConfig.ready(), the models its shared page parts are built from."""
    for model in models:
        for signal in (post_save, post_delete):
            uid = f"page_cache:{model._meta.label}"
            signal.connect(_changed, sender=model, dispatch_uid=uid)
