"""The course's shared page parts: a lesson page's and the course page's, per audience.

Rules: built once per generation and audience and kept by sockets_site.page_cache
(`shared`), which holds the mechanism and its rules; this module knows the course's
models. Saving or deleting a lesson, a glossary term or a quiz (its questions and
choices) starts a new generation (`connect`, from LessonsConfig.ready()); the labs app
names its experiments the same way, since the lesson pages list them.
"""

from dataclasses import dataclass

from django.template.loader import render_to_string
from django.utils.safestring import mark_safe

from labs.models import Experiment
from lessons.models import Choice, GlossaryTerm, Lesson, Question, Quiz
from sockets_site import page_cache


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

    return page_cache.shared(f"lesson:{slug}", user, build)


def course_outline(user) -> tuple[list, list, list]:
    """The lessons, quizzes and published experiments the course page lists, for this
    user's audience."""

    def build():
        lessons = list(
            Lesson.objects.visible_to(user).only("title", "slug", "summary", "order", "published")
        )
        experiments = Experiment.objects.filter(published=True, lesson__in=lessons)
        experiments = list(experiments.only("slug", "title", "lesson_id", "order"))
        return lessons, list(Quiz.objects.visible_to(user)), experiments

    return page_cache.shared("course", user, build)


def connect() -> None:
    page_cache.invalidated_by(Lesson, GlossaryTerm, Quiz, Question, Choice)
