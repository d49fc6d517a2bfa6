"""What other apps add to the course's pages, registered from their AppConfig.ready().

Rules:
- lessons sits below the apps that add to its pages (review: the course page's count of
  reviews due, a lesson page's warm-up), so they register a hook here rather than
  lessons importing them; with no hook registered a page shows nothing of theirs.
- A hook returns an Extra: the template context it adds (`context()`, called only when
  the page is rendered), the name of its variant of a visitor's page kept whole (the
  page's name holds it), and whether the page may be the kept public one at all
  (`shareable`).
- Hooks run once per page request, in the order they were registered (the apps' order).
"""

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Extra:
    context: Callable[[], dict]
    variant: str = ""
    shareable: bool = True


# hook(request, learner, now) -> Extra, for the course page.
_course: list[Callable] = []
# hook(request, learner, slug, now) -> Extra, for a lesson page.
_lesson: list[Callable] = []


def on_course_page(hook: Callable) -> None:
    if hook not in _course:
        _course.append(hook)


def on_lesson_page(hook: Callable) -> None:
    if hook not in _lesson:
        _lesson.append(hook)


def course_page(request, learner, now) -> list[Extra]:
    return [hook(request, learner, now) for hook in _course]


def lesson_page(request, learner, slug: str, now) -> list[Extra]:
    return [hook(request, learner, slug, now) for hook in _lesson]


def context(extras: list[Extra]) -> dict:
    merged: dict = {}
    for extra in extras:
        merged.update(extra.context())
    return merged
