"""What the course pages share between readers, kept in Django's cache.

Rules: a lesson page and the course page are the same for every reader of one
audience (staff, who also see drafts, or everyone else) except the personal
parts: the read state, the lab state, the quiz scores, the user bar and the CSRF token. The
shared parts (a lesson's rendered header, table of contents and body with its
glossary links, its navigation and quiz link; the course's lessons and quizzes)
are built once per audience and kept under a key that names the current
*generation*. Saving or deleting a lesson, a glossary term or a quiz, and
loading the course, start a new generation (a fresh random token), so the next
request rebuilds from the database and staff edits show at once. The
generation is replaced, not counted up, so a generation key that the cache
evicted can never bring back entries of an older one. Saving an experiment or its
steps starts one too (the lesson pages list them; lessons.labs follows it).

For a reader who is not logged in and has no message waiting, the whole page
is kept (`whole_page`): the only personal parts left are the read state and the
lab state (the lesson's experiments the reader finished), variants of the key,
and the CSRF token, put in on the way out. Whole pages are kept in each
process's memory, as bytes ready to send, under the generation they were built
in (at most WHOLE_PAGES of them, the least recently used going first): such a
page costs one small round trip to the cache (the generation), and one more for
a visitor with progress of their own (lessons.labs.finished_in_lesson). A page
of an older generation is never served, since the generation is read each time.

A quiz's questions with their choices and lessons (`quiz_questions`) are kept in
each process's memory the same way, under the generation they were read in: every
view of a quiz (the page, its submission, a result) needs them, and they change
only when content is saved, which starts a new generation (questions and choices
included). They are shared by the threads of the process, so callers only read
them; each question's prompt is rendered from Markdown once per generation.

With several server processes the cache must be shared (REDIS_URL) for an edit
to reach every process; the local-memory cache is per process.
"""

import re
import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.middleware.csrf import get_token
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe

GENERATION_KEY = "lessons:pages:generation"
# Entries of a replaced generation are never read again; they expire after this.
TIMEOUT = 24 * 60 * 60


def _generation() -> str:
    generation = cache.get(GENERATION_KEY)
    if generation is None:
        cache.add(GENERATION_KEY, secrets.token_hex(8), None)
        generation = cache.get(GENERATION_KEY) or "none"
    return generation


def current_generation() -> str:
    return _generation()


def new_generation() -> None:
    """Forget every shared page part, now and again when the transaction commits.

    Now, so the editing request itself sees its change; on commit, so a reader
    that rebuilt from the database before the commit cannot keep the old version.
    """
    # Never skipped (sockets_site.cache): a lost new generation would keep stale pages.
    strict = getattr(cache, "strict", cache)
    strict.set(GENERATION_KEY, secrets.token_hex(8), None)
    transaction.on_commit(lambda: strict.set(GENERATION_KEY, secrets.token_hex(8), None))


CSRF_PLACEHOLDER = "csrf-token-of-this-request"
_CSRF_FIELD = re.compile(r'(name="csrfmiddlewaretoken" value=")[^"]*(")')
# Whole public pages kept by this process: (name -> (generation, page bytes)). A page
# is about 30 KB, its variants are few (read or not, experiments finished).
WHOLE_PAGES = 256
_whole_pages: OrderedDict[str, tuple[str, bytes]] = OrderedDict()
_whole_pages_lock = threading.Lock()  # views run in threads of their own under ASGI


def whole_page_allowed(request) -> bool:
    """Whether the page can be the public one: not logged in, no message waiting."""
    if request.user.is_authenticated or "messages" in request.COOKIES:
        return False
    has_session = settings.SESSION_COOKIE_NAME in request.COOKIES
    return not (has_session and request.session.get("_messages"))


def whole_page(request, name: str, render: Callable[[], str]) -> bytes:
    """The public page `name` (its variant, e.g. read or not, in the name), encoded, with
    this request's CSRF token; `render()` builds it when this process has none of the
    current generation."""
    generation = _generation()
    with _whole_pages_lock:
        kept = _whole_pages.get(name)
        page = kept[1] if kept is not None and kept[0] == generation else None
        if page is not None:
            _whole_pages.move_to_end(name)
    if page is None:
        page = _CSRF_FIELD.sub(rf"\g<1>{CSRF_PLACEHOLDER}\g<2>", render()).encode()
        with _whole_pages_lock:
            _whole_pages[name] = (generation, page)
            _whole_pages.move_to_end(name)
            while len(_whole_pages) > WHOLE_PAGES:
                _whole_pages.popitem(last=False)
    return page.replace(CSRF_PLACEHOLDER.encode(), get_token(request).encode())


# Quizzes' questions kept by this process: (quiz id -> (generation, questions)).
QUIZZES = 64
_quizzes: OrderedDict[int, tuple[str, list]] = OrderedDict()


def quiz_questions(quiz_id: int, read: Callable[[], list]) -> list:
    """The quiz's questions as `read()` returns them, read once per generation. Shared
    between requests: read them, never change them."""
    generation = _generation()
    with _whole_pages_lock:
        kept = _quizzes.get(quiz_id)
        if kept is not None and kept[0] == generation:
            _quizzes.move_to_end(quiz_id)
            return kept[1]
    questions = read()
    with _whole_pages_lock:
        _quizzes[quiz_id] = (generation, questions)
        _quizzes.move_to_end(quiz_id)
        while len(_quizzes) > QUIZZES:
            _quizzes.popitem(last=False)
    return questions


def _audience(user) -> str:
    return "staff" if user.is_staff else "public"


def _cached(name: str, user, build):
    key = f"lessons:pages:{_generation()}:{_audience(user)}:{name}"
    value = cache.get(key)
    if value is None:
        value = build()
        if value is not None:
            cache.set(key, value, TIMEOUT)
    return value


@dataclass(frozen=True)
class SharedLesson:
    """A lesson page's parts that are the same for everyone in one audience."""

    pk: int
    slug: str
    title: str
    summary: str
    published: bool
    intro: str  # table of contents and body, rendered
    pager: str  # previous / next navigation, rendered
    quiz_url: str | None
    next_url: str | None
    # The lesson's published experiments: (id, title, url), in their order.
    experiments: tuple[tuple[str, str, str], ...] = ()
    # Its title and summary, rendered apart from `intro` so the warm-up can stand between.
    header: str = ""

    @property
    def header_html(self):
        return mark_safe(self.header)  # noqa: S308 - rendered by our templates

    @property
    def intro_html(self):
        return mark_safe(self.intro)  # noqa: S308 - rendered by our templates, body sanitised

    @property
    def pager_html(self):
        return mark_safe(self.pager)  # noqa: S308 - rendered by our templates


def lesson_page(user, slug: str) -> SharedLesson | None:
    """The shared parts of a lesson page, or None if the user may not see the lesson."""

    def build():
        from lessons.models import Lesson, Quiz

        visible = Lesson.objects.visible_to(user)
        lesson = visible.filter(slug=slug).first()
        if lesson is None:
            return None  # not cached: unknown slugs must not fill the cache
        outline = list(visible.only("title", "slug", "order"))
        index = next(i for i, item in enumerate(outline) if item.pk == lesson.pk)
        previous = outline[index - 1] if index > 0 else None
        following = outline[index + 1] if index + 1 < len(outline) else None
        quiz = Quiz.objects.visible_to(user).filter(lesson=lesson).first()
        experiments = lesson.experiments.filter(published=True).only("slug", "title")
        context = {
            "lesson": lesson,
            "previous": previous,
            "next": following,
            "position": index + 1,
            "count": len(outline),
        }
        return SharedLesson(
            pk=lesson.pk,
            slug=lesson.slug,
            title=lesson.title,
            summary=lesson.summary,
            published=lesson.published,
            header=render_to_string("lessons/_lesson_header.html", context),
            intro=render_to_string("lessons/_lesson_intro.html", context),
            pager=render_to_string("lessons/_lesson_pager.html", context),
            quiz_url=quiz.get_absolute_url() if quiz else None,
            next_url=following.get_absolute_url() if following else None,
            experiments=tuple((e.slug, e.title, e.get_absolute_url()) for e in experiments),
        )

    return _cached(f"lesson:{slug}", user, build)


def course_outline(user) -> tuple[list, list, list]:
    """The lessons, quizzes and published experiments the course page lists, for this
    user's audience."""

    def build():
        from lessons.models import Experiment, Lesson, Quiz

        lessons = list(
            Lesson.objects.visible_to(user).only("title", "slug", "summary", "order", "published")
        )
        experiments = Experiment.objects.filter(published=True, lesson__in=lessons)
        experiments = list(experiments.only("slug", "title", "lesson_id", "order"))
        return lessons, list(Quiz.objects.visible_to(user)), experiments

    return _cached("course", user, build)


def _changed(sender, **kwargs):
    new_generation()


def connect() -> None:
    from lessons.models import (
        Choice,
        Experiment,
        ExperimentStep,
        GlossaryTerm,
        Lesson,
        Question,
        Quiz,
    )

    for model in (Lesson, GlossaryTerm, Quiz, Question, Choice, Experiment, ExperimentStep):
        for signal in (post_save, post_delete):
            signal.connect(_changed, sender=model, dispatch_uid=f"page_cache:{model.__name__}")
